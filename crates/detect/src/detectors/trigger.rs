//! Tabular backdoor triggers: Pleiter, Tajalli, Koffas, Abad, Xu, Larson and Picek
//! (2023), "Tabdoor: Backdoor Vulnerabilities in Transformer-based Neural Networks
//! for Tabular Data".
//!
//! A dirty-label tabular backdoor writes fixed trigger values into one to three
//! feature columns of a small set of rows and relabels those rows to the target
//! class. The value is either *out of bounds* (far beyond the column's range) or
//! *in bounds* (inside it, e.g. the column's most frequent value). The rows then
//! share a value — or a tuple of values — that is rare overall, concentrated in one
//! label, and at odds with the rest of each row. We look for exactly that.
//!
//! **Cells.** A cell is the set of rows carrying fixed values in 1–3 columns of the
//! feature matrix (exact equality; robust scaling is affine, so equal raw values
//! stay equal; a one-hot column at 1 is a categorical level). Every column is
//! sorted once and cut into runs of equal values: `O(n log n)` per column, parallel
//! over columns. A cell is *rare* when `min_support ≤ m ≤ max_support_share · n`.
//!
//! **Screen.** A row is a *suspect* when fewer than half of its neighbours in the
//! shared kNN graph share its label. Value pairs are counted only over suspects and
//! only over columns where the row's value repeats (≥ `min_support` rows), then
//! extended to triples over the pair's suspects (see `tuples`), so the tuple search
//! stays near-linear. Suspects that already carry a single-value candidate are
//! left out of the tuple search: they would make every tuple of their other
//! columns look concentrated.
//!
//! **Label concentration.** For a cell of `m` labelled rows, `k` of them labelled
//! `t`, purity is `k / m` and, with `n_t` of `N` rows labelled `t`, the chance of
//! that much concentration is the hypergeometric tail
//! `p_label = P(X ≥ k), X ~ Hypergeom(N, n_t, m)`.
//!
//! **Conflict with the rest of the row.** A rare, pure value can be a genuinely
//! predictive feature. What a trigger adds is that its rows look like *another*
//! class once the trigger columns are ignored. For the cell's rows labelled `t` (a
//! seeded sample of 512 in larger cells) we recompute `k`-NN votes on every column
//! except the cell's, against a seeded sample of `reference_rows` labelled rows,
//! skipping the cell's own rows so that rows sharing a trigger cannot vouch for each
//! other (coordinates clipped to ±8 robust units). Each row gets its `t`-share `s`
//! (binned to tenths); it is *contradicted* when `s < ½`.
//!
//! The null is "the value is an ordinary, perhaps predictive, feature": the rows
//! are ordinary rows of class `t`. On a seeded baseline sample (1024 rows, same
//! columns dropped) we measure, per class, `f0_t(s)` — the `t`-share of rows
//! labelled `t` — and `f1_t(s)` — the `t`-share of rows of other classes, i.e. what
//! a relabelled row looks like — and `q_t = P(contradicted | y = t)`. For an
//! anomalous value (below) the cell's own rows are left out of this baseline: on a
//! small table five relabelled rows are a visible share of their class (9 % of a
//! 55-row class) and would make contradicted rows look ordinary for it. Other cells
//! keep them, since those were found among screened suspects and removing them
//! would bias `q_t` down by that selection. Two tests on
//! the `k` checked rows, the better one doubled (Bonferroni over the two):
//! * likelihood ratio: `p ≤ exp(−Σᵢ ln f1_t(sᵢ)/f0_t(sᵢ))` (Markov's inequality,
//!   as `E_f0[f1/f0] = 1`); each term capped at `ln 50`, and `f0` smoothed towards
//!   `f1` with 4 pseudo-rows so thin baseline bins stay conservative;
//! * count: `p = P(X ≥ k_d), X ~ Binomial(k, q_t)` with `k_d` contradicted rows
//!   (stronger when a cell mixes relabelled and genuine rows).
//!
//! Conditioning on the label matters: a pure cell of a hard class is expected to be
//! contradicted at that class's rate, not at the table-wide one. An effect-size
//! floor keeps large legitimate cells with a slight shift from being flagged
//! wholesale: at least `max(0.3, q_t + 0.15)` of the checked rows must be
//! contradicted for rules A and B.
//!
//! **Decision.** With Bonferroni over the family `M` a cell was drawn from (single
//! values: rare runs × classes; pairs: distinct (pair, label) keys among suspects;
//! triples: distinct extensions), and `α/2` per family (singles, tuples) — the
//! singles' share split evenly between anomalous runs (out of range, or repeated in
//! a continuous column) and the others, a weighted Bonferroni whose weights are
//! fixed without looking at labels (see `search`) — a cell is a trigger when
//! * (A) `purity ≥ min_purity`, the effect floor holds and `M · p_conf ≤ α/2` — all
//!   rows labelled `t` are flagged; or
//! * (B) a value is *anomalous* — out of range (beyond `[q.001, q.999] ± ¼
//!   (q.999 − q.001)` of the column's other values) or a *spike* (repeated in a
//!   column where at least half the rows hold a value no other row has: a written,
//!   not measured, value) — `purity ≥ min_purity`, `M · p_label ≤ α/2`, the value
//!   is not explained by imputation (the source column's missing indicator is 1 in
//!   ≥ 90% of the cell), and either the conflict is supportive (effect floor and
//!   `p_conf ≤ 0.01`) or the conflict test is blind for `t` (`k · KL(f1_t ‖ f0_t)
//!   < ln 100`: even relabelled rows would not be expected to reach `p ≤ 0.01`,
//!   because the other columns cannot tell `t` from the other classes) — all rows
//!   labelled `t` are flagged; or
//! * (C) the cell is not pure (its values are also common among clean rows) but the
//!   contradicted rows concentrate in `t` (share ≥ 0.75 of the cell's contradicted
//!   rows), `k_d ≥ min_support` and `M · p_conf ≤ α/2` — only the contradicted rows
//!   labelled `t` are flagged.
//!
//! Candidates that describe the same rows (a trigger written into three continuous
//! columns appears once per column; a triple once per pair it extends) are merged
//! greedily into one cell (see `merge`). Cells are then checked best first, and
//! rows flagged by a better trigger are removed from the later cells (explaining
//! away), so one planted group yields one finding. A "trigger" spanning every
//! column is a duplicated row and is left to the duplicate detector.
//!
//! **Limits.** The smallest detectable group is `min_support` rows (default 3); in
//! practice 5–6 rows on well-separated data, more where the other columns barely
//! separate the classes (the conflict evidence is then weak, and only anomalous
//! values, through rule B's label test, make up for it). A trigger whose value is
//! common among clean rows is found only through a rarer tuple (rule C). A
//! legitimate value that is rare, pure *and* whose rows resemble another class is
//! indistinguishable from a trigger. An out-of-range sentinel code or a default
//! value repeated in a continuous column is flagged only when its rows also
//! conflict with their neighbours, or when the other columns cannot judge label
//! `t` at all (rule B's blind case); imputed values that the feature builder
//! marked missing are never flagged by rule B. Labels
//! are required ([`DetectError::NeedsLabels`] otherwise): a dirty-label trigger is
//! defined by its label.
//!
//! **Cost.** A column-major copy of the matrix, one sort of `u64` keys per column
//! (`O(d · n log n)`, parallel over columns), one pass over the shared kNN graph,
//! `O(|S| · r²)` pair counting over `|S|` suspects with `r` repeated-value columns
//! each, one pass over the smallest run's rows per tuple kept,
//! `O(1024 · reference_rows · d)` per distinct set of trigger columns (baseline)
//! and `O(512 · reference_rows · d)` per checked cell (at most `max_candidates`).
//! Measured: 1,000,000 × 32 with two planted triggers and 5% ordinary label noise
//! in 1.1–2.6 s (release, 2 busy cores).
//!
//! **Scores.** A flagged row scores `0.5 + 0.5 · e/(e + 3) · max(purity, 0.9)`, with
//! `e` the decades by which the deciding p-value beats its threshold; rows of the
//! label in a cell that was checked but not flagged score
//! `0.5 · ln p_conf / ln threshold` (below 0.5); every other row scores 0.

