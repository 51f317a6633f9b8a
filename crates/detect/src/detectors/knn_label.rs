//! kNN label disagreement: Paudice, Muñoz-González and Lupu (2018), "Label
//! Sanitization against Label Flipping Poisoning Attacks" (ECML PKDD workshops).
//!
//! For every labelled row `x` with label `ỹ`, look at its `k` nearest neighbours
//! (self excluded, rows without a label do not vote) and compute the vote share of
//! each class, `s_c = Σ_{r: y_r = c} w_r / Σ_r w_r` (uniform weights `w_r = 1`, or
//! inverse-distance weights). The paper relabels `x` with the dominant neighbour
//! label `c* = argmax_c s_c` when `s_{c*} ≥ η`; a relabelling is exactly a row whose
//! label the neighbourhood contradicts, so we flag `x` when
//!
//! ```text
//! s_{c*} ≥ η   and   c* ≠ ỹ   (i.e. s_{c*} > s_ỹ)
//! ```
//!
//! The paper treats `k` and `η` as hyper-parameters chosen by cross-validation. We
//! default to `k = 10` and `η = 0.6`: a clear majority (6 of 10 votes) rather than a
//! bare one, which keeps precision on clean data (measured flag rate ≈ 0 on
//! separated blobs) while recall on flipped rows stays above 0.95, because a flipped
//! row sits among rows that nearly all carry its true label.
//!
//! Adaptation for small classes: a class with `m ≤ k` rows cannot win `k` votes, so
//! a row of a class with `2 ≤ m` rows uses only its `min(k, m − 1)` nearest
//! neighbours; a genuine small, tight class is then judged by its own members. A
//! class of one row has no members to protect and uses all `k`.
//!
//! Score: from the dominant other share `s`, piecewise linear with `0.5` at `s = η`
//! and `1` at `s = 1`; unflagged rows stay below `0.5`.

use rayon::prelude::*;

use crate::context::{Context, Detector, Labels};
use crate::error::{DetectError, Result};
use crate::issue::{DetectorReport, Evidence, IssueKind, RowIssue};
use crate::knn::KnnGraph;

const NAME: &str = "knn_label";

/// How neighbour votes are weighted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum VoteWeighting {
    /// Every neighbour counts once (the paper's rule).
    #[default]
    Uniform,
    /// Neighbour `r` counts `1 / (d_r + δ)`, with `δ` 5% of the row's median
    /// neighbour distance (so exact duplicates do not dominate with infinite weight).
    InverseDistance,
}

/// Unchecked settings of the kNN label-disagreement detector.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnLabelParams {
    k: usize,
    eta: f64,
    weighting: VoteWeighting,
}

impl Default for KnnLabelParams {
    fn default() -> Self {
        KnnLabelParams {
            k: 10,
            eta: 0.6,
            weighting: VoteWeighting::Uniform,
        }
    }
}

impl KnnLabelParams {
    /// Default settings: `k = 10`, `η = 0.6`, uniform votes.
    pub fn new() -> Self {
        Self::default()
    }

    /// Number of neighbours that vote (capped by the shared graph's `k`).
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// Minimum share of the dominant other label for a flag, in (0, 1].
    pub fn eta(mut self, eta: f64) -> Self {
        self.eta = eta;
        self
    }

    /// How votes are weighted.
    pub fn weighting(mut self, weighting: VoteWeighting) -> Self {
        self.weighting = weighting;
        self
    }

    /// Validate the settings.
    pub fn check(&self) -> Result<KnnLabelValidParams> {
        if self.k == 0 {
            return Err(DetectError::InvalidParam {
                detector: NAME,
                name: "k",
                value: self.k.to_string(),
                expected: "at least 1",
            });
        }
        if !(self.eta > 0.0 && self.eta <= 1.0) {
            return Err(DetectError::InvalidParam {
                detector: NAME,
                name: "eta",
                value: self.eta.to_string(),
                expected: "a share in (0, 1]",
            });
        }
        Ok(KnnLabelValidParams {
            k: self.k,
            eta: self.eta,
            weighting: self.weighting,
        })
    }
}

