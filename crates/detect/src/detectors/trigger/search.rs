//! Candidate search for the trigger detector: per-column value runs, the
//! neighbour screen, value tuples among screened rows, and merging candidates that
//! describe the same rows.

use std::collections::HashMap;
use std::f64::consts::LN_2;

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use super::conflict::MAX_ROW_LLR;
use super::stats::{binom_ln_tail, can_be_out_of_range, hyper_ln_tail};
use crate::context::{FeatureInfo, Labels, Progress};
use crate::knn::KnnGraph;

/// Marker for "no label" / "no group".
pub(super) const NONE: u32 = u32::MAX;

/// Share of a cell's contradicted rows that must carry its label before an impure
/// cell counts as a trigger (rule C): contradictions in a region where classes
/// simply overlap fall on every label.
pub(super) const CONCENTRATION: f64 = 0.75;

/// Settings the search needs (a subset of the detector's).
#[derive(Debug, Clone, Copy)]
pub(super) struct SearchSettings {
    pub min_support: usize,
    pub max_support: usize,
    pub min_purity: f64,
    pub ln_alpha: f64,
    pub max_candidates: usize,
    pub max_columns: usize,
}

/// Per-row facts every stage shares.
pub(super) struct RowFacts {
    /// Class code per row, [`NONE`] when missing.
    pub labels: Vec<u32>,
    /// Rows per class.
    pub class_counts: Vec<usize>,
    /// Rows with a label.
    pub n_labelled: usize,
    /// Screen: the row's label is held by fewer than half of its shared-graph
    /// neighbours.
    pub suspect: Vec<bool>,
    /// Row indices of suspects, ascending.
    pub suspect_rows: Vec<u32>,
    /// Row → position in `suspect_rows`, or [`NONE`].
    pub suspect_pos: Vec<u32>,
    /// Per class: smoothed share of its rows that are suspects.
    pub q_suspect: Vec<f64>,
}

impl RowFacts {
    pub fn new(labels: &Labels, knn: &KnnGraph) -> RowFacts {
        let n = labels.codes.len();
        let codes: Vec<u32> = labels.codes.iter().map(|c| c.unwrap_or(NONE)).collect();
        let class_counts = labels.counts();
        let n_labelled = class_counts.iter().sum();
        let usable = knn.n_rows() == n && knn.k() > 0;
        let suspect: Vec<bool> = (0..n)
            .into_par_iter()
            .map(|i| {
                if !usable || codes[i] == NONE {
                    return false;
                }
                let (mut same, mut voters) = (0usize, 0usize);
                for &j in knn.indices.row(i) {
                    let c = codes[j as usize];
                    if c != NONE {
                        voters += 1;
                        same += usize::from(c == codes[i]);
                    }
                }
                voters > 0 && 2 * same < voters
            })
            .collect();
        let mut suspect_rows = Vec::new();
        let mut suspect_pos = vec![NONE; n];
        let mut per_class = vec![0usize; class_counts.len()];
        for i in 0..n {
            if suspect[i] {
                suspect_pos[i] = suspect_rows.len() as u32;
                suspect_rows.push(i as u32);
                per_class[codes[i] as usize] += 1;
            }
        }
        let q_suspect = per_class
            .iter()
            .zip(&class_counts)
            .map(|(&s, &c)| (s as f64 + 1.0) / (c as f64 + 2.0))
            .collect();
        RowFacts {
            labels: codes,
            class_counts,
            n_labelled,
            suspect,
            suspect_rows,
            suspect_pos,
            q_suspect,
        }
    }
}

/// A set of rows sharing fixed values in one to three columns.
#[derive(Debug, Clone)]
pub(super) struct Cell {
    /// Feature columns, ascending.
    pub cols: Vec<usize>,
    /// The shared value of each column (feature scale).
    pub values: Vec<f64>,
    /// Rows carrying all the values, ascending.
    pub rows: Vec<u32>,
    /// Whether some value lies outside its column's usual range.
    pub out_of_range: bool,
    /// Whether some value repeats in a column whose values are otherwise mostly
    /// unique (a written, not measured, value).
    pub spike: bool,
    /// `ln` of the size of the family of tests this cell was chosen from.
    pub ln_family: f64,
}