mod conflict;
mod merge;
mod report;
mod search;
mod stats;
#[cfg(test)]
mod tests;
mod tuples;

use std::collections::BTreeMap;

use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;

use self::conflict::{Reference, is_contradicted};
use self::report::{Checked, Rule};
use self::search::{
    CONCENTRATION, Cell, CellStats, NONE, RowFacts, SearchSettings, rows_with_label,
};
use self::stats::{binom_ln_tail, hyper_ln_tail};
use crate::context::{Context, Detector, FeatureMatrix};
use crate::error::{DetectError, Result};
use crate::issue::DetectorReport;

const NAME: &str = "trigger";

/// Baseline rows whose conflict rate is the null rate `q_t`.
const BASELINE_ROWS: usize = 1024;

/// At most this many rows of one cell get the neighbour check; larger cells are
/// tested on a seeded sample of this size.
const QUERY_CAP: usize = 512;

/// Unchecked settings of the backdoor-trigger detector.
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerParams {
    min_support: usize,
    max_support_share: f64,
    min_purity: f64,
    alpha: f64,
    k: usize,
    reference_rows: usize,
    max_candidates: usize,
    max_columns: usize,
}

impl Default for TriggerParams {
    fn default() -> Self {
        TriggerParams {
            min_support: 3,
            max_support_share: 0.05,
            min_purity: 0.9,
            alpha: 1e-3,
            k: 10,
            reference_rows: 2048,
            max_candidates: 64,
            max_columns: 3,
        }
    }
}

