//! Activation clustering: Chen, Carvalho, Baracaldo, Ludwig, Edwards, Lee, Molloy and
//! Srivastava (2018), "Detecting Backdoor Attacks on Deep Neural Networks by
//! Activation Clustering".
//!
//! Per class, the rows (the paper's last-hidden-layer activations; here the feature
//! matrix, which may hold embeddings) are reduced to `n_components` dimensions and
//! split in two by 2-means. Poisoned rows carry a trigger that sets them apart from
//! the clean rows of their target class, so one cluster is the poison: the paper's
//! small-cluster rule flags the smaller cluster when its relative size is below
//! `max_cluster_share` (0.35), and its silhouette rule requires the split to be real,
//! with mean silhouette
//!
//! ```text
//! s(i) = (b(i) − a(i)) / max(a(i), b(i)),   silhouette = mean_i s(i)
//! ```
//!
//! (`a` = mean distance to the own cluster, `b` = to the other) at least
//! `min_silhouette` (default 0.25: on planted 16-dimensional blobs a clean class
//! splits with silhouette about 0.075 and a class holding a triggered group with
//! 0.48 to 0.62). A clean class splits into two halves of similar size, so the size
//! rule alone already keeps it quiet; the silhouette rule stops a ragged split.
//!
//! Differences from the paper, for speed and determinism: the reduction is PCA on
//! the `d × d` class covariance (the paper uses ICA; we do not whiten, which keeps the
//! dominant poison direction dominant), 2-means is our seeded k-means fitted on at
//! most `sample_size` rows of the class and then applied to all, and the silhouette
//! is estimated on up to `silhouette_sample / 2` rows drawn from each cluster, the
//! two cluster means weighted by the true cluster sizes. A flagged cluster must also
//! have at least `min_cluster_rows` rows (a lone outlier is not a group).
//!
//! Per-row score: rows of the smaller cluster get `t² / (1 + t²)` with
//! `t = min(silhouette / min_silhouette, max_cluster_share / share)`, which is 0.5
//! exactly when both rules are met with no margin; other rows score 0.

use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::components::{class_components, column_variances};
use super::kmeans::{assign_nearest, fit_kmeans};
use super::spectral::{class_groups, class_mean, fmt_value};
use crate::context::{Context, Detector, FeatureMatrix, Labels};
use crate::error::{DetectError, Result};
use crate::issue::{DatasetFinding, DetectorReport, Evidence, IssueKind, RowIssue, Severity};
use crate::knn::sq_dist;

const NAME: &str = "activation_clustering";

/// Unchecked settings for the activation-clustering detector.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationClusteringParams {
    n_components: usize,
    max_cluster_share: f64,
    min_silhouette: f64,
    min_class_rows: usize,
    min_cluster_rows: usize,
    sample_size: usize,
    silhouette_sample: usize,
    n_runs: usize,
}

/// Validated settings; runs the detector.
#[derive(Debug, Clone, PartialEq)]
pub struct ActivationClusteringValidParams(ActivationClusteringParams);

impl Default for ActivationClusteringParams {
    fn default() -> Self {
        ActivationClusteringParams {
            n_components: 10,
            max_cluster_share: 0.35,
            min_silhouette: 0.25,
            min_class_rows: 10,
            min_cluster_rows: 5,
            sample_size: 20_000,
            silhouette_sample: 2_000,
            n_runs: 3,
        }
    }
}

impl ActivationClusteringParams {
    /// Defaults: 10 PCA components, share below 0.35, silhouette at least 0.25,
    /// classes of at least 10 rows, groups of at least 5, 2-means fitted on at most
    /// 20,000 rows with 3 restarts, silhouette on at most 2,000 rows.
    pub fn new() -> Self {
        Self::default()
    }

    /// PCA components to keep per class; 0 keeps every feature.
    pub fn n_components(mut self, n: usize) -> Self {
        self.n_components = n;
        self
    }

