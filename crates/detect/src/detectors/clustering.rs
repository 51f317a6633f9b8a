//! Global k-means: rows far from their cluster centre, and rows whose label differs
//! from a clear majority of their cluster.
//!
//! k-means (Lloyd 1982, "Least squares quantization in PCM"; seeded with k-means++,
//! Arthur and Vassilvitskii 2007, "k-means++: The Advantages of Careful Seeding")
//! minimises `Σ_i ‖x_i − μ_{c(i)}‖²`. We fit it (our own seeded implementation) on a
//! subsample of at most `sample_size` rows and then assign every row to its nearest
//! centre in parallel, so the cost on large tables is one `n × k × d` pass.
//!
//! 1. **Cluster outliers.** Clusters with fewer than `min_cluster_rows` members are
//!    not trusted as centres (k-means++ likes to seed on outliers, which then hide in
//!    a cluster of their own): their rows are moved to the nearest well-supported
//!    centre. With `d_i = ‖x_i − μ_{c(i)}‖`, the robust z of `d_i` within its cluster,
//!    `(d_i − median_c) / (1.4826 · MAD_c)`, above `z_threshold` flags
//!    [`IssueKind::ClusterOutlier`].
//! 2. **Label mismatch** (cluster-then-vote, as in cluster-based label-noise
//!    filtering). A second, coarse clustering with `label_clusters` centres (default:
//!    the number of classes) is fitted; when a cluster's majority label holds at
//!    least `majority_share` of its labelled members, each member with another label
//!    `L` is flagged [`IssueKind::ClusterLabelMismatch`] — provided at most
//!    `max_stranded_share` of all `L` rows sit in that cluster (otherwise `L` lives
//!    there too: heavy overlap or class imbalance, not stranded rows). Class resolution matters: a
//!    backdoor group (rows of class A with a trigger, relabelled B) gets a cluster of
//!    its own at fine `k` (and all its members agree), but at class resolution it
//!    sits inside A's cluster and every member disagrees with it — the case kNN label
//!    checks miss, because the poisoned rows are each other's neighbours. Clusters
//!    where no label reaches half are counted for a dataset finding on class overlap.
//!
//! The outlier `k` defaults to `round(sqrt(n / 2))` clamped to `[2, max_clusters]`.

use ndarray::Axis;
use rayon::prelude::*;

use crate::context::{Context, Detector, Labels};
use crate::error::{DetectError, Result};
use crate::issue::{DatasetFinding, DetectorReport, Evidence, IssueKind, RowIssue, Severity};
use crate::score::{DEFAULT_Z_FLAG, median, robust_z, unit_from_z};

use super::kmeans::{assign_nearest, fit_kmeans};
use super::spectral::fmt_value;

const NAME: &str = "clustering";

/// Unchecked settings for the k-means detector.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusteringParams {
    n_clusters: Option<usize>,
    label_clusters: Option<usize>,
    max_clusters: usize,
    sample_size: usize,
    n_runs: usize,
    max_iterations: u64,
    z_threshold: f64,
    majority_share: f64,
    max_stranded_share: f64,
    min_cluster_rows: usize,
}

/// Validated settings; runs the detector.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusteringValidParams(ClusteringParams);

impl Default for ClusteringParams {
    fn default() -> Self {
        ClusteringParams {
            n_clusters: None,
            label_clusters: None,
            max_clusters: 50,
            sample_size: 20_000,
            n_runs: 3,
            max_iterations: 50,
            z_threshold: DEFAULT_Z_FLAG,
            majority_share: 0.8,
            max_stranded_share: 0.25,
            min_cluster_rows: 10,
        }
    }
}

impl ClusteringParams {
    /// Defaults: `k = round(sqrt(n/2))` capped at 50, fit on at most 20,000 rows,
    /// 3 restarts of at most 50 iterations, z threshold 3.5, majority share 0.8,
    /// stranded share 0.25, clusters of at least 10 rows.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fixed number of clusters (at least 2), or `None` for the default rule.
    pub fn n_clusters(mut self, k: Option<usize>) -> Self {
        self.n_clusters = k;
        self
    }

