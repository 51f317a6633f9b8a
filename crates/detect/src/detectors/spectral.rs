//! Spectral signatures: Tran, Li and Madry (2018), "Spectral Signatures in Backdoor
//! Attacks" (NeurIPS).
//!
//! For each class `c` with rows `x_i`, take the class mean `μ_c`, centre the rows and
//! find the top right singular vector `v` of the centred class matrix `[x_i − μ_c]`,
//! which is the top eigenvector of the `d × d` class covariance
//! `Σ_c = 1/n_c Σ_i (x_i − μ_c)(x_i − μ_c)ᵀ`. The outlier score of a row is its squared
//! projection on that direction,
//!
//! ```text
//! τ_i = ((x_i − μ_c) · v)²
//! ```
//!
//! A poisoned sub-population (rows relabelled into `c` and shifted by a trigger) moves
//! the class covariance along the shift, so `v` points at it and the poisoned rows get
//! the largest `τ_i`. The covariance is built in parallel over fixed row chunks (so the
//! result does not depend on the thread count) and decomposed with a symmetric
//! eigensolver; the `n × d` matrix is never decomposed.
//!
//! **Centring.** IBM ART's shipped `SpectralSignatureDefense` takes the SVD of the
//! *uncentred* class matrix. Its top singular vector then mostly points at the class
//! mean, and rows are ranked by their position along the mean rather than by how far
//! they deviate from the class; a trigger orthogonal to the mean goes unnoticed. We
//! centre, as the paper does (the unit test `uncentred_variant_misses_what_we_catch`
//! shows the difference).
//!
//! **Flag rule.** The paper removes the top `1.5 ε n_c` scores, which needs the poison
//! rate `ε`. We do not assume it: with `p_i = (x_i − μ_c) · v`, a row is flagged when
//! its robust z-score `|p_i − median(p)| / (1.4826 · MAD(p))` within the class exceeds
//! `z_threshold` (equivalently, its squared projection about the robust centre exceeds
//! `z_threshold²` robust variances). On a clean Gaussian class this flags about 0.05%
//! of rows at the default 3.5. An optional budget `max_fraction` additionally caps the
//! flags per class at `⌈max_fraction · n_c⌉` (the paper's `1.5 ε` when `ε` is known).
//! The per-row score is [`unit_from_z`] of that z, so 0.5 sits at the threshold.
//!
//! **Rounds.** When the flagged rows of a class form a one-sided group (at least 3,
//! at least 90% on the same side of the robust centre, unlike symmetric Gaussian
//! tails), they are set aside and the direction is recomputed on the rest, up to
//! `rounds` times: a class poisoned from two source classes holds two
//! sub-populations, and one direction only separates one of them.
//!
//! Classes with fewer than `min_class_rows` rows and rows without a label are skipped
//! (score 0).

use linfa_linalg::eigh::{EigSort, Eigh};
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rayon::prelude::*;

use super::components::class_components;
use crate::context::{Context, Detector, FeatureMatrix, Labels};
use crate::error::{DetectError, Result};
use crate::issue::{DatasetFinding, DetectorReport, Evidence, IssueKind, RowIssue, Severity};
use crate::score::{DEFAULT_Z_FLAG, median, robust_z, unit_from_z};

const NAME: &str = "spectral_signature";
/// Seed of the random start block for tables wider than the exact eigensolver's limit
/// (the converged direction does not depend on it beyond rounding).
const SUBSPACE_SEED: u64 = 0x5eed_5eed;

/// Rows per parallel work unit in the moment computations. Fixed, so sums are
/// added in the same order whatever the number of threads.
pub(crate) const CHUNK: usize = 4096;

/// Unchecked settings for the spectral-signature detector.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralSignatureParams {
    z_threshold: f64,
    max_fraction: Option<f64>,
    min_class_rows: usize,
    top_features: usize,
    rounds: usize,
}

/// Validated settings; runs the detector.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectralSignatureValidParams(SpectralSignatureParams);