/// Label make-up of a cell.
#[derive(Debug, Clone, Copy)]
pub(super) struct CellStats {
    /// Labelled rows in the cell.
    pub m: usize,
    /// The label the cell concentrates in.
    pub label: u32,
    /// Rows with that label.
    pub k: usize,
    /// Screened suspects with that label.
    pub suspects: usize,
    /// Screened suspects with any label.
    pub suspects_all: usize,
}

impl CellStats {
    /// Share of labelled rows carrying the label.
    pub fn purity(&self) -> f64 {
        self.k as f64 / self.m.max(1) as f64
    }

    /// Label counts of `rows`; the label is the majority one when that reaches
    /// `min_purity`, else the one with the most suspects (ties: lowest code).
    pub fn of(rows: &[u32], facts: &RowFacts, min_purity: f64) -> CellStats {
        let mut counts: HashMap<u32, (usize, usize)> = HashMap::new();
        let (mut m, mut suspects_all) = (0, 0);
        for &r in rows {
            let c = facts.labels[r as usize];
            if c == NONE {
                continue;
            }
            m += 1;
            let e = counts.entry(c).or_default();
            e.0 += 1;
            if facts.suspect[r as usize] {
                e.1 += 1;
                suspects_all += 1;
            }
        }
        let mut best: Vec<(u32, usize, usize)> =
            counts.into_iter().map(|(c, (k, s))| (c, k, s)).collect();
        best.sort_unstable_by_key(|&(c, _, _)| c);
        let by_count = best.iter().max_by_key(|e| (e.1, std::cmp::Reverse(e.0)));
        let by_suspects = best.iter().max_by_key(|e| (e.2, std::cmp::Reverse(e.0)));
        let pick = match by_count {
            Some(e) if e.1 as f64 >= min_purity * m as f64 => Some(e),
            _ => by_suspects,
        };
        let (label, k, suspects) = pick.copied().unwrap_or((NONE, 0, 0));
        CellStats {
            m,
            label,
            k,
            suspects,
            suspects_all,
        }
    }
}

/// Rows of `rows` (sorted) with label `label`.
pub(super) fn rows_with_label(rows: &[u32], labels: &[u32], label: u32) -> Vec<u32> {
    rows.iter()
        .copied()
        .filter(|&r| labels[r as usize] == label)
        .collect()
}

/// Screen a cell before the costly neighbour check. Returns the ranking key (a
/// `ln p`, smaller first) when the cell may be a trigger:
/// * pure (`purity ≥ min_purity`) and it would be significant if every row with
///   the label contradicted its neighbours, or (for anomalous values — out of
///   range, or a spike in a continuous column — which rank first) its label
///   concentration alone is significant;
/// * or its screened suspects concentrate in one label (share ≥ [`CONCENTRATION`])
///   and are significantly
///   more than the label's suspect rate predicts.
pub(super) fn screen(
    s: &CellStats,
    anomalous: bool,
    ln_family: f64,
    facts: &RowFacts,
    set: &SearchSettings,
) -> Option<f64> {
    if s.m < set.min_support || s.m > set.max_support || s.label == NONE {
        return None;
    }
    let q = facts.q_suspect[s.label as usize];
    let ln_thr = set.ln_alpha - ln_family;
    let ln_screen = binom_ln_tail(s.suspects, s.k, q);
    if s.purity() >= set.min_purity {
        // The best the conflict check could report if every row with the label
        // contradicted its neighbours: the better of its two tests (the count test
        // at the suspect rate, the likelihood ratio at its per-row cap), doubled.
        let ln_best = binom_ln_tail(s.k, s.k, q).min(-(s.k as f64) * MAX_ROW_LLR) + LN_2;
        let label = s.label as usize;
        let ln_label = || hyper_ln_tail(s.k, facts.n_labelled, facts.class_counts[label], s.m);
        if ln_best > ln_thr && !(anomalous && ln_label() <= ln_thr) {
            return None;
        }
        return Some(if anomalous { ln_best - 1e6 } else { ln_screen });
    }
    let concentrated =
        s.suspects >= set.min_support && s.suspects as f64 >= CONCENTRATION * s.suspects_all as f64;
    (concentrated && ln_screen <= ln_thr).then_some(ln_screen)
}