    /// Clusters of the class-level clustering used for the label vote (at least 2),
    /// or `None` for the number of classes present.
    pub fn label_clusters(mut self, k: Option<usize>) -> Self {
        self.label_clusters = k;
        self
    }

    /// Cap on the rule-chosen `k` (at least 2).
    pub fn max_clusters(mut self, k: usize) -> Self {
        self.max_clusters = k;
        self
    }

    /// Rows (seeded subsample) the centres are fitted on (at least 100).
    pub fn sample_size(mut self, n: usize) -> Self {
        self.sample_size = n;
        self
    }

    /// k-means restarts; the lowest-inertia fit is kept (at least 1).
    pub fn n_runs(mut self, n: usize) -> Self {
        self.n_runs = n;
        self
    }

    /// Iteration cap per restart (at least 1).
    pub fn max_iterations(mut self, n: u64) -> Self {
        self.max_iterations = n;
        self
    }

    /// Robust z of the distance to the centre above which a row is flagged (> 0).
    pub fn z_threshold(mut self, z: f64) -> Self {
        self.z_threshold = z;
        self
    }

    /// Share of a cluster its majority label must hold before other labels in it are
    /// flagged, in (0.5, 1].
    pub fn majority_share(mut self, share: f64) -> Self {
        self.majority_share = share;
        self
    }

    /// A row is flagged only when at most this share of its label's rows sits in
    /// the cluster, in (0, 1]: otherwise the label is at home there too (class
    /// overlap or imbalance) rather than stranded.
    pub fn max_stranded_share(mut self, share: f64) -> Self {
        self.max_stranded_share = share;
        self
    }

    /// Smallest cluster trusted as a centre and for a label vote (at least 3).
    pub fn min_cluster_rows(mut self, n: usize) -> Self {
        self.min_cluster_rows = n;
        self
    }

    /// Validate the settings.
    pub fn check(&self) -> Result<ClusteringValidParams> {
        let bad = |name, value: String, expected| DetectError::InvalidParam {
            detector: NAME,
            name,
            value,
            expected,
        };
        if let Some(k) = self.n_clusters
            && k < 2
        {
            return Err(bad("n_clusters", k.to_string(), "at least 2"));
        }
        if let Some(k) = self.label_clusters
            && k < 2
        {
            return Err(bad("label_clusters", k.to_string(), "at least 2"));
        }
        if self.max_clusters < 2 {
            return Err(bad(
                "max_clusters",
                self.max_clusters.to_string(),
                "at least 2",
            ));
        }
        if self.sample_size < 100 {
            return Err(bad(
                "sample_size",
                self.sample_size.to_string(),
                "at least 100",
            ));
        }
        if self.n_runs == 0 {
            return Err(bad("n_runs", "0".into(), "at least 1"));
        }
        if self.max_iterations == 0 {
            return Err(bad("max_iterations", "0".into(), "at least 1"));
        }
        if !(self.z_threshold > 0.0 && self.z_threshold.is_finite()) {
            return Err(bad(
                "z_threshold",
                self.z_threshold.to_string(),
                "a finite number > 0",
            ));
        }
        if !(self.majority_share > 0.5 && self.majority_share <= 1.0) {
            return Err(bad(
                "majority_share",
                self.majority_share.to_string(),
                "a share in (0.5, 1]",
            ));
        }
        if !(self.max_stranded_share > 0.0 && self.max_stranded_share <= 1.0) {
            return Err(bad(
                "max_stranded_share",
                self.max_stranded_share.to_string(),
                "a share in (0, 1]",
            ));
        }
        if self.min_cluster_rows < 3 {
            return Err(bad(
                "min_cluster_rows",
                self.min_cluster_rows.to_string(),
                "at least 3",
            ));
        }
        Ok(ClusteringValidParams(self.clone()))
    }
}