impl Default for SpectralSignatureParams {
    fn default() -> Self {
        SpectralSignatureParams {
            z_threshold: DEFAULT_Z_FLAG,
            max_fraction: None,
            min_class_rows: 10,
            top_features: 3,
            rounds: 3,
        }
    }
}

impl SpectralSignatureParams {
    /// Defaults: z threshold 3.5, no budget, classes of at least 10 rows, 3 features
    /// in the evidence, up to 3 rounds.
    pub fn new() -> Self {
        Self::default()
    }

    /// Robust z of the projection above which a row is flagged (> 0).
    pub fn z_threshold(mut self, z: f64) -> Self {
        self.z_threshold = z;
        self
    }

    /// Optional cap on the flagged share of each class, in (0, 1]; the paper's
    /// `1.5 ε` when the poison rate `ε` is known.
    pub fn max_fraction(mut self, fraction: Option<f64>) -> Self {
        self.max_fraction = fraction;
        self
    }

    /// Classes with fewer rows are skipped (at least 3).
    pub fn min_class_rows(mut self, rows: usize) -> Self {
        self.min_class_rows = rows;
        self
    }

    /// How many features to name in each issue's evidence (at least 1).
    pub fn top_features(mut self, n: usize) -> Self {
        self.top_features = n;
        self
    }

    /// Maximum rounds per class (at least 1). A round that flags a one-sided group
    /// sets it aside and recomputes the direction on the remaining rows.
    pub fn rounds(mut self, rounds: usize) -> Self {
        self.rounds = rounds;
        self
    }

    /// Validate the settings.
    pub fn check(&self) -> Result<SpectralSignatureValidParams> {
        let bad = |name, value: String, expected| DetectError::InvalidParam {
            detector: NAME,
            name,
            value,
            expected,
        };
        if !(self.z_threshold > 0.0 && self.z_threshold.is_finite()) {
            return Err(bad(
                "z_threshold",
                self.z_threshold.to_string(),
                "a finite number > 0",
            ));
        }
        if let Some(f) = self.max_fraction
            && !(f > 0.0 && f <= 1.0)
        {
            return Err(bad("max_fraction", f.to_string(), "a share in (0, 1]"));
        }
        if self.min_class_rows < 3 {
            return Err(bad(
                "min_class_rows",
                self.min_class_rows.to_string(),
                "at least 3",
            ));
        }
        if self.top_features == 0 {
            return Err(bad("top_features", "0".into(), "at least 1"));
        }
        if self.rounds == 0 {
            return Err(bad("rounds", "0".into(), "at least 1"));
        }
        Ok(SpectralSignatureValidParams(self.clone()))
    }
}

impl Detector for SpectralSignatureValidParams {
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
            .start("spectral signatures", groups.len() as u64);
        for (class, rows) in &groups {
            self.detect_class(fm, labels, *class, rows, &mut report)?;
            ctx.progress.advance(1);
        }
        ctx.progress.finish();
        report.issues.sort_by_key(|i| i.row);
        Ok(report)
    }
}