impl TriggerParams {
    /// Defaults: support 3 to 5% of rows, purity 0.9, family-wise α = 1e-3, `k = 10`,
    /// 2048 reference rows, 64 candidates, tuples of up to 3 columns.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fewest rows a trigger must appear in (≥ 2).
    pub fn min_support(mut self, rows: usize) -> Self {
        self.min_support = rows;
        self
    }

    /// Largest share of all rows a trigger may appear in, in (0, 1].
    pub fn max_support_share(mut self, share: f64) -> Self {
        self.max_support_share = share;
        self
    }

    /// Smallest share of a trigger's rows carrying the target label, in (0.5, 1].
    pub fn min_purity(mut self, purity: f64) -> Self {
        self.min_purity = purity;
        self
    }

    /// Family-wise false-alarm probability per dataset, in (0, 1).
    pub fn alpha(mut self, alpha: f64) -> Self {
        self.alpha = alpha;
        self
    }

    /// Neighbours that vote in the conflict check (≥ 1).
    pub fn k(mut self, k: usize) -> Self {
        self.k = k;
        self
    }

    /// Rows sampled as neighbour candidates for the conflict check (≥ 100).
    pub fn reference_rows(mut self, rows: usize) -> Self {
        self.reference_rows = rows;
        self
    }

    /// Candidate cells that get the conflict check, best first (≥ 1).
    pub fn max_candidates(mut self, n: usize) -> Self {
        self.max_candidates = n;
        self
    }

    /// Largest number of columns in a trigger tuple, 1 to 3.
    pub fn max_columns(mut self, n: usize) -> Self {
        self.max_columns = n;
        self
    }

    /// Validate the settings.
    pub fn check(&self) -> Result<TriggerValidParams> {
        let bad = |name, value: String, expected| DetectError::InvalidParam {
            detector: NAME,
            name,
            value,
            expected,
        };
        if self.min_support < 2 {
            return Err(bad(
                "min_support",
                self.min_support.to_string(),
                "at least 2",
            ));
        }
        if !(self.max_support_share > 0.0 && self.max_support_share <= 1.0) {
            let v = self.max_support_share.to_string();
            return Err(bad("max_support_share", v, "in (0, 1]"));
        }
        if !(self.min_purity > 0.5 && self.min_purity <= 1.0) {
            return Err(bad(
                "min_purity",
                self.min_purity.to_string(),
                "in (0.5, 1]",
            ));
        }
        if !(self.alpha > 0.0 && self.alpha < 1.0) {
            return Err(bad("alpha", self.alpha.to_string(), "in (0, 1)"));
        }
        if self.k == 0 {
            return Err(bad("k", "0".into(), "at least 1"));
        }
        if self.reference_rows < 100 {
            let v = self.reference_rows.to_string();
            return Err(bad("reference_rows", v, "at least 100"));
        }
        if self.max_candidates == 0 {
            return Err(bad("max_candidates", "0".into(), "at least 1"));
        }
        if !(1..=3).contains(&self.max_columns) {
            return Err(bad(
                "max_columns",
                self.max_columns.to_string(),
                "1, 2 or 3",
            ));
        }
        Ok(TriggerValidParams(self.clone()))
    }
}

