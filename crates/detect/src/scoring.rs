//! From detector outputs to what a person acts on: a severity and a recommendation
//! per issue, one combined suspicion score per row, and the flagged rows.
//!
//! Combined score: the noisy-OR of each ranking detector's [0, 1] row score, taken
//! over detector *families* (duplicates, outliers, labels, poisoning) with the
//! strongest detector of each family standing for it, so that three outlier detectors
//! agreeing count once while independent kinds of evidence corroborate each other:
//! `combined = 1 − Π_f (1 − max_{d ∈ f} s_d)`. Detectors whose issues only
//! corroborate do not rank rows ([`Rank`]).
//!
//! Severity of an issue depends on its kind (what it means for training) and its
//! score; a row's severity is the highest of its issues', raised one level (up to
//! high) when two or more families flag it.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::issue::{IssueKind, RowIssue, Severity};

/// The family a kind belongs to, for corroboration.
pub fn family(kind: IssueKind) -> &'static str {
    match kind {
        IssueKind::ExactDuplicate
        | IssueKind::ConflictingDuplicate
        | IssueKind::NearDuplicate
        | IssueKind::ConflictingNearDuplicate => "duplicates",
        IssueKind::KnnOutlier
        | IssueKind::IsolationOutlier
        | IssueKind::EcodOutlier
        | IssueKind::ClusterOutlier
        | IssueKind::NonFinite => "outliers",
        IssueKind::ClusterLabelMismatch
        | IssueKind::KnnLabelDisagreement
        | IssueKind::LabelError => "labels",
        IssueKind::SpectralSignature
        | IssueKind::ActivationCluster
        | IssueKind::BackdoorTrigger => "poisoning",
    }
}

/// Kinds that corroborate but never flag a row on their own. They raise the score and
/// severity of rows that a decisive detector flags, and feed dataset-level findings, but
/// a row with only these is not listed:
///
/// - cluster membership (`cluster_outlier`, `cluster_label_mismatch`) is coarse: a row
///   at a cluster's edge is not suspicious by itself;
/// - spectral signatures and activation clustering were designed for a network's
///   penultimate-layer activations, where a poisoned group separates cleanly; on raw
///   tabular features every class has natural sub-groups and tails, and on the
///   untouched real tables of the evaluation suite (iris, wine, breast cancer, digits)
///   they alone flagged 1.2 % and 6.2 % of clean rows (`docs/benchmarks.md`);
/// - kNN label disagreement is the raw neighbour vote that confident learning refines
///   with per-class thresholds; alone it flagged 1.6 % of clean rows, most of them on
///   natural class boundaries. When confident learning did not run (disabled or
///   skipped), the vote is decisive again: see [`Decisive`].
pub fn supporting_only(kind: IssueKind) -> bool {
    matches!(
        kind,
        IssueKind::ClusterOutlier
            | IssueKind::ClusterLabelMismatch
            | IssueKind::SpectralSignature
            | IssueKind::ActivationCluster
            | IssueKind::KnnLabelDisagreement
    )
}

/// Smallest score with which an ECOD issue flags its row alone: the unit score of
/// an upper-tail z of 10/7 of ECOD's flag threshold (z 5 at the default 3.5;
/// `t²/(1 + t²)` at `t = 10/7`). Weaker ECOD issues corroborate only. Inside a whole
/// scan every planted outlier that ECOD flagged at z 3.5–5 was also flagged by the
/// kNN detector, while the rows it flagged alone there were all clean: 137 rows
/// (0.14 %) of the evaluation's 100 000-row mixture and 9 rows of its real tables
/// (`docs/benchmarks.md`). The ECOD detector's own issues are unchanged.
pub const ECOD_ALONE_MIN_SCORE: f64 = 100.0 / 149.0;