impl SpectralSignatureValidParams {
    /// Run up to `rounds` rounds on one class; after a round that found a one-sided
    /// group, its rows are set aside and the direction is recomputed on the rest
    /// (a second poisoned sub-population then gets its own direction).
    fn detect_class(
        &self,
        fm: &FeatureMatrix,
        labels: &Labels,
        class: u32,
        rows: &[usize],
        report: &mut DetectorReport,
    ) -> Result<()> {
        let p = &self.0;
        let class_name = &labels.classes[class as usize];
        let budget = p
            .max_fraction
            .map_or(usize::MAX, |f| (f * rows.len() as f64).ceil() as usize);
        let mut active = rows.to_vec();
        let mut n_flag = 0;
        let mut n_grouped = 0;
        for round in 0..p.rounds {
            if active.len() < p.min_class_rows || n_flag >= budget {
                break;
            }
            let (flagged, one_sided) =
                self.round(fm, class_name, &active, budget - n_flag, round > 0, report)?;
            n_flag += flagged.len();
            if !one_sided {
                break;
            }
            n_grouped += flagged.len();
            let flagged: std::collections::BTreeSet<usize> = flagged.into_iter().collect();
            active.retain(|i| !flagged.contains(i));
        }
        if n_grouped > 0 {
            let share = n_grouped as f64 / rows.len() as f64;
            report.findings.push(DatasetFinding {
                category: NAME.to_string(),
                severity: if n_grouped >= 10 && share >= 0.005 {
                    Severity::High
                } else {
                    Severity::Medium
                },
                finding: format!(
                    "class '{class_name}' has {n_grouped} rows ({:.1}%) far out on one side of \
                     its top singular direction, a typical signature of a backdoor sub-population",
                    100.0 * share
                ),
                recommendation: format!(
                    "inspect the spectral_signature rows of class '{class_name}' and remove them \
                     if they share a trigger pattern"
                ),
            });
        }
        Ok(())
    }

    /// One round on the `active` rows of a class: flag, score and explain. Returns
    /// the flagged rows and whether they form a one-sided group (at least 3 rows,
    /// at least 90% on the same side of the robust centre). With `require_group`
    /// (rounds after the first) flags that do not form a group are dropped.
    fn round(
        &self,
        fm: &FeatureMatrix,
        class_name: &str,
        active: &[usize],
        budget: usize,
        require_group: bool,
        report: &mut DetectorReport,
    ) -> Result<(Vec<usize>, bool)> {
        let x = fm.x.view();
        let p = &self.0;
        let mean = class_mean(x, active);
        let (vals, vecs) = class_components(x, active, &mean, 1, SUBSPACE_SEED)?;
        if vals[0].is_nan() || vals[0] <= 1e-12 {
            return Ok((Vec::new(), false)); // constant class: no direction
        }
        let v = vecs.column(0).to_owned();
        let proj: Vec<f64> = active
            .par_iter()
            .map(|&i| (&x.row(i) - &mean).dot(&v))
            .collect();
        let z = robust_z(&proj);
        let sq: Vec<f64> = proj.iter().map(|q| q * q).collect();
        let med_sq = median(&sq);
        let mut flagged: Vec<usize> = (0..active.len())
            .filter(|&k| z[k].abs() > p.z_threshold)
            .collect();
        flagged.sort_by(|&a, &b| z[b].abs().total_cmp(&z[a].abs()).then(a.cmp(&b)));
        flagged.truncate(budget);
        let positive = flagged.iter().filter(|&&k| z[k] > 0.0).count();
        let majority = positive.max(flagged.len() - positive);
        let one_sided = flagged.len() >= 3 && majority * 10 >= flagged.len() * 9;
        if require_group && !one_sided {
            return Ok((Vec::new(), false));
        }
        for (k, &i) in active.iter().enumerate() {
            let s = unit_from_z(z[k].abs(), p.z_threshold);
            report.scores[i] = report.scores[i].max(s);
        }
        for &k in &flagged {
            let i = active[k];
            let contrib = (&x.row(i) - &mean) * &v;
            let mut order: Vec<usize> = (0..contrib.len()).collect();
            order.sort_by(|&a, &b| {
                contrib[b]
                    .abs()
                    .total_cmp(&contrib[a].abs())
                    .then(a.cmp(&b))
            });
            order.truncate(p.top_features);
            let top: Vec<(String, f64)> = order
                .iter()
                .map(|&j| (fm.features[j].name.clone(), contrib[j]))
                .collect();
            let drivers: Vec<String> = order
                .iter()
                .map(|&j| {
                    let f = &fm.features[j];
                    match (f.raw_value(x[[i, j]]), f.raw_value(mean[j])) {
                        (Some(val), Some(m)) => format!(
                            "{}={} (class mean {})",
                            f.name,
                            fmt_value(val),
                            fmt_value(m)
                        ),
                        _ => f.name.clone(),
                    }
                })
                .collect();
            let ratio = if med_sq > 1e-300 {
                format!("{}x the class median", fmt_value(sq[k] / med_sq))
            } else {
                "far above the class median".to_string()
            };
            report.issues.push(RowIssue {
                row: i,
                kind: IssueKind::SpectralSignature,
                score: report.scores[i],
                reason: format!(
                    "squared projection on class '{class_name}''s top singular direction is \
                     {ratio} (robust z {:.1}), driven by {}",
                    z[k].abs(),
                    drivers.join(", ")
                ),
                evidence: Evidence::Features { top },
            });
        }
        Ok((flagged.into_iter().map(|k| active[k]).collect(), one_sided))
    }
}

