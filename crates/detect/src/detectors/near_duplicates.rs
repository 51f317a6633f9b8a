//! Near-duplicates from the kNN graph, with the threshold rule of cleanlab's
//! near-duplicate check (Northcutt et al., cleanlab `Datalab`, 2023): rows `i` and `j`
//! are near-duplicates when `0 < d(x_i, x_j) < τ`, with
//! `τ = factor × median_i d_1(i)` and `d_1(i)` the distance from row `i` to its
//! nearest row at a non-zero distance (`factor = 0.13` by default). Distance 0 is
//! left to the exact-duplicate detector. A near-duplicate whose close rows carry a
//! different known label is a [`IssueKind::ConflictingNearDuplicate`] (score 0.8 to
//! 0.95, higher the closer), otherwise a [`IssueKind::NearDuplicate`] (0.5 to 0.7).
//! Unflagged rows score `0.5 (τ / d_1)^2`, below 0.5.

use crate::context::{Context, Detector};
use crate::detectors::knn_outlier::fmt_num;
use crate::error::{DetectError, Result};
use crate::issue::{DatasetFinding, DetectorReport, Evidence, IssueKind, RowIssue, Severity};
use crate::score;

const NAME: &str = "near_duplicates";

/// Settings of the near-duplicate detector (unchecked).
#[derive(Debug, Clone, PartialEq)]
pub struct NearDuplicatesParams {
    factor: f64,
}

impl Default for NearDuplicatesParams {
    fn default() -> Self {
        NearDuplicatesParams { factor: 0.13 }
    }
}

impl NearDuplicatesParams {
    /// Defaults: threshold 0.13 × the median nearest-neighbour distance.
    pub fn new() -> Self {
        Self::default()
    }

    /// Rows closer than `factor` × the median nearest-neighbour distance are
    /// near-duplicates.
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// Validate the settings.
    pub fn check(&self) -> Result<NearDuplicatesValidParams> {
        if !(self.factor.is_finite() && self.factor > 0.0 && self.factor < 1.0) {
            return Err(DetectError::InvalidParam {
                detector: NAME,
                name: "factor",
                value: self.factor.to_string(),
                expected: "a number in (0, 1)",
            });
        }
        Ok(NearDuplicatesValidParams {
            factor: self.factor,
        })
    }
}

/// Validated settings of the near-duplicate detector.
#[derive(Debug, Clone, PartialEq)]
pub struct NearDuplicatesValidParams {
    factor: f64,
}

impl NearDuplicatesValidParams {
    /// The threshold factor.
    pub fn factor(&self) -> f64 {
        self.factor
    }
}