/// Whether a detector's per-row scores enter the combined score.
///
/// Only detectors whose issues may flag a row on their own rank rows. The detectors
/// whose issues only corroborate ([`supporting_only`]) keep their per-detector score
/// column but stay out of the combined score: their scores are high on the same clean
/// rows for which they are not trusted to flag (class sub-groups, cluster edges,
/// natural class boundaries), and there they pushed clean rows above planted ones. On
/// the evaluation's 48 poisoned real-table cases, leaving them out raised the mean
/// AUROC of the combined score on six of seven attacks (label flips 0.968 → 0.989,
/// targeted flips 0.922 → 0.958, conflicting duplicates 0.978 → 1.000) and lowered it
/// on outliers (0.946 → 0.936), whose ranking the k-means distance had helped
/// (`docs/benchmarks.md`, "What changed").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rank {
    /// Its issues flag rows, so its scores rank rows.
    Always,
    /// Its issues only corroborate, so its scores do not rank rows.
    Never,
    /// The kNN label vote: it ranks rows only when confident learning, which refines
    /// it, did not run (see [`Decisive`]).
    UnlessLabelModel,
}

/// Which issue kinds may flag a row on their own in one scan.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Decisive {
    /// Confident learning ran, so the kNN label vote only corroborates it.
    pub label_model_ran: bool,
}

impl Default for Decisive {
    fn default() -> Self {
        Decisive {
            label_model_ran: true,
        }
    }
}

impl Decisive {
    /// Whether an issue of this kind and score flags its row without other evidence.
    pub fn flags_alone(&self, kind: IssueKind, score: f64) -> bool {
        match kind {
            IssueKind::KnnLabelDisagreement if !self.label_model_ran => true,
            IssueKind::EcodOutlier => score >= ECOD_ALONE_MIN_SCORE,
            _ => !supporting_only(kind),
        }
    }

    /// Whether a detector with this role ranks rows in the combined score.
    pub fn ranks(&self, rank: Rank) -> bool {
        match rank {
            Rank::Always => true,
            Rank::Never => false,
            Rank::UnlessLabelModel => !self.label_model_ran,
        }
    }
}

/// Severity of one issue from its kind and score.
pub fn severity(kind: IssueKind, score: f64) -> Severity {
    use IssueKind::*;
    use Severity::*;
    let strong = score >= 0.8;
    match kind {
        BackdoorTrigger => {
            if strong {
                Critical
            } else {
                High
            }
        }
        ConflictingDuplicate => High,
        LabelError | SpectralSignature | ActivationCluster | ConflictingNearDuplicate => {
            if strong {
                High
            } else {
                Medium
            }
        }
        KnnLabelDisagreement | ClusterLabelMismatch | NonFinite => Medium,
        KnnOutlier | IsolationOutlier | EcodOutlier => {
            if strong {
                Medium
            } else {
                Low
            }
        }
        ClusterOutlier | ExactDuplicate | NearDuplicate => Low,
    }
}

/// One-sentence recommendation for an issue kind.
pub fn recommendation(kind: IssueKind) -> &'static str {
    use IssueKind::*;
    match kind {
        BackdoorTrigger => {
            "remove every row carrying this value and audit where they came from: a rare value \
             tied to one label is the signature of a backdoor trigger"
        }
        ConflictingDuplicate => {
            "keep one copy with the correct label (or drop all): identical inputs with different \
             labels teach the model noise"
        }
        ConflictingNearDuplicate => {
            "review the pair and fix the wrong label; near-identical inputs should share a label"
        }
        LabelError | KnnLabelDisagreement | ClusterLabelMismatch => {
            "review the label; relabel or drop the row if it is wrong"
        }
        SpectralSignature | ActivationCluster => {
            "inspect this group of rows for a common source or pattern; drop them if they were \
             injected"
        }
        KnnOutlier | IsolationOutlier | EcodOutlier | ClusterOutlier => {
            "check the row for entry or unit errors; drop it if it is not a real example"
        }
        ExactDuplicate | NearDuplicate => {
            "deduplicate before splitting train/test, or duplicates inflate evaluation scores"
        }
        NonFinite => "fix or drop the non-finite values before training",
    }
}

/// A flagged row: its combined score, severity and every issue found in it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FlaggedRow {
    /// 0-based position in the input.
    pub row: usize,
    /// Combined suspicion score in [0, 1].
    pub score: f64,
    /// Highest severity of its issues, raised when independent families agree.
    pub severity: Severity,
    /// The issues, strongest first.
    pub issues: Vec<RowIssue>,
}

impl FlaggedRow {
    /// The reason of the strongest issue, for one-line displays.
    pub fn reason(&self) -> &str {
        self.issues.first().map(|i| i.reason.as_str()).unwrap_or("")
    }
}