/// Rows of each class with at least `min_rows` rows, by class code.
pub(crate) fn class_groups(labels: &Labels, min_rows: usize) -> Vec<(u32, Vec<usize>)> {
    let mut groups: Vec<Vec<usize>> = vec![Vec::new(); labels.n_classes()];
    for (i, c) in labels.codes.iter().enumerate() {
        if let Some(c) = c {
            groups[*c as usize].push(i);
        }
    }
    groups
        .into_iter()
        .enumerate()
        .filter(|(_, rows)| rows.len() >= min_rows)
        .map(|(c, rows)| (c as u32, rows))
        .collect()
}

/// Mean of the given rows of `x`, summed in fixed chunks (thread-count independent).
pub(crate) fn class_mean(x: ArrayView2<'_, f64>, rows: &[usize]) -> Array1<f64> {
    let d = x.ncols();
    let partial: Vec<Array1<f64>> = rows
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut s = Array1::zeros(d);
            for &i in chunk {
                s += &x.row(i);
            }
            s
        })
        .collect();
    let mut sum = Array1::zeros(d);
    for s in partial {
        sum += &s;
    }
    sum / rows.len().max(1) as f64
}

/// Covariance `1/n Σ (x_i − mean)(x_i − mean)ᵀ` of the given rows, `d × d`, computed
/// as a sum of per-chunk Gram matrices added in a fixed order.
pub(crate) fn centred_covariance(
    x: ArrayView2<'_, f64>,
    rows: &[usize],
    mean: &Array1<f64>,
) -> Array2<f64> {
    let d = x.ncols();
    let partial: Vec<Array2<f64>> = rows
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut c = x.select(Axis(0), chunk);
            c -= mean;
            c.t().dot(&c)
        })
        .collect();
    let mut sum = Array2::zeros((d, d));
    for s in partial {
        sum += &s;
    }
    sum / rows.len().max(1) as f64
}

/// The `k` largest eigenvalues of a symmetric matrix and their eigenvectors (as
/// columns), largest first. Each eigenvector's sign is fixed so that its largest
/// component is positive, for determinism.
pub(crate) fn top_components(sym: &Array2<f64>, k: usize) -> Result<(Array1<f64>, Array2<f64>)> {
    let (vals, vecs) = sym
        .eigh()
        .map_err(|e| DetectError::Numerical {
            detector: NAME,
            step: "covariance eigendecomposition",
            message: e.to_string(),
        })?
        .sort_eig_desc();
    let k = k.min(vals.len());
    let cols: Vec<usize> = (0..k).collect();
    let mut out = vecs.select(Axis(1), &cols);
    fix_signs(&mut out);
    Ok((vals.select(Axis(0), &cols), out))
}

/// Flip each column so that its largest-magnitude component is positive: eigenvectors
/// are defined up to sign, and this makes the choice deterministic.
pub(crate) fn fix_signs(vectors: &mut Array2<f64>) {
    for mut col in vectors.columns_mut() {
        let big = col
            .iter()
            .copied()
            .fold(0.0f64, |m, v| if v.abs() > m.abs() { v } else { m });
        if big < 0.0 {
            col.mapv_inplace(|v| -v);
        }
    }
}