/// Order-preserving integer key of a finite f64 (`-0.0` equals `0.0`).
fn order_key(x: f64) -> u64 {
    let b = (if x == 0.0 { 0.0 } else { x }).to_bits();
    if b >> 63 == 1 { !b } else { b | (1 << 63) }
}

/// One value of a column repeated in at least `min_support` rows.
#[derive(Debug, Clone, Copy)]
struct Run {
    value: f64,
    len: usize,
    out_of_range: bool,
    /// Offset of its rows in [`ColumnScan::run_rows`], or [`NO_ROWS`] when they are
    /// not kept (too few suspects to seed a tuple).
    start: usize,
}

/// [`Run::start`] of a run whose rows are not kept.
const NO_ROWS: usize = usize::MAX;

/// A rare run that passed the uncorrected screen.
struct Kept {
    rows: Vec<u32>,
    value: f64,
    out_of_range: bool,
    st: CellStats,
}

/// What one column pass found.
struct ColumnScan {
    runs: Vec<Run>,
    /// Rows of every run, concatenated, each run's rows ascending.
    run_rows: Vec<u32>,
    /// Per suspect row: index into `runs` of its value, or [`NONE`].
    suspect_run: Vec<u32>,
    /// Rare runs (support within bounds) seen.
    rare: usize,
    /// Of those, the ones out of range.
    rare_out_of_range: usize,
    /// Rare runs that pass the screen before the multiple-testing correction.
    kept: Vec<Kept>,
    /// At least half of the column's rows hold a value no other row has.
    continuous: bool,
}

/// Inverse of [`order_key`].
fn from_order_key(k: u64) -> f64 {
    f64::from_bits(if k >> 63 == 1 { k & !(1 << 63) } else { !k })
}

/// Sort one column's values and cut them into runs of equal values; then collect
/// the rows of the runs repeated at least `min_support` times in one more pass
/// (a binary search among the repeated values per row — continuous columns have
/// few). A value is out of range when it lies beyond
/// `[q.001, q.999] ± ¼ (q.999 − q.001)` of the column's *other* values.
fn scan_column(
    col: &[f64],
    info: &FeatureInfo,
    facts: &RowFacts,
    set: &SearchSettings,
) -> ColumnScan {
    let n = col.len();
    let mut sorted: Vec<u64> = col.iter().map(|&v| order_key(v)).collect();
    sorted.sort_unstable();
    let mut scan = ColumnScan {
        runs: Vec::new(),
        run_rows: Vec::new(),
        suspect_run: vec![NONE; facts.suspect_rows.len()],
        rare: 0,
        rare_out_of_range: 0,
        kept: Vec::new(),
        continuous: false,
    };
    let ranged = can_be_out_of_range(info);
    let (mut unique, mut repeated) = (0usize, Vec::new());
    let mut a = 0;
    while a < n {
        let mut b = a + 1;
        while b < n && sorted[b] == sorted[a] {
            b += 1;
        }
        unique += usize::from(b - a == 1);
        if b - a >= set.min_support {
            let value = from_order_key(sorted[a]);
            scan.runs.push(Run {
                value,
                len: b - a,
                out_of_range: ranged && outside_others(&sorted, a, b, value),
                start: scan.run_rows.len(),
            });
            scan.run_rows.extend(std::iter::repeat_n(0, b - a));
            repeated.push(sorted[a]);
        }
        a = b;
    }
    scan.continuous = 2 * unique >= n;
    drop(sorted);
    if repeated.is_empty() {
        return scan;
    }
    // Rows of each run, ascending (rows are visited in order).
    let mut fill: Vec<usize> = scan.runs.iter().map(|r| r.start).collect();
    for (i, &v) in col.iter().enumerate() {
        if let Ok(id) = repeated.binary_search(&order_key(v)) {
            scan.run_rows[fill[id]] = i as u32;
            fill[id] += 1;
            let p = facts.suspect_pos[i];
            if p != NONE {
                scan.suspect_run[p as usize] = id as u32;
            }
        }
    }
    for run in &scan.runs {
        if run.len > set.max_support {
            continue;
        }
        scan.rare += 1;
        scan.rare_out_of_range += usize::from(run.out_of_range);
        let rows = scan.run_rows[run.start..run.start + run.len].to_vec();
        let st = CellStats::of(&rows, facts, set.min_purity);
        // Screened as anomalous here (a superset); re-screened with the column's
        // real status and the family size once every column is done.
        if screen(&st, true, 0.0, facts, set).is_some() {
            scan.kept.push(Kept {
                rows,
                value: run.value,
                out_of_range: run.out_of_range,
                st,
            });
        }
    }
    keep_suspect_runs(&mut scan, set.min_support);
    scan
}