/// Validated settings of the backdoor-trigger detector; run it with
/// [`Detector::detect`].
#[derive(Debug, Clone, PartialEq)]
pub struct TriggerValidParams(TriggerParams);

impl Detector for TriggerValidParams {
    fn name(&self) -> &'static str {
        NAME
    }

    fn detect(&self, ctx: &Context<'_>) -> Result<DetectorReport> {
        let labels = ctx
            .labels
            .ok_or(DetectError::NeedsLabels { detector: NAME })?;
        let p = &self.0;
        let fm = ctx.features;
        let (n, d) = (fm.n_rows(), fm.n_features());
        let mut report = DetectorReport {
            scores: vec![0.0; n],
            ..Default::default()
        };
        if n < 2 * p.min_support || d == 0 || labels.n_classes() < 2 {
            return Ok(report);
        }
        let facts = RowFacts::new(labels, ctx.knn);
        let set = SearchSettings {
            min_support: p.min_support,
            max_support: ((p.max_support_share * n as f64) as usize).max(p.min_support),
            min_purity: p.min_purity,
            ln_alpha: (p.alpha / 2.0).ln(),
            max_candidates: p.max_candidates,
            max_columns: p.max_columns,
        };
        let found = search::search(
            &fm.x,
            &fm.features,
            &facts,
            &set,
            labels.n_classes(),
            ctx.progress,
        );
        let cells = merge::merge(found.cells, &facts, &set);
        let reference = Reference::new(
            &fm.x,
            &facts.labels,
            labels.n_classes(),
            (p.reference_rows, BASELINE_ROWS),
            p.k,
            ctx.seed,
        );
        let mut projections = BTreeMap::new();
        let mut checked = Vec::new();
        // Rows flagged by a better trigger are explained; cells are checked best
        // first and lose those rows.
        let mut claimed = vec![false; n];
        for (i, mut cell) in cells.into_iter().enumerate() {
            if cell.cols.len() >= d {
                continue;
            }
            cell.rows.retain(|&r| !claimed[r as usize]);
            let st = CellStats::of(&cell.rows, &facts, p.min_purity);
            if st.m < set.min_support || st.m > set.max_support || st.label == NONE {
                continue;
            }
            let (proj, base) = projections.entry(cell.cols.clone()).or_insert_with(|| {
                let proj = reference.project(&cell.cols);
                let base = proj.baseline();
                (proj, base)
            });
            let seed = ctx.seed ^ (i as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            let imputed = imputed_value(&cell, fm);
            let c = self.check_cell(
                cell,
                st,
                (proj, base),
                &facts,
                (set.ln_alpha, imputed),
                seed,
            );
            if let Some(rule) = c.rule {
                for &(r, contra) in &c.label_rows {
                    claimed[r as usize] |= rule != Rule::Concentrated || contra;
                }
            }
            checked.push(c);
        }
        report::report(p.min_purity, &mut report, checked, fm, labels);
        Ok(report)
    }
}