/// Validated settings of the kNN label-disagreement detector; run it with
/// [`Detector::detect`].
#[derive(Debug, Clone, PartialEq)]
pub struct KnnLabelValidParams {
    k: usize,
    eta: f64,
    weighting: VoteWeighting,
}

impl KnnLabelValidParams {
    /// Number of voting neighbours.
    pub fn k(&self) -> usize {
        self.k
    }

    /// Flag threshold on the dominant other label's share.
    pub fn eta(&self) -> f64 {
        self.eta
    }

    /// Vote weighting.
    pub fn weighting(&self) -> VoteWeighting {
        self.weighting
    }
}

/// The labelled votes of one row's nearest neighbours.
#[derive(Debug, Clone, Default, PartialEq)]
pub(crate) struct RowVotes {
    /// (class, summed weight, number of neighbours), sorted by class.
    pub classes: Vec<(u32, f64, usize)>,
    /// Number of labelled neighbours; weights are scaled to sum to it.
    pub count: usize,
}

impl RowVotes {
    /// Summed weight for a class.
    pub fn weight(&self, class: u32) -> f64 {
        self.find(class).map_or(0.0, |e| e.1)
    }

    /// Number of neighbours with that class.
    pub fn neighbours(&self, class: u32) -> usize {
        self.find(class).map_or(0, |e| e.2)
    }

    fn find(&self, class: u32) -> Option<&(u32, f64, usize)> {
        self.classes
            .binary_search_by_key(&class, |e| e.0)
            .ok()
            .map(|p| &self.classes[p])
    }

    /// The class with the largest weight other than `exclude`; ties go to the
    /// lower class code.
    pub fn best_other(&self, exclude: u32) -> Option<(u32, f64)> {
        let mut best: Option<(u32, f64)> = None;
        for &(c, w, _) in &self.classes {
            if c != exclude && best.is_none_or(|(_, bw)| w > bw) {
                best = Some((c, w));
            }
        }
        best
    }
}

/// Votes of the first `k_use` neighbours of `row` (rows without a label skipped).
pub(crate) fn row_votes(
    knn: &KnnGraph,
    labels: &Labels,
    row: usize,
    k_use: usize,
    weighting: VoteWeighting,
) -> RowVotes {
    let k_use = k_use.min(knn.k());
    let idx = knn.indices.row(row);
    let dist = knn.distances.row(row);
    let weights: Vec<f64> = match weighting {
        VoteWeighting::Uniform => vec![1.0; k_use],
        VoteWeighting::InverseDistance => {
            let d: Vec<f64> = (0..k_use).map(|c| dist[c]).collect();
            let mut scale = crate::score::median(&d) * 0.05;
            if scale.is_nan() || scale <= 0.0 {
                scale = d.iter().sum::<f64>() / d.len().max(1) as f64 * 0.05;
            }
            if scale > 0.0 {
                d.iter().map(|d| 1.0 / (d + scale)).collect()
            } else {
                vec![1.0; k_use]
            }
        }
    };
    let mut classes: Vec<(u32, f64, usize)> = Vec::new();
    let mut count = 0;
    let mut total = 0.0;
    for (c, w) in weights.iter().enumerate() {
        let Some(label) = labels.codes[idx[c] as usize] else {
            continue;
        };
        count += 1;
        total += w;
        match classes.binary_search_by_key(&label, |e| e.0) {
            Ok(p) => {
                classes[p].1 += w;
                classes[p].2 += 1;
            }
            Err(p) => classes.insert(p, (label, *w, 1)),
        }
    }
    if total > 0.0 {
        let f = count as f64 / total;
        for e in &mut classes {
            e.1 *= f;
        }
    }
    RowVotes { classes, count }
}

/// Check that the graph and labels describe the feature matrix's rows.
pub(crate) fn check_shapes(
    ctx: &Context<'_>,
    labels: &Labels,
    detector: &'static str,
) -> Result<()> {
    let n = ctx.features.n_rows();
    if ctx.knn.n_rows() != n || labels.codes.len() != n {
        return Err(DetectError::Numerical {
            detector,
            step: "checking input sizes",
            message: format!(
                "features have {n} rows, the kNN graph {} and the labels {}",
                ctx.knn.n_rows(),
                labels.codes.len()
            ),
        });
    }
    Ok(())
}