/// A short human form of a number: no more digits than a reader needs.
pub(crate) fn fmt_value(v: f64) -> String {
    let a = v.abs();
    if a >= 100.0 || a == a.trunc() && a < 1e15 {
        format!("{v:.0}")
    } else if a >= 1.0 {
        format!("{v:.2}")
    } else {
        format!("{v:.3}")
    }
}

/// Planted-backdoor data shared by the tests of the class-structure detectors.
#[cfg(test)]
pub(crate) mod planted {
    use crate::context::{FeatureMatrix, Labels};
    use crate::knn::KnnGraph;
    use crate::testdata::{Gen, blobs};

    /// 3 classes × `per_class` rows in 16 dims (blob `separation`); `poison` rows drawn from classes
    /// c1 and c2 get features f0..f2 set to `trigger` and are relabelled to c0.
    /// Returns (features, labels, poisoned rows).
    pub fn backdoor(
        per_class: usize,
        poison: usize,
        trigger: f64,
        separation: f64,
        seed: u64,
    ) -> (FeatureMatrix, Labels, Vec<usize>) {
        let (mut fm, mut labels) = blobs(per_class, 3, 16, separation, seed);
        let mut g = Gen::new(seed ^ 0x9e37);
        let others: Vec<usize> = (0..fm.n_rows()).filter(|i| i % 3 != 0).collect();
        let picked: Vec<usize> = g
            .sample(others.len(), poison)
            .into_iter()
            .map(|k| others[k])
            .collect();
        for &i in &picked {
            for j in 0..3 {
                fm.x[[i, j]] = trigger;
            }
            labels.codes[i] = Some(0);
        }
        (fm, labels, picked)
    }

    /// An empty kNN graph for contexts of detectors that do not use it.
    pub fn no_knn() -> KnnGraph {
        KnnGraph::from_rows(Vec::new(), 0)
    }
}

#[cfg(test)]
mod tests {
    use super::planted::{backdoor, no_knn};
    use super::*;
    use crate::context::NoProgress;
    use crate::testdata::{Gen, blobs, matrix, precision_recall};

    fn run(
        params: &SpectralSignatureParams,
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
        let mut worst = (1.0f64, 1.0f64);
        for seed in 0..5 {
            let (fm, labels, truth) = backdoor(500, 30, 4.0, 1.0, seed);
            let r = run(&SpectralSignatureParams::new(), &fm, &labels);
            let (p, rec) = precision_recall(&flagged(&r), &truth);
            worst = (worst.0.min(p), worst.1.min(rec));
            assert_eq!(r.scores.len(), fm.n_rows());
            assert!(r.issues.iter().all(|i| i.score >= 0.5 && i.score <= 1.0));
            assert!(!r.findings.is_empty(), "one-sided group should be reported");
        }
        assert!(
            worst.0 >= 0.9 && worst.1 >= 0.95,
            "precision/recall {worst:?}"
        );
    }

    #[test]
    fn rounds_catch_poison_from_two_source_classes() {
        // No trigger: rows of c1 and c2 relabelled to c0 form two sub-populations.
        let mean_recall = |rounds: usize| {
            let mut sum = 0.0;
            for seed in 0..10 {
                let (fm, labels, truth) = backdoor(500, 30, 0.0, 1.0, seed);
                let r = run(&SpectralSignatureParams::new().rounds(rounds), &fm, &labels);
                let (p, rec) = precision_recall(&flagged(&r), &truth);
                assert!(p >= 0.9, "precision {p}");
                sum += rec;
            }
            sum / 10.0
        };
        let (one, three) = (mean_recall(1), mean_recall(3));
        assert!(
            three >= 0.8 && one <= 0.75,
            "recall 1 round {one}, 3 rounds {three}"
        );
    }