/// Drop the runs no suspect row holds: only those take part in the tuple search,
/// and on a fine-grained continuous column the others hold most of the rows (at
/// 1M × 32 about 0.25 GB). Of the runs kept, only those with at least
/// `min_support` suspects can seed a tuple cell (a cell needs that many suspects
/// with its label, all sharing each of its values), so only their rows are kept;
/// the others still count in the tuple families. Run order, hence every later
/// ordering, is kept.
fn keep_suspect_runs(scan: &mut ColumnScan, min_support: usize) {
    let mut held = vec![0usize; scan.runs.len()];
    for &id in &scan.suspect_run {
        if id != NONE {
            held[id as usize] += 1;
        }
    }
    let mut new_id = vec![NONE; scan.runs.len()];
    let (mut runs, mut rows) = (Vec::new(), Vec::new());
    for (id, run) in scan.runs.iter().enumerate() {
        if held[id] == 0 {
            continue;
        }
        new_id[id] = runs.len() as u32;
        let start = if held[id] >= min_support {
            rows.extend_from_slice(&scan.run_rows[run.start..run.start + run.len]);
            rows.len() - run.len
        } else {
            NO_ROWS
        };
        runs.push(Run { start, ..*run });
    }
    for id in &mut scan.suspect_run {
        if *id != NONE {
            *id = new_id[*id as usize];
        }
    }
    scan.runs = runs;
    scan.run_rows = rows;
}

/// Whether `value` (the run `a..b` of the sorted keys) lies outside the fence
/// built from the remaining values.
fn outside_others(sorted: &[u64], a: usize, b: usize, value: f64) -> bool {
    let rest = sorted.len() - (b - a);
    if rest < 2 {
        return false;
    }
    let at = |r: usize| from_order_key(if r < a { sorted[r] } else { sorted[r + b - a] });
    let q = |p: f64| {
        let pos = p * (rest - 1) as f64;
        let (lo, hi) = (pos.floor() as usize, pos.ceil() as usize);
        at(lo) + (at(hi) - at(lo)) * (pos - lo as f64)
    };
    let (lo, hi) = (q(0.001), q(0.999));
    let w = hi - lo;
    // A column that is constant apart from this value gives no scale to judge by.
    w > 0.0 && (value > hi + 0.25 * w || value < lo - 0.25 * w)
}

/// `ln` of the Bonferroni family sizes of single-value cells, relative to the
/// singles' share `α/2` of the error rate.
#[derive(Debug, Clone, Copy, PartialEq)]
struct SingleFamilies {
    /// Anomalous runs: out of range, or any repeated value of a continuous column.
    anomalous: f64,
    /// Every other rare run.
    ordinary: f64,
}

impl SingleFamilies {
    /// The family of a run.
    fn of(&self, anomalous: bool) -> f64 {
        if anomalous {
            self.anomalous
        } else {
            self.ordinary
        }
    }
}