    /// The smaller cluster is flagged only below this share of its class, in (0, 0.5].
    pub fn max_cluster_share(mut self, share: f64) -> Self {
        self.max_cluster_share = share;
        self
    }

    /// The split must reach this mean silhouette, in (0, 1).
    pub fn min_silhouette(mut self, s: f64) -> Self {
        self.min_silhouette = s;
        self
    }

    /// Classes with fewer rows are skipped (at least 3).
    pub fn min_class_rows(mut self, n: usize) -> Self {
        self.min_class_rows = n;
        self
    }

    /// Smallest group that is flagged (at least 1).
    pub fn min_cluster_rows(mut self, n: usize) -> Self {
        self.min_cluster_rows = n;
        self
    }

    /// Rows per class the 2-means is fitted on (at least 100).
    pub fn sample_size(mut self, n: usize) -> Self {
        self.sample_size = n;
        self
    }

    /// Rows the silhouette is estimated on (at least 20).
    pub fn silhouette_sample(mut self, n: usize) -> Self {
        self.silhouette_sample = n;
        self
    }

    /// 2-means restarts (at least 1).
    pub fn n_runs(mut self, n: usize) -> Self {
        self.n_runs = n;
        self
    }

    /// Validate the settings.
    pub fn check(&self) -> Result<ActivationClusteringValidParams> {
        let bad = |name, value: String, expected| DetectError::InvalidParam {
            detector: NAME,
            name,
            value,
            expected,
        };
        let share = self.max_cluster_share;
        if !(share > 0.0 && share <= 0.5) {
            return Err(bad(
                "max_cluster_share",
                share.to_string(),
                "a share in (0, 0.5]",
            ));
        }
        let s = self.min_silhouette;
        if !(s > 0.0 && s < 1.0) {
            return Err(bad("min_silhouette", s.to_string(), "a value in (0, 1)"));
        }
        if self.min_class_rows < 3 {
            return Err(bad(
                "min_class_rows",
                self.min_class_rows.to_string(),
                "at least 3",
            ));
        }
        if self.min_cluster_rows == 0 {
            return Err(bad("min_cluster_rows", "0".into(), "at least 1"));
        }
        if self.sample_size < 100 {
            return Err(bad(
                "sample_size",
                self.sample_size.to_string(),
                "at least 100",
            ));
        }
        if self.silhouette_sample < 20 {
            return Err(bad(
                "silhouette_sample",
                self.silhouette_sample.to_string(),
                "at least 20",
            ));
        }
        if self.n_runs == 0 {
            return Err(bad("n_runs", "0".into(), "at least 1"));
        }
        Ok(ActivationClusteringValidParams(self.clone()))
    }
}

/// The outcome of splitting one class.
struct Split {
    /// Rows (global indices) of the smaller cluster.
    small: Vec<usize>,
    /// Rows of the larger cluster.
    large: Vec<usize>,
    /// Estimated mean silhouette of the split.
    silhouette: f64,
}

impl Detector for ActivationClusteringValidParams {
    fn name(&self) -> &'static str {
        NAME
    }

    fn detect(&self, ctx: &Context<'_>) -> Result<DetectorReport> {
        let p = &self.0;
        let labels = ctx
            .labels
            .ok_or(DetectError::NeedsLabels { detector: NAME })?;
        let fm = ctx.features;
        let mut report = DetectorReport {
            scores: vec![0.0; fm.n_rows()],
            ..Default::default()
        };
        let groups = class_groups(labels, p.min_class_rows);
        ctx.progress
            .start("activation clustering", groups.len() as u64);
        // Classes are split in parallel (each from its own seed), then reported in
        // class order.
        let splits: Vec<Result<Option<Split>>> = groups
            .par_iter()
            .map(|(class, rows)| {
                let seed = ctx.seed ^ (u64::from(*class) + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15);
                let split = self.split(fm.x.view(), rows, seed);
                ctx.progress.advance(1);
                split
            })
            .collect();
        let mut next_id = 0;
        for ((class, rows), split) in groups.iter().zip(splits) {
            if let Some(split) = split?
                && self.report_split(fm, labels, *class, rows.len(), &split, next_id, &mut report)
            {
                next_id += 1;
            }
        }
        ctx.progress.finish();
        report.issues.sort_by_key(|i| i.row);
        Ok(report)
    }
}