/// Combine per-detector scores into one score per row (see the module doc).
/// `scores` holds (detector family, per-row scores).
pub fn combine(n_rows: usize, scores: &[(&'static str, &[f64])]) -> Vec<f64> {
    let mut by_family: BTreeMap<&str, Vec<f64>> = BTreeMap::new();
    for (fam, s) in scores {
        let entry = by_family.entry(fam).or_insert_with(|| vec![0.0; n_rows]);
        for (e, v) in entry.iter_mut().zip(s.iter()) {
            *e = e.max(v.clamp(0.0, 1.0));
        }
    }
    (0..n_rows)
        .map(|i| 1.0 - by_family.values().map(|f| 1.0 - f[i]).product::<f64>())
        .collect()
}

/// Group issues by row, attach severities and the combined score, sort most
/// suspicious first (ties by row), and apply the optional flag budget.
pub fn flag_rows(
    issues: Vec<RowIssue>,
    combined: &[f64],
    decisive: Decisive,
    max_flag_rate: Option<f64>,
) -> Vec<FlaggedRow> {
    let mut by_row: BTreeMap<usize, Vec<RowIssue>> = BTreeMap::new();
    for issue in issues {
        by_row.entry(issue.row).or_default().push(issue);
    }
    let mut rows: Vec<FlaggedRow> = by_row
        .into_iter()
        .filter(|(_, issues)| issues.iter().any(|i| decisive.flags_alone(i.kind, i.score)))
        .map(|(row, mut issues)| {
            issues.sort_by(|a, b| {
                severity(b.kind, b.score)
                    .cmp(&severity(a.kind, a.score))
                    .then(b.score.total_cmp(&a.score))
                    .then(a.kind.cmp(&b.kind))
            });
            let mut sev = issues
                .iter()
                .map(|i| severity(i.kind, i.score))
                .max()
                .unwrap_or(Severity::Low);
            let mut families: Vec<&str> = issues.iter().map(|i| family(i.kind)).collect();
            families.sort_unstable();
            families.dedup();
            if families.len() >= 2 && sev < Severity::High {
                sev = match sev {
                    Severity::Low => Severity::Medium,
                    _ => Severity::High,
                };
            }
            // A flagged row never scores below its strongest issue.
            let top = issues
                .iter()
                .filter(|i| decisive.flags_alone(i.kind, i.score))
                .map(|i| i.score)
                .fold(0.0, f64::max);
            FlaggedRow {
                row,
                score: combined[row].max(top),
                severity: sev,
                issues,
            }
        })
        .collect();
    rows.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(b.score.total_cmp(&a.score))
            .then(a.row.cmp(&b.row))
    });
    if let Some(rate) = max_flag_rate {
        let budget = (rate * combined.len() as f64).floor() as usize;
        rows.truncate(budget);
    }
    rows
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::issue::Evidence;
    use crate::score;

    fn issue(row: usize, kind: IssueKind, score: f64) -> RowIssue {
        RowIssue {
            row,
            kind,
            score,
            reason: format!("{kind} at {row}"),
            evidence: Evidence::Features { top: vec![] },
        }
    }

    #[test]
    fn combine_counts_a_family_once_and_corroborates_across_families() {
        let a = [0.5, 0.0];
        let b = [0.5, 0.0];
        let c = [0.5, 0.0];
        let same = combine(2, &[("outliers", &a), ("outliers", &b)]);
        assert!((same[0] - 0.5).abs() < 1e-12);
        let cross = combine(2, &[("outliers", &a), ("labels", &c)]);
        assert!((cross[0] - 0.75).abs() < 1e-12);
        assert_eq!(cross[1], 0.0);
    }

    #[test]
    fn rows_sorted_by_severity_then_score_and_budget_applies() {
        let issues = vec![
            issue(3, IssueKind::KnnOutlier, 0.9),
            issue(1, IssueKind::BackdoorTrigger, 0.9),
            issue(2, IssueKind::ExactDuplicate, 0.6),
            issue(3, IssueKind::LabelError, 0.85),
        ];
        let combined = vec![0.0, 0.9, 0.6, 0.95, 0.1];
        let rows = flag_rows(issues.clone(), &combined, Decisive::default(), None);
        let order: Vec<usize> = rows.iter().map(|r| r.row).collect();
        assert_eq!(order, vec![1, 3, 2]);
        assert_eq!(rows[0].severity, Severity::Critical);
        assert_eq!(rows[1].severity, Severity::High);
        assert_eq!(rows[1].issues[0].kind, IssueKind::LabelError);
        // Budget of 40% of 5 rows keeps the top 2.
        let rows = flag_rows(issues, &combined, Decisive::default(), Some(0.4));
        assert_eq!(rows.len(), 2);
    }

    #[test]
    fn two_families_raise_severity() {
        let issues = vec![
            issue(0, IssueKind::ClusterOutlier, 0.5),
            issue(0, IssueKind::NearDuplicate, 0.5),
        ];
        let rows = flag_rows(issues, &[0.5], Decisive::default(), None);
        assert_eq!(rows[0].severity, Severity::Medium);
    }

    #[test]
    fn supporting_kinds_alone_do_not_flag_a_row() {
        let issues = vec![
            issue(0, IssueKind::ClusterLabelMismatch, 0.9),
            issue(0, IssueKind::SpectralSignature, 0.9),
            issue(0, IssueKind::ActivationCluster, 0.9),
            issue(0, IssueKind::KnnLabelDisagreement, 0.9),
            issue(1, IssueKind::ClusterOutlier, 0.9),
            issue(1, IssueKind::KnnOutlier, 0.7),
        ];
        let rows = flag_rows(issues, &[0.9, 0.9], Decisive::default(), None);
        assert_eq!(rows.len(), 1);
        assert_eq!(rows[0].row, 1);
        assert_eq!(rows[0].issues.len(), 2);
    }

    #[test]
    fn weak_ecod_issues_only_corroborate() {
        let issues = vec![
            issue(0, IssueKind::EcodOutlier, 0.6),
            issue(1, IssueKind::EcodOutlier, 0.7),
            issue(2, IssueKind::EcodOutlier, 0.6),
            issue(2, IssueKind::KnnOutlier, 0.55),
        ];
        let rows = flag_rows(issues, &[0.6, 0.7, 0.6], Decisive::default(), None);
        let mut flagged: Vec<usize> = rows.iter().map(|r| r.row).collect();
        flagged.sort_unstable();
        assert_eq!(flagged, vec![1, 2]);
        assert_eq!(rows.iter().find(|r| r.row == 2).unwrap().issues.len(), 2);
        // The bound is the unit score of z = 10/7 of the pivot.
        let at = score::unit_from_z(5.0, 3.5);
        assert!((at - ECOD_ALONE_MIN_SCORE).abs() < 1e-12);
    }

    #[test]
    fn knn_label_vote_decides_when_confident_learning_did_not_run() {
        let issues = vec![
            issue(0, IssueKind::KnnLabelDisagreement, 0.9),
            issue(1, IssueKind::SpectralSignature, 0.9),
        ];
        let without = Decisive {
            label_model_ran: false,
        };
        let rows = flag_rows(issues.clone(), &[0.9, 0.9], without, None);
        assert_eq!(rows.iter().map(|r| r.row).collect::<Vec<_>>(), vec![0]);
        let rows = flag_rows(issues, &[0.9, 0.9], Decisive::default(), None);
        assert!(rows.is_empty());
    }

    #[test]
    fn only_detectors_that_flag_rank_rows() {
        let with = Decisive::default();
        let without = Decisive {
            label_model_ran: false,
        };
        for d in [with, without] {
            assert!(d.ranks(Rank::Always));
            assert!(!d.ranks(Rank::Never));
        }
        assert!(!with.ranks(Rank::UnlessLabelModel));
        assert!(without.ranks(Rank::UnlessLabelModel));
    }

    #[test]
    fn a_corroborating_issue_does_not_raise_a_flagged_rows_score() {
        let issues = vec![
            issue(0, IssueKind::KnnOutlier, 0.6),
            issue(0, IssueKind::SpectralSignature, 0.95),
            issue(1, IssueKind::LabelError, 0.7),
        ];
        let rows = flag_rows(issues, &[0.65, 0.5], Decisive::default(), None);
        let score = |row| rows.iter().find(|r| r.row == row).unwrap().score;
        // Row 0 keeps its combined score; row 1 rises to its decisive issue's.
        assert_eq!(score(0), 0.65);
        assert_eq!(score(1), 0.7);
    }
}
