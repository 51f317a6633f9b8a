//! Dataset-level facts about the label column: missing labels, a single class, a
//! label that looks like an id, classes of one row, and class imbalance (the ratio of
//! the largest to the smallest class, `max_c n_c / min_c n_c`).

use crate::context::Labels;
use crate::issue::{DatasetFinding, Severity};

/// The largest/smallest class ratio from which imbalance is reported.
pub const IMBALANCE_RATIO: f64 = 10.0;

/// Findings about the label distribution, most serious first within each check:
/// `missing_labels`, `label_distribution` (one class, or one class per row),
/// `rare_classes` (classes of one row) and `class_imbalance` (largest/smallest
/// class ratio ≥ 10; low below 100, medium below 1000, high above).
pub fn label_findings(labels: &Labels) -> Vec<DatasetFinding> {
    let mut out = Vec::new();
    let n = labels.codes.len();
    let counts = labels.counts();
    let labelled: usize = counts.iter().sum();
    let missing = n - labelled;
    if n == 0 {
        return out;
    }
    if missing > 0 {
        let share = missing as f64 / n as f64;
        out.push(DatasetFinding {
            category: "missing_labels".into(),
            severity: if labelled == 0 || share >= 0.2 {
                Severity::Medium
            } else {
                Severity::Low
            },
            finding: format!(
                "{missing} of {n} rows ({:.1}%) have no label; label checks skip them",
                100.0 * share
            ),
            recommendation: "label those rows or drop them before training".into(),
        });
    }
    if labelled == 0 {
        return out;
    }
    let k = counts.len();
    if k == 1 {
        out.push(DatasetFinding {
            category: "label_distribution".into(),
            severity: Severity::Medium,
            finding: format!(
                "every labelled row has the class '{}', so label checks are meaningless",
                labels.classes[0]
            ),
            recommendation: "check that the right column was given as the label".into(),
        });
        return out;
    }
    if k == labelled {
        out.push(DatasetFinding {
            category: "label_distribution".into(),
            severity: Severity::Medium,
            finding: format!(
                "each of the {labelled} labelled rows has its own class, so the label looks \
                 like an id and label checks are meaningless"
            ),
            recommendation: "check that the right column was given as the label".into(),
        });
        return out;
    }
    let singletons: Vec<&str> = (0..k)
        .filter(|&c| counts[c] == 1)
        .map(|c| labels.classes[c].as_str())
        .collect();
    if !singletons.is_empty() {
        let shown: Vec<String> = singletons
            .iter()
            .take(5)
            .map(|c| format!("'{c}'"))
            .collect();
        let more = if singletons.len() > 5 { ", ..." } else { "" };
        out.push(DatasetFinding {
            category: "rare_classes".into(),
            severity: Severity::Low,
            finding: format!(
                "{} of {k} classes have a single row ({}{more})",
                singletons.len(),
                shown.join(", ")
            ),
            recommendation: "check these for typos in the label; a model cannot learn a \
                             class from one example"
                .into(),
        });
    }
    let (big, small) = extremes(&counts);
    let ratio = counts[big] as f64 / counts[small] as f64;
    if ratio >= IMBALANCE_RATIO {
        out.push(DatasetFinding {
            category: "class_imbalance".into(),
            severity: if ratio >= 1000.0 {
                Severity::High
            } else if ratio >= 100.0 {
                Severity::Medium
            } else {
                Severity::Low
            },
            finding: format!(
                "the largest class '{}' has {} rows and the smallest '{}' has {} \
                 (ratio {ratio:.0}:1)",
                labels.classes[big], counts[big], labels.classes[small], counts[small]
            ),
            recommendation: "use stratified splits and class weights or resampling, and \
                             judge models per class rather than by accuracy"
                .into(),
        });
    }
    out
}

/// Codes of the largest and smallest non-empty class (ties: lower code).
fn extremes(counts: &[usize]) -> (usize, usize) {
    let mut big = 0;
    let mut small = usize::MAX;
    for (c, &m) in counts.iter().enumerate() {
        if m > counts[big] {
            big = c;
        }
        if m > 0 && (small == usize::MAX || m < counts[small]) {
            small = c;
        }
    }
    (big, small)
}

/// Planted label-flip data shared by the label detectors' tests.
#[cfg(test)]
pub(crate) mod planted {
    use ndarray::Array2;

    use crate::context::{Context, Detector, FeatureMatrix, Labels, NoProgress};
    use crate::issue::DetectorReport;
    use crate::knn::KnnGraph;
    use crate::testdata::{Gen, blobs, matrix};

    /// A labelled table, its kNN graph and the rows whose label was flipped.
    pub struct Planted {
        pub features: FeatureMatrix,
        pub labels: Labels,
        pub flipped: Vec<usize>,
        pub graph: KnnGraph,
    }

    impl Planted {
        fn new(features: FeatureMatrix, labels: Labels, flipped: Vec<usize>, k: usize) -> Self {
            let graph = KnnGraph::brute_force(features.x.view(), k, &NoProgress);
            Planted {
                features,
                labels,
                flipped,
                graph,
            }
        }

        /// Run a detector on the planted data.
        pub fn run(&self, det: &dyn Detector) -> DetectorReport {
            let ctx = Context {
                features: &self.features,
                labels: Some(&self.labels),
                knn: &self.graph,
                seed: 7,
                progress: &NoProgress,
            };
            det.detect(&ctx).expect("detector runs")
        }
    }