impl ActivationClusteringValidParams {
    /// Reduce one class, 2-means it, and estimate the silhouette. `None` when the
    /// class does not split (constant rows).
    fn split(&self, x: ArrayView2<'_, f64>, rows: &[usize], seed: u64) -> Result<Option<Split>> {
        let p = &self.0;
        let mean = class_mean(x, rows);
        let z = if p.n_components == 0 || p.n_components >= x.ncols() {
            let mut z = x.select(Axis(0), rows);
            z -= &mean;
            z
        } else {
            let (_, vecs) = class_components(x, rows, &mean, p.n_components, seed)?;
            project(x, rows, &mean, &vecs)
        };
        let cents = fit_kmeans(z.view(), 2, p.sample_size, p.n_runs, 50, seed);
        if cents.nrows() < 2 {
            return Ok(None);
        }
        let (assign, _) = assign_nearest(z.view(), cents.view(), None);
        let (mut a, mut b) = (Vec::new(), Vec::new());
        for (k, &c) in assign.iter().enumerate() {
            if c == 0 { a.push(k) } else { b.push(k) }
        }
        if a.is_empty() || b.is_empty() {
            return Ok(None);
        }
        // Smaller cluster first; on equal sizes the one holding the lower row.
        if b.len() < a.len() || (b.len() == a.len() && b[0] < a[0]) {
            std::mem::swap(&mut a, &mut b);
        }
        let silhouette = self.silhouette(z.view(), &a, &b, seed);
        Ok(Some(Split {
            small: a.into_iter().map(|k| rows[k]).collect(),
            large: b.into_iter().map(|k| rows[k]).collect(),
            silhouette,
        }))
    }