impl TriggerValidParams {
    /// Run the conflict check on one cell and apply rules A–C.
    fn check_cell(
        &self,
        cell: Cell,
        st: CellStats,
        (proj, base): (&conflict::Projected<'_, '_>, &conflict::Baseline),
        facts: &RowFacts,
        (ln_alpha, imputed): (f64, bool),
        seed: u64,
    ) -> Checked {
        let p = &self.0;
        let with_label = rows_with_label(&cell.rows, &facts.labels, st.label);
        let queries: Vec<u32> = if with_label.len() > QUERY_CAP {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
            let mut idx =
                rand::seq::index::sample(&mut rng, with_label.len(), QUERY_CAP).into_vec();
            idx.sort_unstable();
            idx.into_iter().map(|i| with_label[i]).collect()
        } else {
            with_label.clone()
        };
        let bins = proj.share_bins(&queries, &cell.rows, st.label);
        // An anomalous value (out of range, or a spike) was written, not measured:
        // its rows are not ordinary rows of the class, so they are left out of the
        // null. Other cells were found among screened suspects, and removing their
        // rows would bias the null rate down by that selection.
        let own_free = if cell.out_of_range || cell.spike {
            base.excluding(&cell.rows)
        } else {
            None
        };
        let base = own_free.as_ref().unwrap_or(base);
        // Rows not checked (large cells only) fall back on the screen.
        let mut label_rows: Vec<(u32, bool)> = with_label
            .iter()
            .map(|&r| (r, facts.suspect[r as usize]))
            .collect();
        for (&r, &b) in queries.iter().zip(&bins) {
            if let Ok(pos) = with_label.binary_search(&r) {
                label_rows[pos].1 = is_contradicted(b);
            }
        }
        // Evidence on the rows actually checked: the likelihood ratio of the vote
        // shares, and the count of contradicted rows; the better of the two, ×2.
        let llr: f64 = bins.iter().map(|&b| base.llr(st.label, b)).sum();
        let hits = bins.iter().filter(|&&b| is_contradicted(b)).count();
        let q = base.contradicted_rate(st.label);
        let ln_count = binom_ln_tail(hits, queries.len(), q);
        let ln_conf = ((-llr).min(ln_count) + std::f64::consts::LN_2).min(0.0);
        let checked_share = hits as f64 / queries.len().max(1) as f64;
        let large_effect = checked_share >= (q + 0.15).max(0.3);
        let contradicted = (checked_share * with_label.len() as f64).round() as usize;
        let ln_label = hyper_ln_tail(
            st.k,
            facts.n_labelled,
            facts.class_counts[st.label as usize],
            st.m,
        );
        let ln_thr = ln_alpha - cell.ln_family;
        let pure = st.purity() >= p.min_purity;
        let blind = base.blind(st.label, queries.len());
        let others = st.suspects_all - st.suspects;
        let share = contradicted as f64 / (contradicted + others).max(1) as f64;
        let decades = |ln_p: f64| (ln_thr - ln_p) / std::f64::consts::LN_10;
        let rule = if pure && large_effect && ln_conf <= ln_thr {
            Some(Rule::Conflict)
        } else if pure
            && (cell.out_of_range || cell.spike)
            && ln_label <= ln_thr
            && !imputed
            && (blind || (large_effect && ln_conf <= 0.01f64.ln()))
        {
            Some(Rule::Anomalous)
        } else if !pure
            && contradicted >= p.min_support
            && share >= CONCENTRATION
            && ln_conf <= ln_thr
        {
            Some(Rule::Concentrated)
        } else {
            None
        };
        let excess = match rule {
            Some(Rule::Anomalous) => decades(ln_label),
            Some(_) => decades(ln_conf),
            None => ln_conf / ln_thr,
        };
        Checked {
            cell,
            st,
            label_rows,
            contradicted,
            expected: st.k as f64 * q,
            rule,
            excess,
            blind,
        }
    }
}

/// Whether the cell's value is what imputation wrote: for some column of the cell,
/// the missing-indicator column of the same source is 1 in at least 90% of the
/// cell's rows.
fn imputed_value(cell: &Cell, fm: &FeatureMatrix) -> bool {
    cell.cols.iter().any(|&j| {
        let source = &fm.features[j].source;
        fm.features.iter().enumerate().any(|(mj, f)| {
            f.kind == crate::context::FeatureKind::Missing
                && &f.source == source
                && mj != j
                && cell
                    .rows
                    .iter()
                    .filter(|&&r| fm.x[[r as usize, mj]] >= 0.5)
                    .count()
                    * 10
                    >= cell.rows.len() * 9
        })
    })
}