    /// A small table: rows of `x`, labels from a space-separated list (`-` for a
    /// missing label), a graph of `k` neighbours.
    pub fn table(x: Array2<f64>, names: &str, k: usize) -> Planted {
        let names: Vec<Option<&str>> = names
            .split_whitespace()
            .map(|s| (s != "-").then_some(s))
            .collect();
        assert_eq!(names.len(), x.nrows());
        Planted::new(matrix(x), Labels::from_strings(&names), Vec::new(), k)
    }

    /// A one-column table.
    pub fn line(xs: &[f64], names: &str, k: usize) -> Planted {
        table(
            Array2::from_shape_vec((xs.len(), 1), xs.to_vec()).unwrap(),
            names,
            k,
        )
    }

    /// Blobs (8 dimensions) where `rate` of all rows get a uniformly random other
    /// label.
    pub fn random_flips(
        per_class: usize,
        classes: usize,
        sep: f64,
        rate: f64,
        seed: u64,
    ) -> Planted {
        let (features, mut labels) = blobs(per_class, classes, 8, sep, seed);
        let n = labels.codes.len();
        let mut g = Gen::new(seed ^ 0xf11b);
        let flipped = g.sample(n, (rate * n as f64).round() as usize);
        for &r in &flipped {
            let c = labels.codes[r].expect("blobs are labelled");
            let shift = 1 + g.below(classes - 1) as u32;
            labels.codes[r] = Some((c + shift) % classes as u32);
        }
        Planted::new(features, labels, flipped, 20)
    }

    /// Blobs (8 dimensions) where `frac` of the rows of class `from` are
    /// relabelled `to`.
    pub fn targeted_flips(
        per_class: usize,
        classes: usize,
        sep: f64,
        from: u32,
        to: u32,
        frac: f64,
        seed: u64,
    ) -> Planted {
        let (features, mut labels) = blobs(per_class, classes, 8, sep, seed);
        let rows: Vec<usize> = (0..labels.codes.len())
            .filter(|&r| labels.codes[r] == Some(from))
            .collect();
        let mut g = Gen::new(seed ^ 0x7a29);
        let pick = g.sample(rows.len(), (frac * rows.len() as f64).round() as usize);
        let flipped: Vec<usize> = pick.into_iter().map(|i| rows[i]).collect();
        for &r in &flipped {
            labels.codes[r] = Some(to);
        }
        Planted::new(features, labels, flipped, 20)
    }

    /// Rows a report flags.
    pub fn flagged(report: &DetectorReport) -> Vec<usize> {
        report.issues.iter().map(|i| i.row).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn labels(spec: &[(&str, usize)], missing: usize) -> Labels {
        let mut v: Vec<Option<String>> = Vec::new();
        for (name, m) in spec {
            v.extend(std::iter::repeat_n(Some(name.to_string()), *m));
        }
        v.extend(std::iter::repeat_n(None, missing));
        Labels::from_strings(&v)
    }

    fn categories(f: &[DatasetFinding]) -> Vec<&str> {
        f.iter().map(|f| f.category.as_str()).collect()
    }

    #[test]
    fn balanced_labels_give_nothing() {
        assert!(label_findings(&labels(&[("a", 50), ("b", 40), ("c", 6)], 0)).is_empty());
        assert!(label_findings(&labels(&[], 0)).is_empty());
    }

    #[test]
    fn imbalance_severity_follows_the_ratio() {
        let f = label_findings(&labels(&[("a", 500), ("b", 20)], 0));
        assert_eq!(categories(&f), vec!["class_imbalance"]);
        assert_eq!(f[0].severity, Severity::Low);
        assert_eq!(
            f[0].finding,
            "the largest class 'a' has 500 rows and the smallest 'b' has 20 (ratio 25:1)"
        );
        let f = label_findings(&labels(&[("a", 3000), ("b", 20), ("c", 400)], 0));
        assert_eq!(f[0].severity, Severity::Medium);
        let f = label_findings(&labels(&[("a", 3000), ("b", 2)], 0));
        assert_eq!(f[0].severity, Severity::High);
    }

    #[test]
    fn single_class_and_id_like_labels() {
        let f = label_findings(&labels(&[("a", 10)], 2));
        assert_eq!(categories(&f), vec!["missing_labels", "label_distribution"]);
        assert!(f[1].finding.contains("meaningless"));
        let ids: Vec<Option<String>> = (0..30).map(|i| Some(format!("id{i}"))).collect();
        let f = label_findings(&Labels::from_strings(&ids));
        assert_eq!(categories(&f), vec!["label_distribution"]);
        assert!(f[0].finding.contains("its own class"));
    }

    #[test]
    fn rare_classes_and_missing_labels() {
        let f = label_findings(&labels(&[("cat", 30), ("dog", 25), ("dgo", 1)], 20));
        assert_eq!(
            categories(&f),
            vec!["missing_labels", "rare_classes", "class_imbalance"]
        );
        assert_eq!(f[0].severity, Severity::Medium);
        assert!(f[1].finding.contains("'dgo'"), "{}", f[1].finding);
        let none: Vec<Option<&str>> = vec![None; 4];
        let f = label_findings(&Labels::from_strings(&none));
        assert_eq!(categories(&f), vec!["missing_labels"]);
    }
}