impl ClusteringValidParams {
    /// The number of clusters used for `n` rows.
    pub fn k_for(&self, n: usize) -> usize {
        let p = &self.0;
        let k = p
            .n_clusters
            .unwrap_or_else(|| ((n as f64 / 2.0).sqrt().round() as usize).clamp(2, p.max_clusters));
        k.min(n)
    }
}

impl Detector for ClusteringValidParams {
    fn name(&self) -> &'static str {
        NAME
    }

    fn detect(&self, ctx: &Context<'_>) -> Result<DetectorReport> {
        let p = &self.0;
        let x = ctx.features.x.view();
        let n = x.nrows();
        if n < 2 * p.min_cluster_rows {
            return Err(DetectError::TooFewRows {
                detector: NAME,
                needed: 2 * p.min_cluster_rows,
                got: n,
            });
        }
        let k = self.k_for(n);
        ctx.progress.start("k-means clustering", 3);
        let centroids = fit_kmeans(x, k, p.sample_size, p.n_runs, p.max_iterations, ctx.seed);
        ctx.progress.advance(1);
        let (mut assign, mut dist) = assign_nearest(x, centroids.view(), None);
        let mut sizes = vec![0usize; k];
        for &c in &assign {
            sizes[c] += 1;
        }
        // Move rows of tiny clusters to the nearest well-supported centre.
        let trusted: Vec<usize> = (0..k).filter(|&c| sizes[c] >= p.min_cluster_rows).collect();
        if !trusted.is_empty() && trusted.len() < k {
            let moved: Vec<usize> = (0..n)
                .filter(|&i| sizes[assign[i]] < p.min_cluster_rows)
                .collect();
            let sub = x.select(Axis(0), &moved);
            let (a2, d2) = assign_nearest(sub.view(), centroids.view(), Some(&trusted));
            for (m, &i) in moved.iter().enumerate() {
                assign[i] = a2[m];
                dist[i] = d2[m];
            }
            sizes = vec![0usize; k];
            for &c in &assign {
                sizes[c] += 1;
            }
        }
        ctx.progress.advance(1);
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); k];
        for (i, &c) in assign.iter().enumerate() {
            members[c].push(i);
        }
        let mut report = DetectorReport {
            scores: vec![0.0; n],
            ..Default::default()
        };
        let majority = ctx.labels.map(|l| cluster_majorities(l, &members));
        // (a) distance to own centre, robust z within the cluster.
        let per_cluster: Vec<(Vec<f64>, f64)> = members
            .par_iter()
            .map(|rows| {
                let d: Vec<f64> = rows.iter().map(|&i| dist[i]).collect();
                let med = median(&d);
                (robust_z(&d), med)
            })
            .collect();
        for (c, rows) in members.iter().enumerate() {
            let (z, med) = &per_cluster[c];
            let label = majority
                .as_ref()
                .and_then(|m| m[c].map(|(code, _, _)| code));
            let label_name =
                label.and_then(|code| ctx.labels.map(|l| l.classes[code as usize].clone()));
            for (m, &i) in rows.iter().enumerate() {
                let s = unit_from_z(z[m], p.z_threshold);
                report.scores[i] = s;
                if z[m] > p.z_threshold {
                    report.issues.push(RowIssue {
                        row: i,
                        kind: IssueKind::ClusterOutlier,
                        score: s,
                        reason: format!(
                            "distance {} to the centre of its cluster of {} rows is {:.1} robust \
                             SDs above the cluster's median distance {}",
                            fmt_value(dist[i]),
                            rows.len(),
                            z[m],
                            fmt_value(*med)
                        ),
                        evidence: Evidence::Cluster {
                            cluster: c,
                            size: rows.len(),
                            label: label_name.clone(),
                        },
                    });
                }
            }
        }
        // (b) label against the majority of a coarse, class-level clustering.
        if let Some(labels) = ctx.labels {
            self.label_mismatch(ctx, labels, &mut report);
        }
        ctx.progress.advance(1);
        ctx.progress.finish();
        report.issues.sort_by_key(|i| (i.row, i.kind));
        Ok(report)
    }
}

