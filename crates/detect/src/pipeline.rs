//! The whole scan: kNN graph once, every detector, combined scores, flagged rows.

use std::time::{Duration, Instant};

use crate::context::{Context, Detector, Progress};
use crate::error::{DetectError, Result};
use crate::features::FeatureSet;
use crate::issue::{DatasetFinding, RowIssue};
use crate::knn::KnnGraph;
use crate::scoring::{self, FlaggedRow, Rank};

/// A detector as the pipeline runs it.
pub struct Registered {
    /// The detector with validated settings.
    pub detector: Box<dyn Detector + Sync>,
    /// Family for score combination (see [`scoring::family`]).
    pub family: &'static str,
    /// Whether it needs a label column.
    pub needs_labels: bool,
    /// Whether its scores enter the combined score.
    pub rank: Rank,
}

/// Unchecked scan settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanParams {
    k: usize,
    seed: u64,
    max_flag_rate: Option<f64>,
}

impl Default for ScanParams {
    fn default() -> Self {
        ScanParams {
            k: 10,
            seed: 0,
            max_flag_rate: None,
        }
    }
}

impl ScanParams {
    /// Neighbours per row in the shared kNN graph.
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }
    /// Seed for every random choice.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }
    /// Flag at most this share of rows (the most suspicious).
    pub fn max_flag_rate(mut self, rate: Option<f64>) -> Self {
        self.max_flag_rate = rate;
        self
    }
    /// Validate.
    pub fn check(self) -> Result<ScanValidParams> {
        if self.k == 0 {
            return Err(DetectError::InvalidParam {
                detector: "scan",
                name: "k",
                value: self.k.to_string(),
                expected: "at least 1",
            });
        }
        if let Some(rate) = self.max_flag_rate
            && !(rate > 0.0 && rate <= 1.0)
        {
            return Err(DetectError::InvalidParam {
                detector: "scan",
                name: "max_flag_rate",
                value: rate.to_string(),
                expected: "a share in (0, 1]",
            });
        }
        Ok(ScanValidParams(self))
    }
}

/// Validated scan settings.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanValidParams(ScanParams);

impl ScanValidParams {
    /// The seed.
    pub fn seed(&self) -> u64 {
        self.0.seed
    }
    /// Neighbours per row.
    pub fn k(&self) -> usize {
        self.0.k
    }
    /// The flag budget.
    pub fn max_flag_rate(&self) -> Option<f64> {
        self.0.max_flag_rate
    }
}

/// One detector's per-row scores.
#[derive(Debug, Clone, PartialEq)]
pub struct DetectorScores {
    /// Detector name.
    pub name: &'static str,
    /// Its family.
    pub family: &'static str,
    /// Whether its scores entered the combined score (see [`scoring::Rank`]).
    pub ranks: bool,
    /// Per-row score in [0, 1].
    pub scores: Vec<f64>,
    /// How many rows it flagged.
    pub flagged: usize,
}

/// A detector's output before its role in the combined score is resolved.
struct Ran {
    name: &'static str,
    family: &'static str,
    rank: Rank,
    flagged: usize,
    scores: Vec<f64>,
}

/// A check that did not run, and why.
#[derive(Debug, Clone, PartialEq)]
pub struct SkippedCheck {
    /// Detector name.
    pub check: &'static str,
    /// Why it did not run.
    pub reason: String,
}

/// Everything a scan found.
#[derive(Debug, Clone)]
pub struct ScanOutput {
    /// Per-detector scores, in run order.
    pub detectors: Vec<DetectorScores>,
    /// Combined per-row suspicion score.
    pub combined: Vec<f64>,
    /// Flagged rows, most serious first.
    pub flagged: Vec<FlaggedRow>,
    /// Dataset-level findings.
    pub findings: Vec<DatasetFinding>,
    /// Checks that were skipped.
    pub skipped: Vec<SkippedCheck>,
    /// Wall time per stage (not part of any deterministic report).
    pub timings: Vec<(String, Duration)>,
}