    /// Mean silhouette of a 2-cluster split (positions into `z`), estimated on up to
    /// `silhouette_sample / 2` rows of each cluster, weighted by the cluster sizes.
    fn silhouette(&self, z: ArrayView2<'_, f64>, a: &[usize], b: &[usize], seed: u64) -> f64 {
        let half = self.0.silhouette_sample / 2;
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x5117);
        let mut pick = |v: &[usize]| -> Array2<f64> {
            if v.len() <= half {
                z.select(Axis(0), v)
            } else {
                let mut idx = rand::seq::index::sample(&mut rng, v.len(), half).into_vec();
                idx.sort_unstable();
                let chosen: Vec<usize> = idx.into_iter().map(|k| v[k]).collect();
                z.select(Axis(0), &chosen)
            }
        };
        let (sa, sb) = (pick(a), pick(b));
        let mean_dist = |row: ndarray::ArrayView1<'_, f64>, set: &Array2<f64>| -> f64 {
            set.rows()
                .into_iter()
                .map(|r| match (r.as_slice(), row.as_slice()) {
                    (Some(u), Some(v)) => sq_dist(u, v).sqrt(),
                    _ => r
                        .iter()
                        .zip(row.iter())
                        .map(|(u, v)| (u - v) * (u - v))
                        .sum::<f64>()
                        .sqrt(),
                })
                .sum::<f64>()
        };
        let cluster_mean = |own: &Array2<f64>, other: &Array2<f64>| -> f64 {
            let m = own.nrows();
            if m < 2 {
                return 0.0; // silhouette of a singleton is 0 by convention
            }
            let s: Vec<f64> = (0..m)
                .into_par_iter()
                .map(|i| {
                    let ai = mean_dist(own.row(i), own) / (m - 1) as f64;
                    let bi = mean_dist(own.row(i), other) / other.nrows() as f64;
                    let den = ai.max(bi);
                    if den > 0.0 { (bi - ai) / den } else { 0.0 }
                })
                .collect();
            s.iter().sum::<f64>() / m as f64
        };
        let (ma, mb) = (cluster_mean(&sa, &sb), cluster_mean(&sb, &sa));
        (ma * a.len() as f64 + mb * b.len() as f64) / (a.len() + b.len()) as f64
    }

    /// Score the rows of a split and flag the small cluster when the rules hold.
    /// Returns whether it was flagged.
    #[allow(clippy::too_many_arguments)]
    fn report_split(
        &self,
        fm: &FeatureMatrix,
        labels: &Labels,
        class: u32,
        n_class: usize,
        split: &Split,
        id: usize,
        report: &mut DetectorReport,
    ) -> bool {
        let p = &self.0;
        let share = split.small.len() as f64 / n_class as f64;
        let t = (split.silhouette / p.min_silhouette).min(p.max_cluster_share / share);
        let mut score = if t > 0.0 { t * t / (1.0 + t * t) } else { 0.0 };
        let flagged = share < p.max_cluster_share
            && split.silhouette >= p.min_silhouette
            && split.small.len() >= p.min_cluster_rows;
        if !flagged {
            score = score.min(0.49);
        }
        for &i in &split.small {
            report.scores[i] = score;
        }
        if !flagged {
            return false;
        }
        let class_name = &labels.classes[class as usize];
        let drivers = differing_features(fm, &split.small, &split.large);
        let reason = format!(
            "in a tight group of {} rows ({}% of class '{class_name}') well separated from the \
             rest of the class (silhouette {:.2}); the group differs most in {drivers}",
            split.small.len(),
            fmt_value(100.0 * share),
            split.silhouette
        );
        for &i in &split.small {
            report.issues.push(RowIssue {
                row: i,
                kind: IssueKind::ActivationCluster,
                score,
                reason: reason.clone(),
                evidence: Evidence::Cluster {
                    cluster: id,
                    size: split.small.len(),
                    label: Some(class_name.clone()),
                },
            });
        }
        report.findings.push(DatasetFinding {
            category: NAME.to_string(),
            severity: if split.silhouette >= 0.5 {
                Severity::High
            } else {
                Severity::Medium
            },
            finding: format!(
                "class '{class_name}' holds a separate group of {} rows ({}%) with silhouette \
                 {:.2}, the pattern a backdoor trigger leaves",
                split.small.len(),
                fmt_value(100.0 * share),
                split.silhouette
            ),
            recommendation: format!(
                "inspect the activation_cluster rows of class '{class_name}': remove them if they \
                 share a trigger, relabel them if they belong to another class"
            ),
        });
        true
    }
}

/// Project the centred rows onto the columns of `vecs` (`d × r`), in parallel.
fn project(
    x: ArrayView2<'_, f64>,
    rows: &[usize],
    mean: &Array1<f64>,
    vecs: &Array2<f64>,
) -> Array2<f64> {
    let r = vecs.ncols();
    let flat: Vec<f64> = rows
        .par_iter()
        .flat_map_iter(|&i| {
            let c = &x.row(i) - mean;
            (0..r)
                .map(move |j| c.dot(&vecs.column(j)))
                .collect::<Vec<_>>()
        })
        .collect();
    Array2::from_shape_vec((rows.len(), r), flat).expect("rows × r")
}