impl ClusteringValidParams {
    /// Part (b): cluster at class resolution (`label_clusters`, default the number
    /// of classes) and flag rows whose label is not a clear majority's.
    fn label_mismatch(&self, ctx: &Context<'_>, labels: &Labels, report: &mut DetectorReport) {
        let p = &self.0;
        let x = ctx.features.x.view();
        let n = x.nrows();
        let present = labels.counts().iter().filter(|&&c| c > 0).count();
        let k = p.label_clusters.unwrap_or(present).clamp(2, n);
        let seed = ctx.seed ^ 0x6c61_6265_6c73; // "labels"
        let centroids = fit_kmeans(x, k, p.sample_size, p.n_runs, p.max_iterations, seed);
        let (assign, _) = assign_nearest(x, centroids.view(), None);
        let mut members: Vec<Vec<usize>> = vec![Vec::new(); centroids.nrows()];
        for (i, &c) in assign.iter().enumerate() {
            members[c].push(i);
        }
        let majority = cluster_majorities(labels, &members);
        let totals = labels.counts();
        let mut n_mismatch = 0usize;
        let mut mixed = 0usize;
        let mut voting = 0usize;
        for (c, rows) in members.iter().enumerate() {
            let Some((maj, share, labelled)) = majority[c] else {
                continue;
            };
            if labelled < p.min_cluster_rows {
                continue;
            }
            voting += 1;
            if share < 0.5 {
                mixed += 1;
            }
            let mut here = vec![0usize; labels.n_classes()];
            for &i in rows {
                if let Some(code) = labels.codes[i] {
                    here[code as usize] += 1;
                }
            }
            let s = mismatch_score(share, p.majority_share);
            for &i in rows {
                let Some(code) = labels.codes[i] else {
                    continue;
                };
                if code == maj {
                    continue;
                }
                // Share of this row's label that sits in the cluster: a label whose
                // rows are largely here is overlap or imbalance, not stranded rows.
                let stranded = here[code as usize] as f64 / totals[code as usize] as f64;
                let s = if stranded <= p.max_stranded_share {
                    s
                } else {
                    s.min(0.49)
                };
                report.scores[i] = report.scores[i].max(s);
                if share >= p.majority_share && stranded <= p.max_stranded_share {
                    n_mismatch += 1;
                    report.issues.push(RowIssue {
                        row: i,
                        kind: IssueKind::ClusterLabelMismatch,
                        score: s,
                        reason: format!(
                            "label '{}' but {:.0}% of its cluster of {} rows is '{}' (and only \
                             {}% of the '{}' rows are in it)",
                            labels.name(i),
                            (100.0 * share).floor(),
                            rows.len(),
                            labels.classes[maj as usize],
                            fmt_value(100.0 * stranded),
                            labels.name(i)
                        ),
                        evidence: Evidence::Cluster {
                            cluster: c,
                            size: rows.len(),
                            label: Some(labels.classes[maj as usize].clone()),
                        },
                    });
                }
            }
        }
        push_findings(report, n_mismatch, n, mixed, voting, p.majority_share);
    }
}

/// Score of a row whose label is not its cluster's majority label held by `share`:
/// 0.5 at `threshold`, rising linearly to 1 at share 1, and from 0 at share 0.5.
fn mismatch_score(share: f64, threshold: f64) -> f64 {
    if share >= threshold {
        if threshold >= 1.0 {
            return 1.0;
        }
        0.5 + 0.5 * (share - threshold) / (1.0 - threshold)
    } else {
        (0.5 * (share - 0.5) / (threshold - 0.5)).max(0.0)
    }
}