    #[test]
    fn reason_names_class_and_drivers() {
        let (fm, labels, truth) = backdoor(500, 30, 4.0, 1.0, 3);
        let r = run(&SpectralSignatureParams::new(), &fm, &labels);
        let issue = r.issues.iter().find(|i| truth.contains(&i.row)).unwrap();
        assert!(
            issue.reason.contains("class 'c0''s top singular direction"),
            "{}",
            issue.reason
        );
        assert!(
            issue.reason.contains("x the class median"),
            "{}",
            issue.reason
        );
        match &issue.evidence {
            Evidence::Features { top } => assert_eq!(top.len(), 3),
            e => panic!("unexpected evidence {e:?}"),
        }
    }

    /// A class far from the origin with a trigger orthogonal to its mean: the
    /// uncentred top singular vector points at the mean and misses the poison.
    fn far_class_with_orthogonal_trigger(seed: u64) -> (FeatureMatrix, Labels, Vec<usize>) {
        let (n, d) = (500, 16);
        let mut g = Gen::new(seed);
        let mut x = Array2::zeros((n, d));
        for v in x.iter_mut() {
            *v = 10.0 + g.normal();
        }
        let truth = g.sample(n, 15);
        for &i in &truth {
            x[[i, 0]] += 5.0;
            x[[i, 1]] -= 5.0;
        }
        let names: Vec<Option<&str>> = vec![Some("B"); n];
        (matrix(x), Labels::from_strings(&names), truth)
    }

    /// ART's variant: top right singular vector of the uncentred class matrix,
    /// score = squared projection of the uncentred row, same robust flag rule.
    fn uncentred_flags(fm: &FeatureMatrix, z_threshold: f64) -> Vec<usize> {
        let x = fm.x.view();
        let gram = x.t().dot(&x);
        let (_, vecs) = top_components(&gram, 1).unwrap();
        let proj: Vec<f64> = x
            .rows()
            .into_iter()
            .map(|r| r.dot(&vecs.column(0)))
            .collect();
        let z = robust_z(&proj);
        (0..proj.len())
            .filter(|&i| z[i].abs() > z_threshold)
            .collect()
    }

    #[test]
    fn uncentred_variant_misses_what_we_catch() {
        for seed in 0..3 {
            let (fm, labels, truth) = far_class_with_orthogonal_trigger(seed);
            let ours = run(&SpectralSignatureParams::new(), &fm, &labels);
            let (p, r) = precision_recall(&flagged(&ours), &truth);
            assert!(p >= 0.9 && r >= 0.9, "centred: precision {p}, recall {r}");
            let (_, r_unc) = precision_recall(&uncentred_flags(&fm, DEFAULT_Z_FLAG), &truth);
            assert!(r_unc <= 0.2, "uncentred recall {r_unc}");
            // Even told the poison count (top 1.5 eps), the uncentred ranking misses.
            let x = fm.x.view();
            let (_, vecs) = top_components(&x.t().dot(&x), 1).unwrap();
            let mut order: Vec<(f64, usize)> = x
                .rows()
                .into_iter()
                .enumerate()
                .map(|(i, r)| (r.dot(&vecs.column(0)).powi(2), i))
                .collect();
            order.sort_by(|a, b| b.0.total_cmp(&a.0));
            let top: Vec<usize> = order.iter().take(23).map(|o| o.1).collect();
            let (_, r_top) = precision_recall(&top, &truth);
            assert!(r_top <= 0.3, "uncentred top-1.5eps recall {r_top}");
        }
    }

    #[test]
    fn clean_data_gives_few_flags() {
        let mut total = 0;
        for seed in 0..5 {
            let (fm, labels) = blobs(500, 3, 16, 1.0, 100 + seed);
            let r = run(&SpectralSignatureParams::new(), &fm, &labels);
            total += r.issues.len();
            assert!(
                r.issues.len() <= 6,
                "{} flags on 1500 clean rows",
                r.issues.len()
            );
            assert!(r.findings.is_empty());
        }
        assert!(total <= 10, "{total} flags on 7500 clean rows");
    }