/// Weighted Bonferroni over the rare runs, once per class (Genovese, Roeder &
/// Wasserman 2006, "False discovery control with p-value weighting": weights fixed
/// before the test keep the family-wise error rate). Whether a run is anomalous is
/// decided without labels, so the singles' `α/2` is split evenly between the
/// anomalous runs and the others, each tested at `α/4` over its own count: the few
/// anomalous values a trigger writes are no longer judged against every rare value
/// of the table (on iris, 2 anomalous runs against about 60). With no anomalous
/// (or no ordinary) run, the other group keeps the whole `α/2`.
fn single_families(scans: &[ColumnScan], n_classes: usize) -> SingleFamilies {
    let c = n_classes.max(1);
    let anomalous: usize = scans
        .iter()
        .map(|s| {
            if s.continuous {
                s.rare
            } else {
                s.rare_out_of_range
            }
        })
        .sum();
    let ordinary = scans.iter().map(|s| s.rare).sum::<usize>() - anomalous;
    let split = if anomalous > 0 && ordinary > 0 {
        2.0
    } else {
        1.0
    };
    let ln = |m: usize| (split * (m * c).max(1) as f64).ln();
    SingleFamilies {
        anomalous: ln(anomalous),
        ordinary: ln(ordinary),
    }
}

/// Everything the search hands to the detector.
pub(super) struct Candidates {
    /// Candidate cells with their stats, best first, at most `max_candidates`.
    pub cells: Vec<(Cell, CellStats)>,
}

/// Run the whole search: column passes, tuple search, ranking.
pub(super) fn search(
    x: &Array2<f64>,
    features: &[FeatureInfo],
    facts: &RowFacts,
    set: &SearchSettings,
    n_classes: usize,
    progress: &dyn Progress,
) -> Candidates {
    let d = x.ncols();
    progress.start("backdoor trigger search", d as u64);
    // One column copied at a time per thread (a column-major copy of the whole
    // matrix would double its memory at the scan's peak).
    let scans: Vec<ColumnScan> = (0..d)
        .into_par_iter()
        .map(|j| {
            let col = x.column(j).to_vec();
            let s = scan_column(&col, &features[j], facts, set);
            progress.advance(1);
            s
        })
        .collect();
    progress.finish();
    let families = single_families(&scans, n_classes);
    let mut found: Vec<(f64, Cell, CellStats)> = Vec::new();
    for (j, scan) in scans.iter().enumerate() {
        for k in &scan.kept {
            let anomalous = k.out_of_range || scan.continuous;
            let ln_single = families.of(anomalous);
            if let Some(key) = screen(&k.st, anomalous, ln_single, facts, set) {
                let cell = Cell {
                    cols: vec![j],
                    values: vec![k.value],
                    rows: k.rows.clone(),
                    out_of_range: k.out_of_range,
                    spike: scan.continuous,
                    ln_family: ln_single,
                };
                found.push((key, cell, k.st));
            }
        }
    }
    if set.max_columns >= 2 && !facts.suspect_rows.is_empty() {
        // Suspects already carrying a single-value candidate are explained: left
        // in, every tuple of their other columns would look concentrated too.
        let mut explained = vec![false; facts.suspect_rows.len()];
        for (_, cell, _) in &found {
            for &r in &cell.rows {
                let p = facts.suspect_pos[r as usize];
                if p != NONE {
                    explained[p as usize] = true;
                }
            }
        }
        let view = scans_view(&scans, x.view());
        found.extend(super::tuples::search_tuples(&view, &explained, facts, set));
    }
    found.sort_by(|a, b| {
        a.0.total_cmp(&b.0)
            .then_with(|| a.1.cols.cmp(&b.1.cols))
            .then_with(|| a.1.rows.first().cmp(&b.1.rows.first()))
    });
    found.truncate(set.max_candidates);
    Candidates {
        cells: found.into_iter().map(|(_, c, s)| (c, s)).collect(),
    }
}

