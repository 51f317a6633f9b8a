//! Exact duplicates and duplicates with conflicting labels.
//!
//! Rows are grouped by identical feature vectors: each row is hashed from the bit
//! patterns of its values (`-0.0` folded into `0.0`), rows are sorted by hash, and
//! equality is confirmed value by value inside each run of equal hashes, so hash
//! collisions never merge distinct rows. Within a group of identical rows:
//! one known label (or no labels) → every member after the first is an
//! [`IssueKind::ExactDuplicate`] (score 0.6); two or more known labels → every member
//! is an [`IssueKind::ConflictingDuplicate`] (0.95, or 0.9 for members carrying the
//! group's strict-majority label). Identical inputs with different labels are the
//! label-noise case confident learning (Northcutt, Jiang & Chuang 2021, "Confident
//! learning: estimating uncertainty in dataset labels") cannot resolve from features.

use rayon::prelude::*;

use crate::context::{Context, Detector, Labels};
use crate::error::{DetectError, Result};
use crate::issue::{DatasetFinding, DetectorReport, Evidence, IssueKind, RowIssue, Severity};

const NAME: &str = "duplicates";

/// Score of a duplicate of an earlier row with the same label.
const EXACT_SCORE: f64 = 0.6;
/// Score of a conflicting duplicate carrying a minority label.
const CONFLICT_SCORE: f64 = 0.95;
/// Score of a conflicting duplicate carrying the group's strict-majority label.
const CONFLICT_MAJORITY_SCORE: f64 = 0.9;

/// Settings of the duplicate detector (unchecked).
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicatesParams {
    max_listed: usize,
}

impl Default for DuplicatesParams {
    fn default() -> Self {
        DuplicatesParams { max_listed: 10 }
    }
}

impl DuplicatesParams {
    /// Defaults: name at most 10 other rows per issue.
    pub fn new() -> Self {
        Self::default()
    }

    /// At most this many other rows of a group are named in each issue's evidence
    /// (keeps the report linear in the number of rows for huge groups).
    pub fn max_listed(mut self, n: usize) -> Self {
        self.max_listed = n;
        self
    }

    /// Validate the settings.
    pub fn check(&self) -> Result<DuplicatesValidParams> {
        if self.max_listed == 0 {
            return Err(DetectError::InvalidParam {
                detector: NAME,
                name: "max_listed",
                value: self.max_listed.to_string(),
                expected: "at least 1",
            });
        }
        Ok(DuplicatesValidParams {
            max_listed: self.max_listed,
        })
    }
}

/// Validated settings of the duplicate detector.
#[derive(Debug, Clone, PartialEq)]
pub struct DuplicatesValidParams {
    max_listed: usize,
}

/// Groups of two or more rows with identical feature vectors, each sorted
/// ascending, groups ordered by their first row.
pub fn duplicate_groups(x: ndarray::ArrayView2<'_, f64>) -> Vec<Vec<usize>> {
    let n = x.nrows();
    let mut keyed: Vec<(u64, u32)> = (0..n)
        .into_par_iter()
        .map(|i| {
            let mut h: u64 = 0xcbf2_9ce4_8422_2325;
            for &v in x.row(i) {
                let bits = (v + 0.0).to_bits();
                h = (h.rotate_left(5) ^ bits).wrapping_mul(0x517c_c1b7_2722_0a95);
            }
            (h, i as u32)
        })
        .collect();
    keyed.par_sort_unstable();
    let same = |a: usize, b: usize| {
        x.row(a)
            .iter()
            .zip(x.row(b))
            .all(|(p, q)| (p + 0.0).to_bits() == (q + 0.0).to_bits())
    };
    let mut groups = Vec::new();
    let mut start = 0;
    while start < n {
        let mut end = start + 1;
        while end < n && keyed[end].0 == keyed[start].0 {
            end += 1;
        }
        if end - start > 1 {
            // Split the run into equality classes (one class unless hashes collide).
            let mut rest: Vec<usize> = keyed[start..end].iter().map(|e| e.1 as usize).collect();
            while rest.len() > 1 {
                let first = rest[0];
                let (group, other): (Vec<usize>, Vec<usize>) =
                    rest.into_iter().partition(|&r| same(first, r));
                if group.len() > 1 {
                    groups.push(group);
                }
                rest = other;
            }
        }
        start = end;
    }
    groups.sort_unstable_by_key(|g| g[0]);
    groups
}

/// Distinct known labels of a group's members with their counts, most common first.
fn label_counts(group: &[usize], labels: &Labels) -> Vec<(u32, usize)> {
    let mut counts: Vec<(u32, usize)> = Vec::new();
    for &r in group {
        if let Some(c) = labels.codes[r] {
            match counts.iter_mut().find(|e| e.0 == c) {
                Some(e) => e.1 += 1,
                None => counts.push((c, 1)),
            }
        }
    }
    counts.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    counts
}