/// The three features whose means differ most between the two groups, in units of
/// the larger group's spread, e.g. "f0 (4 vs 0.12), f1 (4 vs -0.3)".
fn differing_features(fm: &FeatureMatrix, small: &[usize], large: &[usize]) -> String {
    let x = fm.x.view();
    let ms = class_mean(x, small);
    let ml = class_mean(x, large);
    let var = column_variances(x, large, &ml);
    let mut order: Vec<(f64, usize)> = (0..fm.n_features())
        .map(|j| ((ms[j] - ml[j]).abs() / var[j].sqrt().max(1e-9), j))
        .collect();
    order.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(&b.1)));
    order
        .iter()
        .take(3)
        .map(|&(_, j)| {
            let f = &fm.features[j];
            match (f.raw_value(ms[j]), f.raw_value(ml[j])) {
                (Some(a), Some(b)) => format!("{} ({} vs {})", f.name, fmt_value(a), fmt_value(b)),
                _ => f.name.clone(),
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::NoProgress;
    use crate::detectors::spectral::planted::{backdoor, no_knn};
    use crate::testdata::{Gen, blobs, matrix, precision_recall};

    fn run(
        params: &ActivationClusteringParams,
        fm: &FeatureMatrix,
        labels: &Labels,
    ) -> DetectorReport {
        crate::testdata::detect(&params.check().unwrap(), fm, Some(labels), 0, 7).unwrap()
    }

    fn flagged(r: &DetectorReport) -> Vec<usize> {
        r.issues.iter().map(|i| i.row).collect()
    }

    #[test]
    fn planted_backdoor_is_found() {
        for (poison, seed) in [(30, 0), (30, 1), (15, 2), (45, 3)] {
            let (fm, labels, truth) = backdoor(500, poison, 4.0, 1.0, seed);
            let r = run(&ActivationClusteringParams::new(), &fm, &labels);
            let (p, rec) = precision_recall(&flagged(&r), &truth);
            assert!(
                p >= 0.95 && rec >= 0.95,
                "poison {poison}: precision {p}, recall {rec}"
            );
            assert_eq!(r.findings.len(), 1);
            assert!(r.issues.iter().all(|i| i.score >= 0.5 && i.score <= 1.0));
        }
    }

    #[test]
    fn reason_and_evidence_describe_the_group() {
        let (fm, labels, _) = backdoor(500, 30, 4.0, 1.0, 1);
        let r = run(&ActivationClusteringParams::new(), &fm, &labels);
        let issue = &r.issues[0];
        assert!(
            issue
                .reason
                .starts_with("in a tight group of 30 rows (5.66% of class 'c0')"),
            "{}",
            issue.reason
        );
        assert!(issue.reason.contains("silhouette 0."), "{}", issue.reason);
        // The trigger features f0..f2 (set to 4) separate the group most.
        assert!(issue.reason.contains("f0 (4 vs") || issue.reason.contains("f1 (4 vs"));
        assert_eq!(
            issue.evidence,
            Evidence::Cluster {
                cluster: 0,
                size: 30,
                label: Some("c0".into())
            }
        );
    }

    #[test]
    fn clean_classes_are_not_flagged() {
        for seed in 0..3 {
            let (fm, labels) = blobs(500, 3, 16, 1.0, 100 + seed);
            let r = run(&ActivationClusteringParams::new(), &fm, &labels);
            assert!(r.issues.is_empty() && r.findings.is_empty(), "seed {seed}");
            assert!(r.scores.iter().all(|&s| s < 0.5));
        }
    }

    #[test]
    fn both_rules_are_needed() {
        let (fm, labels, _) = backdoor(500, 30, 4.0, 1.0, 0);
        let strict_size = ActivationClusteringParams::new().max_cluster_share(0.05);
        assert!(run(&strict_size, &fm, &labels).issues.is_empty());
        let strict_sil = ActivationClusteringParams::new().min_silhouette(0.9);
        let r = run(&strict_sil, &fm, &labels);
        assert!(r.issues.is_empty());
        assert!(r.scores.iter().all(|&s| s < 0.5));
    }

    #[test]
    fn one_class_without_reduction() {
        let mut g = Gen::new(4);
        let mut x = Array2::zeros((300, 8));
        for v in x.iter_mut() {
            *v = g.normal();
        }
        let truth: Vec<usize> = (0..300).step_by(25).collect();
        for &i in &truth {
            x[[i, 3]] = 9.0;
        }
        let labels = Labels::from_strings(&vec![Some("only"); 300]);
        for params in [
            ActivationClusteringParams::new(),
            ActivationClusteringParams::new().n_components(0),
            ActivationClusteringParams::new().n_components(2),
        ] {
            let r = run(&params, &matrix(x.clone()), &labels);
            let (p, rec) = precision_recall(&flagged(&r), &truth);
            assert!(
                p >= 0.95 && rec >= 0.95,
                "{params:?}: precision {p}, recall {rec}"
            );
        }
    }

    #[test]
    fn lone_outliers_and_tiny_classes_are_not_groups() {
        let (mut fm, labels) = blobs(200, 2, 6, 1.0, 8);
        // Two far rows in class c0: a group smaller than min_cluster_rows.
        for i in [0, 2] {
            fm.x.row_mut(i).fill(40.0);
        }
        let mut codes = labels.codes.clone();
        codes[1] = Some(2); // class c2 has a single row: skipped
        let labels = Labels {
            codes,
            classes: vec!["c0".into(), "c1".into(), "c2".into()],
        };
        let r = run(&ActivationClusteringParams::new(), &fm, &labels);
        assert!(r.issues.is_empty());
        assert_eq!(r.scores[1], 0.0);
        assert!(r.scores[0] > 0.0 && r.scores[0] < 0.5);
        let r = run(
            &ActivationClusteringParams::new().min_cluster_rows(2),
            &fm,
            &labels,
        );
        assert_eq!(flagged(&r), vec![0, 2]);
    }

    #[test]
    fn constant_class_and_missing_labels() {
        let mut x = Array2::from_elem((40, 3), 1.0);
        for i in 20..40 {
            x[[i, 0]] = (i % 7) as f64;
        }
        let mut names: Vec<Option<&str>> = vec![Some("A"); 20];
        names.extend(vec![Some("B"); 19]);
        names.push(None);
        let r = run(
            &ActivationClusteringParams::new(),
            &matrix(x),
            &Labels::from_strings(&names),
        );
        assert!(r.scores[..20].iter().all(|&s| s == 0.0));
        assert_eq!(r.scores[39], 0.0);
    }

    #[test]
    fn deterministic_across_thread_counts() {
        let (fm, labels, _) = backdoor(500, 30, 4.0, 1.0, 5);
        let params = ActivationClusteringParams::new()
            .silhouette_sample(200)
            .sample_size(300);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let a = one.install(|| run(&params, &fm, &labels));
        let b = three.install(|| run(&params, &fm, &labels));
        assert_eq!(a.scores, b.scores);
        assert_eq!(a.issues, b.issues);
        assert!(!a.issues.is_empty());
    }

    #[test]
    fn needs_labels_and_checks_params() {
        let (fm, _) = blobs(10, 2, 3, 1.0, 0);
        let knn = no_knn();
        let ctx = Context {
            features: &fm,
            labels: None,
            knn: &knn,
            seed: 0,
            progress: &NoProgress,
        };
        let det = ActivationClusteringParams::new().check().unwrap();
        assert!(matches!(
            det.detect(&ctx),
            Err(DetectError::NeedsLabels { .. })
        ));
        let p = ActivationClusteringParams::new;
        assert!(p().max_cluster_share(0.0).check().is_err());
        assert!(p().max_cluster_share(0.6).check().is_err());
        assert!(p().min_silhouette(0.0).check().is_err());
        assert!(p().min_silhouette(1.0).check().is_err());
        assert!(p().min_class_rows(2).check().is_err());
        assert!(p().min_cluster_rows(0).check().is_err());
        assert!(p().sample_size(50).check().is_err());
        assert!(p().silhouette_sample(10).check().is_err());
        assert!(p().n_runs(0).check().is_err());
    }
}