fn push_findings(
    report: &mut DetectorReport,
    n_mismatch: usize,
    n: usize,
    mixed: usize,
    voting: usize,
    majority_share: f64,
) {
    if n_mismatch > 0 {
        let share = n_mismatch as f64 / n as f64;
        report.findings.push(DatasetFinding {
            category: "cluster_label_mismatch".to_string(),
            severity: if share >= 0.01 {
                Severity::Medium
            } else {
                Severity::Low
            },
            finding: format!(
                "{n_mismatch} rows ({:.2}%) carry a label that differs from the label of at \
                 least {:.0}% of their k-means cluster",
                100.0 * share,
                100.0 * majority_share
            ),
            recommendation: "review the cluster_label_mismatch rows for labelling errors"
                .to_string(),
        });
    }
    if voting > 0 && mixed * 4 >= voting && mixed >= 2 {
        report.findings.push(DatasetFinding {
            category: "class_overlap".to_string(),
            severity: Severity::Low,
            finding: format!(
                "{mixed} of {voting} k-means clusters have no label held by half their rows: the \
                 classes overlap in feature space"
            ),
            recommendation: "expect label-based detectors to be less certain; consider more \
                             informative features"
                .to_string(),
        });
    }
}

/// Per cluster: (majority label code, its share of labelled members, labelled
/// members), or `None` when no member is labelled. Ties go to the lower code.
pub(crate) fn cluster_majorities(
    labels: &crate::context::Labels,
    members: &[Vec<usize>],
) -> Vec<Option<(u32, f64, usize)>> {
    members
        .iter()
        .map(|rows| {
            let mut counts = vec![0usize; labels.n_classes()];
            for &i in rows {
                if let Some(c) = labels.codes[i] {
                    counts[c as usize] += 1;
                }
            }
            let labelled: usize = counts.iter().sum();
            if labelled == 0 {
                return None;
            }
            let (best, &cnt) = counts
                .iter()
                .enumerate()
                .max_by(|a, b| a.1.cmp(b.1).then(b.0.cmp(&a.0)))
                .expect("at least one class");
            Some((best as u32, cnt as f64 / labelled as f64, labelled))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::{FeatureMatrix, Labels, NoProgress};
    use crate::detectors::spectral::planted::{backdoor, no_knn};
    use crate::testdata::{Gen, blobs, matrix, precision_recall};
    use ndarray::Array2;

    fn run_with(
        params: &ClusteringParams,
        fm: &FeatureMatrix,
        labels: Option<&Labels>,
        seed: u64,
    ) -> DetectorReport {
        crate::testdata::detect(&params.check().unwrap(), fm, labels, 0, seed).unwrap()
    }

    fn of_kind(r: &DetectorReport, kind: IssueKind) -> Vec<usize> {
        r.issues
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| i.row)
            .collect()
    }

    /// Blobs with `flips` labels moved to the next class.
    fn flipped(flips: usize, seed: u64) -> (FeatureMatrix, Labels, Vec<usize>) {
        let (fm, mut labels) = blobs(500, 3, 16, 1.5, seed);
        let truth = Gen::new(seed + 1).sample(fm.n_rows(), flips);
        for &i in &truth {
            labels.codes[i] = labels.codes[i].map(|c| (c + 1) % 3);
        }
        (fm, labels, truth)
    }

    /// Blobs with `count` rows pushed 8 units along a random axis.
    fn with_outliers(count: usize, seed: u64) -> (FeatureMatrix, Labels, Vec<usize>) {
        let (mut fm, labels) = blobs(500, 3, 16, 1.5, seed);
        let mut g = Gen::new(seed + 2);
        let truth = g.sample(fm.n_rows(), count);
        for &i in &truth {
            let j = g.below(16);
            fm.x[[i, j]] += if g.uniform() < 0.5 { 8.0 } else { -8.0 };
        }
        (fm, labels, truth)
    }

    #[test]
    fn label_flips_are_found() {
        for seed in 0..3 {
            let (fm, labels, truth) = flipped(45, seed);
            let r = run_with(&ClusteringParams::new(), &fm, Some(&labels), seed);
            let (p, rec) = precision_recall(&of_kind(&r, IssueKind::ClusterLabelMismatch), &truth);
            assert!(
                p >= 0.9 && rec >= 0.95,
                "seed {seed}: precision {p}, recall {rec}"
            );
            assert!(
                r.findings
                    .iter()
                    .any(|f| f.category == "cluster_label_mismatch")
            );
        }
    }

    #[test]
    fn backdoor_relabel_is_found_at_class_resolution() {
        for seed in 0..3 {
            let (fm, labels, truth) = backdoor(500, 30, 4.0, 1.5, seed);
            let r = run_with(&ClusteringParams::new(), &fm, Some(&labels), seed);
            let (p, rec) = precision_recall(&of_kind(&r, IssueKind::ClusterLabelMismatch), &truth);
            assert!(
                p >= 0.9 && rec >= 0.95,
                "seed {seed}: precision {p}, recall {rec}"
            );
            // At fine resolution the poisoned group gets clusters of its own.
            let fine = ClusteringParams::new().label_clusters(Some(27));
            let r = run_with(&fine, &fm, Some(&labels), seed);
            let (_, rec) = precision_recall(&of_kind(&r, IssueKind::ClusterLabelMismatch), &truth);
            assert!(rec <= 0.3, "fine clustering recall {rec}");
        }
    }

    #[test]
    fn planted_outliers_are_found() {
        for seed in 0..3 {
            let (fm, labels, truth) = with_outliers(15, seed);
            let r = run_with(&ClusteringParams::new(), &fm, Some(&labels), seed);
            let (p, rec) = precision_recall(&of_kind(&r, IssueKind::ClusterOutlier), &truth);
            assert!(
                p >= 0.7 && rec >= 0.9,
                "seed {seed}: precision {p}, recall {rec}"
            );
            assert!(r.issues.iter().all(|i| i.score >= 0.5 && i.score <= 1.0));
        }
    }

    #[test]
    fn outliers_cannot_hide_in_a_micro_cluster() {
        let (fm, labels) = blobs(500, 3, 16, 1.5, 5);
        let mut x = fm.x.clone();
        for _ in 0..3 {
            x.push_row(ndarray::Array1::from_elem(16, 25.0).view())
                .unwrap();
        }
        let mut codes = labels.codes.clone();
        codes.extend([Some(0), Some(0), Some(0)]);
        let labels = Labels {
            codes,
            classes: labels.classes.clone(),
        };
        let r = run_with(&ClusteringParams::new(), &matrix(x), Some(&labels), 5);
        let out = of_kind(&r, IssueKind::ClusterOutlier);
        assert!(out.contains(&1500) && out.contains(&1501) && out.contains(&1502));
        let issue = r.issues.iter().find(|i| i.row == 1500).unwrap();
        assert!(
            issue
                .reason
                .contains("robust SDs above the cluster's median"),
            "{}",
            issue.reason
        );
    }

    #[test]
    fn clean_data_gives_few_flags() {
        for seed in 0..3 {
            let (fm, labels) = blobs(500, 3, 16, 1.5, 100 + seed);
            let r = run_with(&ClusteringParams::new(), &fm, Some(&labels), seed);
            let out = of_kind(&r, IssueKind::ClusterOutlier).len();
            let mis = of_kind(&r, IssueKind::ClusterLabelMismatch).len();
            assert!(
                out <= 8 && mis <= 6,
                "seed {seed}: {out} outliers, {mis} mismatches"
            );
        }
    }

    #[test]
    fn subsampled_fit_still_works() {
        let (fm, labels, truth) = flipped(45, 1);
        let params = ClusteringParams::new().sample_size(300);
        let r = run_with(&params, &fm, Some(&labels), 1);
        let (p, rec) = precision_recall(&of_kind(&r, IssueKind::ClusterLabelMismatch), &truth);
        assert!(p >= 0.9 && rec >= 0.95, "precision {p}, recall {rec}");
        let issue = r
            .issues
            .iter()
            .find(|i| i.kind == IssueKind::ClusterLabelMismatch)
            .unwrap();
        assert!(issue.reason.starts_with("label 'c"), "{}", issue.reason);
        assert!(
            issue.reason.contains("% of its cluster of"),
            "{}",
            issue.reason
        );
    }

    #[test]
    fn works_without_labels() {
        let (fm, _, truth) = with_outliers(15, 2);
        let r = run_with(&ClusteringParams::new(), &fm, None, 2);
        assert!(r.issues.iter().all(|i| i.kind == IssueKind::ClusterOutlier));
        let (_, rec) = precision_recall(&of_kind(&r, IssueKind::ClusterOutlier), &truth);
        assert!(rec >= 0.9);
    }

    #[test]
    fn deterministic_across_thread_counts() {
        let (fm, labels, _) = backdoor(500, 30, 4.0, 1.5, 2);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let params = ClusteringParams::new();
        let a = one.install(|| run_with(&params, &fm, Some(&labels), 3));
        let b = three.install(|| run_with(&params, &fm, Some(&labels), 3));
        assert_eq!(a.scores, b.scores);
        assert_eq!(a.issues, b.issues);
        assert_eq!(a.findings, b.findings);
    }

    #[test]
    fn tiny_tables_constant_columns_and_bad_params() {
        let (fm, labels) = blobs(3, 2, 2, 1.0, 0);
        let knn = no_knn();
        let ctx = Context {
            features: &fm,
            labels: Some(&labels),
            knn: &knn,
            seed: 0,
            progress: &NoProgress,
        };
        let det = ClusteringParams::new().check().unwrap();
        assert!(matches!(
            det.detect(&ctx),
            Err(DetectError::TooFewRows { .. })
        ));
        // All rows identical: no flags, no panic.
        let same = matrix(Array2::from_elem((40, 3), 2.0));
        let r = run_with(&ClusteringParams::new(), &same, None, 0);
        assert!(r.issues.is_empty() && r.scores.iter().all(|&s| s == 0.0));
        assert_eq!(det.k_for(1_000_000), 50);
        assert_eq!(det.k_for(1500), 27);
        assert!(ClusteringParams::new().n_clusters(Some(1)).check().is_err());
        assert!(
            ClusteringParams::new()
                .label_clusters(Some(1))
                .check()
                .is_err()
        );
        assert!(ClusteringParams::new().max_clusters(1).check().is_err());
        assert!(ClusteringParams::new().sample_size(10).check().is_err());
        assert!(ClusteringParams::new().n_runs(0).check().is_err());
        assert!(ClusteringParams::new().max_iterations(0).check().is_err());
        assert!(ClusteringParams::new().z_threshold(-1.0).check().is_err());
        assert!(ClusteringParams::new().majority_share(0.5).check().is_err());
        assert!(ClusteringParams::new().min_cluster_rows(2).check().is_err());
        assert!(
            ClusteringParams::new()
                .max_stranded_share(0.0)
                .check()
                .is_err()
        );
    }

    #[test]
    fn an_overlapping_minority_class_is_not_stranded() {
        // Two classes from the same distribution, 90% / 10%: every cluster is ~90% 'a',
        // but the 'b' rows are spread over it, not stranded.
        let mut g = Gen::new(11);
        let mut x = Array2::zeros((1000, 4));
        for v in x.iter_mut() {
            *v = g.normal();
        }
        let names: Vec<Option<&str>> = (0..1000)
            .map(|i| Some(if i % 10 == 0 { "b" } else { "a" }))
            .collect();
        let labels = Labels::from_strings(&names);
        let r = run_with(
            &ClusteringParams::new(),
            &matrix(x.clone()),
            Some(&labels),
            1,
        );
        assert!(of_kind(&r, IssueKind::ClusterLabelMismatch).is_empty());
        let loose = ClusteringParams::new().max_stranded_share(1.0);
        let r = run_with(&loose, &matrix(x), Some(&labels), 1);
        assert!(of_kind(&r, IssueKind::ClusterLabelMismatch).len() >= 50);
    }

    #[test]
    fn mismatch_score_pivots_at_threshold() {
        assert!((mismatch_score(0.8, 0.8) - 0.5).abs() < 1e-12);
        assert!((mismatch_score(1.0, 0.8) - 1.0).abs() < 1e-12);
        assert_eq!(mismatch_score(0.4, 0.8), 0.0);
        assert!(mismatch_score(0.7, 0.8) < 0.5);
    }
}