/// "rows 12, 40" / "row 12" / "rows 12, 40 and 8 more".
fn list_rows(rows: &[usize], total: usize) -> String {
    let names: Vec<String> = rows.iter().map(|r| r.to_string()).collect();
    let head = if total == 1 { "row" } else { "rows" };
    let more = if total > rows.len() {
        format!(" and {} more", total - rows.len())
    } else {
        String::new()
    };
    format!("{head} {}{more}", names.join(", "))
}

impl Detector for DuplicatesValidParams {
    fn name(&self) -> &'static str {
        NAME
    }

    fn detect(&self, ctx: &Context<'_>) -> Result<DetectorReport> {
        let n = ctx.features.n_rows();
        let groups = duplicate_groups(ctx.features.x.view());
        let mut scores = vec![0.0; n];
        let mut issues = Vec::new();
        let (mut dup_rows, mut conflict_rows, mut conflict_groups) = (0usize, 0usize, 0usize);
        for group in &groups {
            dup_rows += group.len() - 1;
            let counts = ctx
                .labels
                .map(|l| label_counts(group, l))
                .unwrap_or_default();
            let conflicting = counts.len() > 1;
            let majority = counts
                .first()
                .filter(|e| 2 * e.1 > group.len())
                .map(|e| e.0);
            if conflicting {
                conflict_rows += group.len();
                conflict_groups += 1;
            }
            let members: &[usize] = if conflicting { group } else { &group[1..] };
            for &row in members {
                let others: Vec<usize> = group
                    .iter()
                    .copied()
                    .filter(|&r| r != row)
                    .take(self.max_listed)
                    .collect();
                let listed = list_rows(&others, group.len() - 1);
                let other_labels = ctx.labels.map(|l| {
                    others
                        .iter()
                        .map(|&r| l.name(r).to_string())
                        .collect::<Vec<_>>()
                });
                let (kind, score, reason) = match (conflicting, ctx.labels) {
                    (true, Some(l)) => {
                        let quoted: Vec<String> = other_labels
                            .iter()
                            .flatten()
                            .map(|s| format!("'{s}'"))
                            .collect();
                        let score = if l.codes[row].is_some() && l.codes[row] == majority {
                            CONFLICT_MAJORITY_SCORE
                        } else {
                            CONFLICT_SCORE
                        };
                        (
                            IssueKind::ConflictingDuplicate,
                            score,
                            format!(
                                "identical feature values to {listed} but labelled '{}' vs {}",
                                l.name(row),
                                quoted.join(", ")
                            ),
                        )
                    }
                    (_, Some(l)) if l.codes[row].is_some() => (
                        IssueKind::ExactDuplicate,
                        EXACT_SCORE,
                        format!(
                            "identical feature values and label '{}' to {listed}",
                            l.name(row)
                        ),
                    ),
                    _ => (
                        IssueKind::ExactDuplicate,
                        EXACT_SCORE,
                        format!("identical feature values to {listed}"),
                    ),
                };
                scores[row] = score;
                issues.push(RowIssue {
                    row,
                    kind,
                    score,
                    reason,
                    evidence: Evidence::Rows {
                        rows: others,
                        labels: other_labels,
                        distances: None,
                    },
                });
            }
        }
        issues.sort_by_key(|i| i.row);
        let mut findings = Vec::new();
        if dup_rows > 0 {
            let share = dup_rows as f64 / n as f64;
            let severity = if share >= 0.2 {
                Severity::High
            } else if share >= 0.05 {
                Severity::Medium
            } else {
                Severity::Low
            };
            findings.push(DatasetFinding {
                category: "duplicates".to_string(),
                severity,
                finding: format!(
                    "{dup_rows} rows ({:.1}%) repeat an earlier row exactly, in {} groups",
                    100.0 * share,
                    groups.len()
                ),
                recommendation: "drop exact duplicates before splitting into train and test \
                                 so they cannot leak across the split or overweight a few rows"
                    .to_string(),
            });
        }
        if conflict_groups > 0 {
            let share = conflict_rows as f64 / n as f64;
            findings.push(DatasetFinding {
                category: "conflicting_duplicates".to_string(),
                severity: if share >= 0.01 {
                    Severity::High
                } else {
                    Severity::Medium
                },
                finding: format!(
                    "{conflict_groups} groups of identical rows ({conflict_rows} rows, {:.2}%) \
                     carry different labels",
                    100.0 * share
                ),
                recommendation: "relabel or remove the conflicting rows: no model can fit \
                                 both labels for the same input"
                    .to_string(),
            });
        }
        Ok(DetectorReport {
            scores,
            issues,
            findings,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::FeatureMatrix;

    use crate::testdata::{Gen, blobs, matrix, precision_recall};

    fn run(fm: &FeatureMatrix, labels: Option<&Labels>) -> DetectorReport {
        let det = DuplicatesParams::new().check().unwrap();
        crate::testdata::detect(&det, fm, labels, 1, 0).unwrap()
    }

    fn rows_of(r: &DetectorReport, kind: IssueKind) -> Vec<usize> {
        r.issues
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| i.row)
            .collect()
    }

    #[test]
    fn planted_duplicates_found_exactly() {
        let (mut fm, labels) = blobs(500, 3, 5, 3.0, 2);
        let n = fm.n_rows();
        let mut codes = labels.codes.clone();
        let mut g = Gen::new(5);
        let picks = g.sample(n, 90);
        let (mut exact, mut conflict) = (Vec::new(), Vec::new());
        // 30 pairs with the same label, 30 pairs with a flipped label.
        for p in 0..30 {
            let (src, dst) = (picks[p], picks[p + 30]);
            let row = fm.x.row(src).to_owned();
            fm.x.row_mut(dst).assign(&row);
            codes[dst] = codes[src];
            exact.push(src.max(dst));
        }
        for p in 60..90 {
            let src = picks[p];
            let dst = (src + n / 2) % n;
            if picks.contains(&dst) || conflict.contains(&dst) || conflict.contains(&src) {
                continue;
            }
            let row = fm.x.row(src).to_owned();
            fm.x.row_mut(dst).assign(&row);
            codes[dst] = Some((codes[src].unwrap() + 1) % 3);
            conflict.push(src);
            conflict.push(dst);
        }
        assert!(conflict.len() >= 40);
        let labels = Labels {
            codes,
            classes: labels.classes.clone(),
        };
        let r = run(&fm, Some(&labels));
        let (p, rc) = precision_recall(&rows_of(&r, IssueKind::ConflictingDuplicate), &conflict);
        assert_eq!((p, rc), (1.0, 1.0));
        let (p, rc) = precision_recall(&rows_of(&r, IssueKind::ExactDuplicate), &exact);
        assert_eq!((p, rc), (1.0, 1.0));
        let issue = r
            .issues
            .iter()
            .find(|i| i.kind == IssueKind::ConflictingDuplicate)
            .unwrap();
        assert!(issue.reason.starts_with("identical feature values to row "));
        assert!(issue.reason.contains("but labelled 'c"), "{}", issue.reason);
        assert_eq!(issue.score, 0.95);
        assert_eq!(r.findings.len(), 2);
        assert_eq!(
            r.scores.iter().filter(|&&s| s > 0.0).count(),
            r.issues.len()
        );
    }

    #[test]
    fn groups_with_majority_and_without_labels() {
        let x = ndarray::array![
            [1.0, 2.0],
            [0.0, 0.0],
            [1.0, 2.0],
            [1.0, 2.0],
            [-0.0, 0.0],
            [3.0, 3.0]
        ];
        assert_eq!(duplicate_groups(x.view()), vec![vec![0, 2, 3], vec![1, 4]]);
        let fm = matrix(x);
        let labels =
            Labels::from_strings(&[Some("A"), Some("x"), Some("B"), Some("A"), None, Some("A")]);
        let r = run(&fm, Some(&labels));
        // Rows 0, 2, 3 conflict (A, B, A: A is the majority); rows 1/4 agree (4 unknown).
        assert_eq!(rows_of(&r, IssueKind::ConflictingDuplicate), vec![0, 2, 3]);
        assert_eq!(rows_of(&r, IssueKind::ExactDuplicate), vec![4]);
        assert_eq!(r.scores, vec![0.9, 0.0, 0.95, 0.9, 0.6, 0.0]);
        assert_eq!(
            r.issues[1].reason,
            "identical feature values to rows 0, 3 but labelled 'B' vs 'A', 'A'"
        );
        let r = run(&fm, None);
        assert_eq!(rows_of(&r, IssueKind::ExactDuplicate), vec![2, 3, 4]);
        assert_eq!(r.issues[0].reason, "identical feature values to rows 0, 3");
        assert_eq!(r.findings.len(), 1);
        assert_eq!(r.findings[0].severity, Severity::High);
    }

    #[test]
    fn clean_data_has_no_duplicates() {
        let (fm, labels) = blobs(300, 2, 4, 3.0, 8);
        let r = run(&fm, Some(&labels));
        assert!(r.issues.is_empty());
        assert!(r.findings.is_empty());
        assert!(r.scores.iter().all(|&s| s == 0.0));
    }

    #[test]
    fn big_group_lists_a_bounded_number_of_rows() {
        let fm = matrix(ndarray::Array2::ones((200, 3)));
        let r = run(&fm, None);
        assert_eq!(r.issues.len(), 199);
        match &r.issues[5].evidence {
            Evidence::Rows { rows, .. } => assert_eq!(rows.len(), 10),
            other => panic!("{other:?}"),
        }
        assert!(
            r.issues[5].reason.ends_with("and 189 more"),
            "{}",
            r.issues[5].reason
        );
        assert!(DuplicatesParams::new().max_listed(0).check().is_err());
        let empty = matrix(ndarray::Array2::zeros((0, 2)));
        assert!(run(&empty, None).issues.is_empty());
    }
}