/// The per-column facts the tuple search needs.
pub(super) struct RunView<'a> {
    /// Per column: (value, support, out_of_range) of each repeated value.
    pub runs: Vec<Vec<(f64, usize, bool)>>,
    /// Per column and repeated value: its rows, ascending.
    pub run_rows: Vec<Vec<&'a [u32]>>,
    /// Per column: run index of each suspect row's value, or [`NONE`].
    pub suspect_run: Vec<&'a [u32]>,
    /// Per column: whether its values are mostly unique.
    pub continuous: Vec<bool>,
    /// The feature matrix.
    pub x: ArrayView2<'a, f64>,
}

fn scans_view<'a>(scans: &'a [ColumnScan], x: ArrayView2<'a, f64>) -> RunView<'a> {
    RunView {
        runs: scans
            .iter()
            .map(|s| {
                s.runs
                    .iter()
                    .map(|r| (r.value, r.len, r.out_of_range))
                    .collect()
            })
            .collect(),
        run_rows: scans
            .iter()
            .map(|s| {
                s.runs
                    .iter()
                    .map(|r| match r.start {
                        NO_ROWS => &[][..],
                        start => &s.run_rows[start..start + r.len],
                    })
                    .collect()
            })
            .collect(),
        suspect_run: scans.iter().map(|s| s.suspect_run.as_slice()).collect(),
        continuous: scans.iter().map(|s| s.continuous).collect(),
        x,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scan(rare: usize, rare_out_of_range: usize, continuous: bool) -> ColumnScan {
        ColumnScan {
            runs: Vec::new(),
            run_rows: Vec::new(),
            suspect_run: Vec::new(),
            rare,
            rare_out_of_range,
            kept: Vec::new(),
            continuous,
        }
    }

    #[test]
    fn anomalous_runs_are_their_own_bonferroni_family() {
        let close = |a: f64, b: f64| (a - b).abs() < 1e-12;
        // 58 ordinary and 2 out-of-range runs, 3 classes: α/4 over 6 and over 174.
        let f = single_families(&[scan(30, 0, false), scan(30, 2, false)], 3);
        assert!(close(f.of(true), (2.0 * 6.0f64).ln()), "{f:?}");
        assert!(close(f.of(false), (2.0 * 174.0f64).ln()), "{f:?}");
        // Every repeated value of a continuous column is anomalous.
        let f = single_families(&[scan(10, 1, true), scan(5, 0, false)], 2);
        assert!(close(f.anomalous, (2.0 * 20.0f64).ln()), "{f:?}");
        assert!(close(f.ordinary, (2.0 * 10.0f64).ln()), "{f:?}");
        // One group empty: the other keeps the whole α/2.
        let f = single_families(&[scan(10, 0, false)], 3);
        assert!(close(f.ordinary, 30.0f64.ln()), "{f:?}");
        let f = single_families(&[scan(4, 4, false)], 3);
        assert!(close(f.anomalous, 12.0f64.ln()), "{f:?}");
        // Nothing rare: a family of one.
        let f = single_families(&[scan(0, 0, false)], 3);
        assert!(close(f.anomalous, 0.0) && close(f.ordinary, 0.0), "{f:?}");
    }

    #[test]
    fn order_keys_sort_like_the_values() {
        let mut g = crate::testdata::Gen::new(3);
        let mut vals: Vec<f64> = (0..5000).map(|_| g.normal() * 1e3).collect();
        vals.extend([
            0.0,
            -0.0,
            1.0,
            1.0,
            -1e300,
            1e300,
            f64::MIN_POSITIVE,
            -2.5,
            -2.5,
        ]);
        let mut keys: Vec<u64> = vals.iter().map(|&v| order_key(v)).collect();
        keys.sort_unstable();
        let back: Vec<f64> = keys.iter().map(|&k| from_order_key(k)).collect();
        vals.sort_by(f64::total_cmp);
        assert!(back.iter().zip(&vals).all(|(a, b)| a == b));
        assert_eq!(order_key(0.0), order_key(-0.0));
        assert_eq!(from_order_key(order_key(-2.5)), -2.5);
    }
}