/// Map the dominant other share to [0, 1]: 0.5 at `eta`, 1 at a unanimous vote.
fn share_score(share: f64, eta: f64, flagged: bool) -> f64 {
    if flagged {
        if eta >= 1.0 {
            1.0
        } else {
            (0.5 + 0.5 * (share - eta) / (1.0 - eta)).clamp(0.5, 1.0)
        }
    } else {
        (0.5 * share / eta).clamp(0.0, 0.49)
    }
}

impl Detector for KnnLabelValidParams {
    fn name(&self) -> &'static str {
        NAME
    }

    fn detect(&self, ctx: &Context<'_>) -> Result<DetectorReport> {
        let labels = ctx
            .labels
            .ok_or(DetectError::NeedsLabels { detector: NAME })?;
        check_shapes(ctx, labels, NAME)?;
        let n = ctx.features.n_rows();
        let counts = labels.counts();
        let k = self.k.min(ctx.knn.k());
        ctx.progress.start("kNN label disagreement", n as u64);
        // Judged in chunks that keep only the issues found, not an `Option<RowIssue>`
        // per row (over 100 bytes each: ~0.3 GB transient at 1M rows).
        const CHUNK: usize = 4096;
        let chunks: Vec<(Vec<f64>, Vec<RowIssue>)> = (0..n.div_ceil(CHUNK))
            .into_par_iter()
            .map(|c| {
                let mut scores = Vec::with_capacity(CHUNK);
                let mut issues = Vec::new();
                for row in c * CHUNK..((c + 1) * CHUNK).min(n) {
                    let (score, issue) = self.judge_row(ctx.knn, labels, &counts, k, row);
                    scores.push(score);
                    issues.extend(issue);
                }
                (scores, issues)
            })
            .collect();
        ctx.progress.advance(n as u64);
        ctx.progress.finish();
        let mut scores = Vec::with_capacity(n);
        let mut issues = Vec::new();
        for (s, i) in chunks {
            scores.extend(s);
            issues.extend(i);
        }
        Ok(DetectorReport {
            scores,
            issues,
            findings: Vec::new(),
        })
    }
}

impl KnnLabelValidParams {
    fn judge_row(
        &self,
        knn: &KnnGraph,
        labels: &Labels,
        counts: &[usize],
        k: usize,
        row: usize,
    ) -> (f64, Option<RowIssue>) {
        let Some(given) = labels.codes[row] else {
            return (0.0, None);
        };
        let class_size = counts[given as usize];
        // A class of m ≤ k rows is judged by its m - 1 other members; a class of
        // one row has none, so its row uses all k neighbours.
        let k_row = if class_size >= 2 {
            k.min(class_size - 1)
        } else {
            k
        };
        let votes = row_votes(knn, labels, row, k_row, self.weighting);
        if votes.count == 0 {
            return (0.0, None);
        }
        let total = votes.count as f64;
        let own = votes.weight(given) / total;
        let Some((other, w_other)) = votes.best_other(given) else {
            return (0.0, None);
        };
        let share = w_other / total;
        let flagged = share >= self.eta && share > own;
        let score = share_score(share, self.eta, flagged);
        if !flagged {
            return (score, None);
        }
        let other_name = &labels.classes[other as usize];
        let nearest = if votes.count == k_row {
            "nearest rows"
        } else {
            "nearest labelled rows"
        };
        let mut reason = format!(
            "label '{}' but {} of {} {nearest} are '{other_name}'",
            labels.name(row),
            votes.neighbours(other),
            votes.count,
        );
        if self.weighting == VoteWeighting::InverseDistance {
            reason.push_str(&format!(" (distance-weighted share {share:.2})"));
        }
        let issue = RowIssue {
            row,
            kind: IssueKind::KnnLabelDisagreement,
            score,
            reason,
            evidence: Evidence::Label {
                given: labels.name(row).to_string(),
                suggested: other_name.clone(),
                given_probability: own,
                suggested_probability: share,
            },
        };
        (score, Some(issue))
    }
}