    #[test]
    fn budget_caps_flags_per_class() {
        let (fm, labels, _) = backdoor(500, 30, 4.0, 1.0, 1);
        let r = run(
            &SpectralSignatureParams::new().max_fraction(Some(0.02)),
            &fm,
            &labels,
        );
        // Class c0 has 530 rows: at most ceil(0.02 * 530) = 11 flags there.
        let in_c0 = r
            .issues
            .iter()
            .filter(|i| labels.codes[i.row] == Some(0))
            .count();
        assert_eq!(in_c0, 11);
    }

    #[test]
    fn one_class_and_tiny_classes() {
        let (fm, labels, truth) = far_class_with_orthogonal_trigger(9);
        // Add two rows of a tiny class far away: skipped, never flagged.
        let mut x = fm.x.clone();
        x.push_row(ndarray::Array1::from_elem(16, 50.0).view())
            .unwrap();
        x.push_row(ndarray::Array1::from_elem(16, -50.0).view())
            .unwrap();
        let mut names: Vec<Option<&str>> = vec![Some("B"); 500];
        names.extend([Some("A"), Some("A")]);
        let labels2 = Labels::from_strings(&names);
        let fm2 = matrix(x);
        let r = run(
            &SpectralSignatureParams::new().min_class_rows(3),
            &fm2,
            &labels2,
        );
        assert_eq!(r.scores[500], 0.0);
        assert_eq!(r.scores[501], 0.0);
        let (p, rec) = precision_recall(&flagged(&r), &truth);
        assert!(p >= 0.9 && rec >= 0.9);
        let _ = labels;
    }

    #[test]
    fn constant_class_and_missing_labels() {
        let mut x = Array2::from_elem((40, 4), 1.0);
        for i in 20..40 {
            x[[i, 0]] = i as f64;
        }
        x[[3, 1]] = 1.0; // class A is fully constant
        let mut names: Vec<Option<&str>> = vec![Some("A"); 20];
        names.extend(vec![Some("B"); 19]);
        names.push(None);
        let labels = Labels::from_strings(&names);
        let r = run(&SpectralSignatureParams::new(), &matrix(x), &labels);
        assert!(r.scores[..20].iter().all(|&s| s == 0.0));
        assert_eq!(r.scores[39], 0.0);
        assert!(r.issues.is_empty());
    }

    #[test]
    fn deterministic_across_runs_and_thread_counts() {
        let (fm, labels, _) = backdoor(500, 30, 4.0, 1.0, 4);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let a = one.install(|| run(&SpectralSignatureParams::new(), &fm, &labels));
        let b = three.install(|| run(&SpectralSignatureParams::new(), &fm, &labels));
        assert_eq!(a.scores, b.scores);
        assert_eq!(a.issues, b.issues);
        assert_eq!(a.findings, b.findings);
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
        let det = SpectralSignatureParams::new().check().unwrap();
        assert!(matches!(
            det.detect(&ctx),
            Err(DetectError::NeedsLabels { .. })
        ));
        assert!(
            SpectralSignatureParams::new()
                .z_threshold(0.0)
                .check()
                .is_err()
        );
        assert!(
            SpectralSignatureParams::new()
                .z_threshold(f64::NAN)
                .check()
                .is_err()
        );
        assert!(
            SpectralSignatureParams::new()
                .max_fraction(Some(0.0))
                .check()
                .is_err()
        );
        assert!(
            SpectralSignatureParams::new()
                .max_fraction(Some(1.5))
                .check()
                .is_err()
        );
        assert!(
            SpectralSignatureParams::new()
                .min_class_rows(2)
                .check()
                .is_err()
        );
        assert!(
            SpectralSignatureParams::new()
                .top_features(0)
                .check()
                .is_err()
        );
        assert!(SpectralSignatureParams::new().rounds(0).check().is_err());
    }

    #[test]
    fn formats_values_briefly() {
        assert_eq!(fmt_value(4057.3), "4057");
        assert_eq!(fmt_value(4.0), "4");
        assert_eq!(fmt_value(2.345), "2.35");
        assert_eq!(fmt_value(-0.01234), "-0.012");
    }
}