/// Run every registered detector on the feature set.
pub fn run_scan(
    features: &FeatureSet,
    params: &ScanValidParams,
    detectors: &[Registered],
    progress: &dyn Progress,
) -> Result<ScanOutput> {
    let n = features.matrix.n_rows();
    let mut timings = Vec::new();
    let t = Instant::now();
    let knn = KnnGraph::build(
        features.matrix.x.view(),
        params.k(),
        params.seed(),
        progress,
    );
    timings.push(("knn graph".to_string(), t.elapsed()));

    let labels = features.labels.as_ref();
    let ctx = Context {
        features: &features.matrix,
        labels,
        knn: &knn,
        seed: params.seed(),
        progress,
    };
    let non_finite = features.non_finite_report();
    let mut all_issues: Vec<RowIssue> = non_finite.issues;
    let mut findings = non_finite.findings;
    // Each detector that ran, with its role in the combined score: resolved below,
    // once it is known whether confident learning ran.
    let mut ran = vec![Ran {
        name: "non_finite",
        family: "outliers",
        rank: Rank::Always,
        flagged: all_issues.len(),
        scores: non_finite.scores,
    }];
    if let Some(labels) = labels {
        findings.extend(crate::detectors::label_findings(labels));
    }
    // A label with as many classes as labelled rows is an id, not a class: the
    // label_distribution finding says so, and label checks would flag every row.
    let labels_like_ids = labels.is_some_and(|l| {
        let counts = l.counts();
        counts.iter().sum::<usize>() >= 2 && counts.iter().all(|&c| c <= 1)
    });
    let mut skipped = Vec::new();
    for reg in detectors {
        let name = reg.detector.name();
        if reg.needs_labels && labels.is_none() {
            skipped.push(SkippedCheck {
                check: name,
                reason: "no label column given (--label)".to_string(),
            });
            continue;
        }
        if reg.needs_labels && labels_like_ids {
            skipped.push(SkippedCheck {
                check: name,
                reason: "every labelled row has its own class".to_string(),
            });
            continue;
        }
        let t = Instant::now();
        let report = match reg.detector.detect(&ctx) {
            Ok(r) => r,
            Err(DetectError::TooFewRows { needed, got, .. }) => {
                skipped.push(SkippedCheck {
                    check: name,
                    reason: format!("needs at least {needed} rows, the table has {got}"),
                });
                continue;
            }
            Err(e) => return Err(e),
        };
        timings.push((name.to_string(), t.elapsed()));
        debug_assert_eq!(report.scores.len(), n, "{name} returned a score per row");
        ran.push(Ran {
            name,
            family: reg.family,
            rank: reg.rank,
            flagged: report.issues.len(),
            scores: report.scores,
        });
        all_issues.extend(report.issues);
        findings.extend(report.findings);
    }
    let decisive = scoring::Decisive {
        label_model_ran: ran.iter().any(|r| r.name == "confident_learning"),
    };
    let outputs: Vec<DetectorScores> = ran
        .into_iter()
        .map(|r| DetectorScores {
            name: r.name,
            family: r.family,
            ranks: decisive.ranks(r.rank),
            scores: r.scores,
            flagged: r.flagged,
        })
        .collect();
    let family_scores: Vec<(&'static str, &[f64])> = outputs
        .iter()
        .filter(|d| d.ranks)
        .map(|d| (d.family, d.scores.as_slice()))
        .collect();
    let combined = scoring::combine(n, &family_scores);
    let flagged = scoring::flag_rows(all_issues, &combined, decisive, params.max_flag_rate());
    findings.sort_by(|a, b| {
        b.severity
            .cmp(&a.severity)
            .then(a.category.cmp(&b.category))
    });
    Ok(ScanOutput {
        detectors: outputs,
        combined,
        flagged,
        findings,
        skipped,
        timings,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Labels;
    use crate::registry::{DetectorConfig, registry};
    use crate::testdata;

    /// Three separated blobs with six flipped labels, scanned with every detector
    /// but `disable`.
    fn scan(disable: &[&str]) -> ScanOutput {
        let (matrix, _) = testdata::blobs(60, 3, 4, 6.0, 7);
        let n = matrix.n_rows();
        let names: Vec<Option<String>> = (0..n)
            .map(|i| Some(format!("c{}", (i + usize::from(i < 6)) % 3)))
            .collect();
        let set = FeatureSet {
            columns_used: (0..matrix.x.ncols()).map(|d| format!("f{d}")).collect(),
            matrix,
            labels: Some(Labels::from_strings(&names)),
            ids: None,
            skipped: vec![],
            non_finite: vec![],
        };
        let config = DetectorConfig {
            disable: disable.iter().map(|d| d.to_string()).collect(),
            ..DetectorConfig::default()
        };
        let detectors = registry(&config).unwrap();
        let params = ScanParams::default().check().unwrap();
        run_scan(&set, &params, &detectors, &crate::NoProgress).unwrap()
    }

    #[test]
    fn only_ranking_detectors_enter_the_combined_score() {
        for (disable, knn_label_ranks) in [(&[][..], false), (&["confident_learning"][..], true)] {
            let out = scan(disable);
            let n = out.combined.len();
            let ranks = |d: &&DetectorScores| match d.name {
                "clustering" | "spectral_signature" | "activation_clustering" => false,
                "knn_label" => knn_label_ranks,
                _ => true,
            };
            let ranking: Vec<(&'static str, &[f64])> = out
                .detectors
                .iter()
                .filter(ranks)
                .map(|d| (d.family, d.scores.as_slice()))
                .collect();
            assert_eq!(out.combined, scoring::combine(n, &ranking), "{disable:?}");
            for d in &out.detectors {
                assert_eq!(d.ranks, ranks(&d), "{disable:?} {}", d.name);
            }
            // The corroborating detectors did score rows, so leaving them out mattered.
            let every: Vec<(&'static str, &[f64])> = out
                .detectors
                .iter()
                .map(|d| (d.family, d.scores.as_slice()))
                .collect();
            assert_ne!(out.combined, scoring::combine(n, &every), "{disable:?}");
            // The flipped rows are still ranked above every other row.
            let mut order: Vec<usize> = (0..n).collect();
            order.sort_by(|&a, &b| out.combined[b].total_cmp(&out.combined[a]));
            let mut top: Vec<usize> = order[..6].to_vec();
            top.sort_unstable();
            assert_eq!(top, (0..6).collect::<Vec<_>>(), "{disable:?}");
        }
    }
}