#[cfg(test)]
#[allow(clippy::print_stderr)] // tests print the measured precision and recall
mod tests {
    use super::*;
    use crate::context::NoProgress;
    use crate::detectors::label_stats::planted::*;
    use crate::testdata::{matrix, precision_recall};
    use ndarray::{Array2, array};

    fn default() -> KnnLabelValidParams {
        KnnLabelParams::new().check().unwrap()
    }

    #[test]
    fn finds_random_flips_on_separated_blobs() {
        let p = random_flips(300, 4, 3.0, 0.05, 1);
        for w in [VoteWeighting::Uniform, VoteWeighting::InverseDistance] {
            let det = KnnLabelParams::new().weighting(w).check().unwrap();
            let report = p.run(&det);
            let (prec, rec) = precision_recall(&flagged(&report), &p.flipped);
            eprintln!("knn_label random 5% {w:?}: precision {prec:.3} recall {rec:.3}");
            assert!(prec >= 0.95 && rec >= 0.95, "{w:?}: {prec} {rec}");
        }
    }

    #[test]
    fn finds_targeted_flips() {
        let p = targeted_flips(300, 4, 3.0, 0, 1, 0.1, 2);
        let report = p.run(&default());
        let (prec, rec) = precision_recall(&flagged(&report), &p.flipped);
        eprintln!("knn_label targeted 10% A->B: precision {prec:.3} recall {rec:.3}");
        assert!(prec >= 0.95 && rec >= 0.95, "{prec} {rec}");
        for issue in &report.issues {
            assert_eq!(issue.kind, IssueKind::KnnLabelDisagreement);
            assert!(issue.score >= 0.5 && issue.score <= 1.0);
        }
    }

    #[test]
    fn clean_blobs_are_quiet() {
        let p = random_flips(300, 4, 3.0, 0.0, 3);
        let report = p.run(&default());
        let rate = report.issues.len() as f64 / p.labels.codes.len() as f64;
        eprintln!("knn_label clean flag rate {rate:.4}");
        assert!(rate <= 0.01);
        assert!(report.scores.iter().all(|s| (0.0..0.5).contains(s)));
    }

    #[test]
    fn overlapping_classes() {
        // Centres about 6 apart against unit noise: rows in the overlap of two
        // classes are outvoted although their label is right, so precision drops.
        let p = random_flips(300, 4, 1.5, 0.05, 1);
        let report = p.run(&default());
        let (prec, rec) = precision_recall(&flagged(&report), &p.flipped);
        let n = report.issues.len();
        eprintln!(
            "knn_label overlapping random 5%: precision {prec:.3} recall {rec:.3}, {n} flagged"
        );
        assert!(prec >= 0.65 && rec >= 0.95, "{prec} {rec}");
        let clean = random_flips(300, 4, 1.5, 0.0, 3);
        assert!(clean.run(&default()).issues.len() <= 12);
    }

    #[test]
    fn reason_counts_votes() {
        // Row 0 sits in a tight group of 'dog' rows but is labelled 'cat'.
        let xs = [0.0, 0.1, 0.2, 0.3, 10.0, 10.1, 10.2, 10.3];
        let p = line(&xs, "cat dog dog dog cat cat cat cat", 3);
        let report = p.run(&default());
        assert_eq!(flagged(&report), vec![0]);
        assert_eq!(
            report.issues[0].reason,
            "label 'cat' but 3 of 3 nearest rows are 'dog'"
        );
        let evidence = Evidence::Label {
            given: "cat".into(),
            suggested: "dog".into(),
            given_probability: 0.0,
            suggested_probability: 1.0,
        };
        assert_eq!(report.issues[0].evidence, evidence);
        assert_eq!(report.issues[0].score, 1.0);
        assert_eq!(report.scores.len(), 8);
    }