impl Detector for NearDuplicatesValidParams {
    fn name(&self) -> &'static str {
        NAME
    }

    fn detect(&self, ctx: &Context<'_>) -> Result<DetectorReport> {
        let graph = ctx.knn;
        let n = ctx.features.n_rows();
        let mut scores = vec![0.0; n];
        if graph.k() == 0 {
            return Ok(DetectorReport {
                scores,
                ..Default::default()
            });
        }
        // Nearest non-zero distance of each row (None: all listed neighbours identical).
        let nearest: Vec<Option<f64>> = graph
            .distances
            .rows()
            .into_iter()
            .map(|r| r.iter().copied().find(|&d| d > 0.0))
            .collect();
        let known: Vec<f64> = nearest.iter().flatten().copied().collect();
        let median = score::median(&known);
        let tau = self.factor * median;
        let mut issues = Vec::new();
        let (mut near_rows, mut conflict_rows) = (0usize, 0usize);
        for i in 0..n {
            let Some(d1) = nearest[i] else { continue };
            if d1 >= tau {
                let t = tau / d1;
                scores[i] = 0.5 * t * t;
                continue;
            }
            let (rows, dists): (Vec<usize>, Vec<f64>) = graph
                .indices
                .row(i)
                .iter()
                .zip(graph.distances.row(i))
                .filter(|&(_, &d)| d > 0.0 && d < tau)
                .map(|(&j, &d)| (j as usize, d))
                .unzip();
            let closeness = 1.0 - d1 / tau;
            let mine = ctx.labels.and_then(|l| l.codes[i]);
            let conflicting: Vec<usize> = match (ctx.labels, mine) {
                (Some(l), Some(c)) => rows
                    .iter()
                    .copied()
                    .filter(|&j| l.codes[j].is_some_and(|cj| cj != c))
                    .collect(),
                _ => Vec::new(),
            };
            let ratio = if median > 0.0 { d1 / median } else { 0.0 };
            let near = format!(
                "nearly identical to row {} (distance {}, {}x the median nearest-row distance)",
                rows[0],
                fmt_num(d1),
                fmt_num(ratio)
            );
            let (kind, score, reason) = match ctx.labels {
                Some(l) if !conflicting.is_empty() => {
                    let c = conflicting[0];
                    (
                        IssueKind::ConflictingNearDuplicate,
                        0.8 + 0.15 * closeness,
                        format!(
                            "{near} but labelled '{}' while row {c} is labelled '{}'",
                            l.name(i),
                            l.name(c)
                        ),
                    )
                }
                _ => (IssueKind::NearDuplicate, 0.5 + 0.2 * closeness, near),
            };
            if kind == IssueKind::ConflictingNearDuplicate {
                conflict_rows += 1;
            } else {
                near_rows += 1;
            }
            scores[i] = score;
            issues.push(RowIssue {
                row: i,
                kind,
                score,
                reason,
                evidence: Evidence::Rows {
                    labels: ctx
                        .labels
                        .map(|l| rows.iter().map(|&j| l.name(j).to_string()).collect()),
                    rows,
                    distances: Some(dists),
                },
            });
        }
        let mut findings = Vec::new();
        let total = near_rows + conflict_rows;
        if total > 0 {
            let share = total as f64 / n as f64;
            findings.push(DatasetFinding {
                category: "near_duplicates".to_string(),
                severity: if conflict_rows as f64 >= 0.01 * n as f64 {
                    Severity::High
                } else if share >= 0.05 || conflict_rows > 0 {
                    Severity::Medium
                } else {
                    Severity::Low
                },
                finding: format!(
                    "{total} rows ({:.1}%) have a near-duplicate closer than {} \
                     ({} x the median nearest-row distance); {conflict_rows} of them \
                     disagree in label",
                    100.0 * share,
                    fmt_num(tau),
                    self.factor
                ),
                recommendation: "review near-duplicates with different labels first; \
                                 deduplicate the rest before splitting train and test"
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
    use crate::context::{FeatureMatrix, Labels};

    use crate::testdata::{Gen, blobs, matrix, precision_recall};

    fn run(fm: &FeatureMatrix, labels: Option<&Labels>) -> DetectorReport {
        let det = NearDuplicatesParams::new().check().unwrap();
        crate::testdata::detect(&det, fm, labels, 10, 0).unwrap()
    }

    fn rows_of(r: &DetectorReport, kind: IssueKind) -> Vec<usize> {
        r.issues
            .iter()
            .filter(|i| i.kind == kind)
            .map(|i| i.row)
            .collect()
    }

    /// Blobs with 40 near-copies (noise 1e-3) with flipped labels and 40 with the
    /// same label; returns the data and the (source, copy) rows of each kind.
    fn planted(dims: usize) -> (FeatureMatrix, Labels, Vec<usize>, Vec<usize>) {
        let (mut fm, labels) = blobs(600, 3, dims, 4.0, 6);
        let n = fm.n_rows();
        let mut codes = labels.codes.clone();
        let mut g = Gen::new(12);
        let picks = g.sample(n, 160);
        let (mut flipped, mut same) = (Vec::new(), Vec::new());
        for p in 0..80 {
            let (src, dst) = (picks[2 * p], picks[2 * p + 1]);
            for c in 0..dims {
                fm.x[[dst, c]] = fm.x[[src, c]] + 1e-3 * g.normal();
            }
            if p < 40 {
                codes[dst] = Some((codes[src].unwrap() + 1) % 3);
                flipped.extend([src, dst]);
            } else {
                codes[dst] = codes[src];
                same.extend([src, dst]);
            }
        }
        let labels = Labels {
            codes,
            classes: labels.classes.clone(),
        };
        (fm, labels, flipped, same)
    }

    #[test]
    fn finds_planted_near_duplicates_with_flipped_labels() {
        let (fm, labels, flipped, same) = planted(8);
        let r = run(&fm, Some(&labels));
        let conflict = rows_of(&r, IssueKind::ConflictingNearDuplicate);
        let (p, rc) = precision_recall(&conflict, &flipped);
        assert!(rc >= 0.95 && p >= 0.95, "precision {p} recall {rc}");
        let near = rows_of(&r, IssueKind::NearDuplicate);
        let (p, rc) = precision_recall(&near, &same);
        assert!(rc >= 0.95 && p >= 0.9, "precision {p} recall {rc}");
        let issue = r
            .issues
            .iter()
            .find(|i| i.kind == IssueKind::ConflictingNearDuplicate)
            .unwrap();
        assert!(issue.score > 0.9);
        assert!(
            issue.reason.starts_with("nearly identical to row ")
                && issue
                    .reason
                    .contains("x the median nearest-row distance) but labelled 'c"),
            "{}",
            issue.reason
        );
        assert_eq!(r.findings.len(), 1);
        let flagged: Vec<usize> = r.issues.iter().map(|i| i.row).collect();
        for (i, &s) in r.scores.iter().enumerate() {
            assert_eq!(s >= 0.5, flagged.contains(&i), "row {i} score {s}");
        }
    }

    #[test]
    fn without_labels_all_are_plain_near_duplicates() {
        let (fm, _, flipped, same) = planted(8);
        let r = run(&fm, None);
        let all: Vec<usize> = flipped.iter().chain(&same).copied().collect();
        let (p, rc) = precision_recall(&rows_of(&r, IssueKind::NearDuplicate), &all);
        assert!(rc >= 0.95 && p >= 0.9, "precision {p} recall {rc}");
        assert!(rows_of(&r, IssueKind::ConflictingNearDuplicate).is_empty());
    }

    #[test]
    fn clean_blobs_have_few_false_alarms() {
        let (fm, labels) = blobs(700, 3, 8, 4.0, 21);
        let r = run(&fm, Some(&labels));
        let rate = r.issues.len() as f64 / fm.n_rows() as f64;
        assert!(rate <= 0.002, "false-alarm rate {rate}");
    }

    #[test]
    fn exact_duplicates_are_left_out() {
        let mut g = Gen::new(3);
        let mut x = ndarray::Array2::from_shape_fn((200, 4), |_| g.normal());
        for i in 0..20 {
            let row = x.row(i).to_owned();
            x.row_mut(100 + i).assign(&row);
        }
        let r = run(&matrix(x), None);
        assert!(r.issues.is_empty(), "{:?}", r.issues.first());
        assert!(NearDuplicatesParams::new().factor(0.0).check().is_err());
        assert!(
            NearDuplicatesParams::new()
                .factor(f64::NAN)
                .check()
                .is_err()
        );
        // Constant data: every neighbour at distance 0, nothing to say.
        let r = run(&matrix(ndarray::Array2::ones((30, 2))), None);
        assert!(r.issues.is_empty());
        let r = run(&matrix(ndarray::array![[0.0]]), None);
        assert_eq!(r.scores, vec![0.0]);
    }
}