    #[test]
    fn missing_labels_neither_flagged_nor_voting() {
        // Row 3 ('a', class of 4 rows, so it uses its 3 nearest) has two unlabelled
        // rows and one 'b' row nearest: one labelled vote, 'b'. Had the unlabelled
        // rows voted, 'b' would hold only a third.
        let xs = [0.0, 0.1, 0.2, 10.0, 10.01, 10.02, 10.5, 10.51, 10.52, 10.53];
        let p = line(&xs, "a a a a - - b b b b", 10);
        let report = p.run(&default());
        assert_eq!(flagged(&report), vec![3]);
        assert_eq!(
            report.issues[0].reason,
            "label 'a' but 1 of 1 nearest labelled rows are 'b'"
        );
        assert_eq!(report.scores[4], 0.0);
        assert_eq!(report.scores[5], 0.0);
    }

    #[test]
    fn small_tight_class_is_judged_by_its_members() {
        // Four rows of class 'rare' far from 40 rows of 'common': with k = 10 most
        // neighbours would be 'common', but a class of 4 uses its 3 nearest.
        let xs: Vec<f64> = (0..44)
            .map(|i| {
                if i < 40 {
                    i as f64 * 0.01
                } else {
                    5.0 + i as f64 * 0.01
                }
            })
            .collect();
        let names = format!("{}{}", "common ".repeat(40), "rare ".repeat(4));
        let report = line(&xs, &names, 10).run(&default());
        assert!(report.issues.is_empty(), "{:?}", report.issues);
    }

    #[test]
    fn typo_class_of_one_row_uses_all_neighbours() {
        let mut xs: Vec<f64> = (0..20).map(|i| i as f64 * 0.1).collect();
        xs.extend((0..20).map(|i| 50.0 + i as f64 * 0.1));
        let mut names = format!("{}{}", "dog ".repeat(20), "cat ".repeat(20));
        names.replace_range(4 * 7..4 * 7 + 3, "dgo");
        let report = line(&xs, &names, 10).run(&default());
        assert_eq!(flagged(&report), vec![7]);
        assert_eq!(
            report.issues[0].reason,
            "label 'dgo' but 10 of 10 nearest rows are 'dog'"
        );
    }

    #[test]
    fn edge_cases_do_not_panic() {
        for n in 0..4 {
            let x = Array2::from_shape_fn((n, 2), |(i, j)| (i + j) as f64);
            let report = table(x.clone(), &"a ".repeat(n), 10).run(&default());
            assert!(report.issues.is_empty());
            assert_eq!(report.scores, vec![0.0; n]);
            let own: String = (0..n).map(|i| format!("c{i} ")).collect();
            let report = table(x, &own, 10).run(&default());
            assert_eq!(report.scores.len(), n);
        }
    }

    #[test]
    fn ties_are_deterministic() {
        // Row 0 ('a', whose class has two more rows far away, so it uses k = 2) has
        // one 'b' and one 'c' neighbour at equal distance: a 50/50 vote between two
        // other labels, never above eta = 0.6; with eta = 0.5 it is flagged towards
        // the lower class code 'b'.
        let p = line(&[0.0, 1.0, -1.0, 5.0, -5.0, 20.0, 21.0], "a b c b c a a", 2);
        assert!(!flagged(&p.run(&default())).contains(&0));
        let det = KnnLabelParams::new().eta(0.5).check().unwrap();
        let a = p.run(&det);
        assert_eq!(a.issues, p.run(&det).issues);
        let row0 = a.issues.iter().find(|i| i.row == 0).unwrap();
        assert!(row0.reason.ends_with("'b'"), "{}", row0.reason);
    }

    #[test]
    fn needs_labels_and_checks_params() {
        let features = matrix(array![[0.0], [1.0]]);
        let graph = KnnGraph::brute_force(features.x.view(), 1, &NoProgress);
        let ctx = Context {
            features: &features,
            labels: None,
            knn: &graph,
            seed: 0,
            progress: &NoProgress,
        };
        let err = default().detect(&ctx);
        assert!(matches!(err, Err(DetectError::NeedsLabels { .. })));
        assert!(KnnLabelParams::new().k(0).check().is_err());
        assert!(KnnLabelParams::new().eta(0.0).check().is_err());
        assert!(KnnLabelParams::new().eta(1.5).check().is_err());
        assert!(KnnLabelParams::new().eta(f64::NAN).check().is_err());
        assert!(KnnLabelParams::new().eta(1.0).check().is_ok());
    }
}
