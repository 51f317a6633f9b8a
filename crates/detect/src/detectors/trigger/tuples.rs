//! Value tuples: pairs (and triples) of repeated values that together are rare,
//! searched only among screened suspect rows.
//!
//! Cost: for every suspect row, every pair of its columns whose value repeats
//! (`≥ min_support` rows) is counted once, `O(|S| · r²)` for `|S|` suspects with
//! `r` repeated-value columns each (continuous columns rarely repeat, so `r` is
//! small there); each retained pair costs one `O(n)` pass to collect its rows, and
//! each retained pair is extended by a third column counted over its suspects.

use std::collections::HashMap;

use rayon::prelude::*;

use super::search::{Cell, CellStats, NONE, RowFacts, RunView, SearchSettings, screen};

/// Rows carrying all `(column, run)` values, ascending: the rows of the smallest
/// run, filtered by the other columns.
fn collect_rows(view: &RunView<'_>, cols: &[usize], runs: &[u32]) -> Vec<u32> {
    let Some((base, _)) = cols
        .iter()
        .zip(runs)
        .enumerate()
        .min_by_key(|(_, (j, g))| view.runs[**j][**g as usize].1)
    else {
        return Vec::new();
    };
    let fixed: Vec<(usize, f64)> = cols
        .iter()
        .zip(runs)
        .map(|(&j, &g)| (j, view.runs[j][g as usize].0))
        .collect();
    view.run_rows[cols[base]][runs[base] as usize]
        .iter()
        .copied()
        .filter(|&r| fixed.iter().all(|&(j, v)| view.x[[r as usize, j]] == v))
        .collect()
}

/// A pair (or triple) cell before its rows are collected.
#[derive(Debug, Clone)]
struct Proto {
    cols: Vec<usize>,
    runs: Vec<u32>,
    suspects: u32,
}

/// Find tuple candidates; returns (ranking key, cell, stats) like the single-value
/// search. Suspects marked `explained` (by position) already carry a single-value
/// candidate and are not counted again.
pub(super) fn search_tuples(
    view: &RunView<'_>,
    explained: &[bool],
    facts: &RowFacts,
    set: &SearchSettings,
) -> Vec<(f64, Cell, CellStats)> {
    let d = view.x.ncols();
    // Count (run1, run2, label) over suspect rows, one column pair at a time (a map
    // over all second columns at once held ~0.2 GB per thread at 1M rows): sort the
    // pair's keys and count equal runs.
    let active: Vec<usize> = explained
        .iter()
        .enumerate()
        .filter(|&(_, &done)| !done)
        .map(|(p, _)| p)
        .collect();
    let counted: Vec<(usize, Vec<Proto>)> = (0..d)
        .into_par_iter()
        .map(|j1| {
            let mut keys: Vec<(u32, u32, u32)> = Vec::new();
            let (mut distinct, mut protos) = (0usize, Vec::new());
            for j2 in j1 + 1..d {
                keys.clear();
                for &p in &active {
                    let (g1, g2) = (view.suspect_run[j1][p], view.suspect_run[j2][p]);
                    if g1 != NONE && g2 != NONE {
                        let label = facts.labels[facts.suspect_rows[p] as usize];
                        keys.push((g1, g2, label));
                    }
                }
                keys.sort_unstable();
                // Runs of equal (g1, g2): each label's count, the best and the total.
                let mut a = 0;
                while a < keys.len() {
                    let (g1, g2) = (keys[a].0, keys[a].1);
                    let (mut best, mut total) = (0u32, 0u32);
                    let mut b = a;
                    while b < keys.len() && (keys[b].0, keys[b].1) == (g1, g2) {
                        let mut c = b;
                        while c < keys.len() && keys[c] == keys[b] {
                            c += 1;
                        }
                        distinct += 1;
                        best = best.max((c - b) as u32);
                        total += (c - b) as u32;
                        b = c;
                    }
                    if best as usize >= set.min_support && 2 * best >= total {
                        protos.push(Proto {
                            cols: vec![j1, j2],
                            runs: vec![g1, g2],
                            suspects: best,
                        });
                    }
                    a = b;
                }
            }
            (distinct, protos)
        })
        .collect();
    let ln_pair = (counted.iter().map(|c| c.0).sum::<usize>().max(1) as f64).ln();
    let mut protos: Vec<Proto> = counted.into_iter().flat_map(|c| c.1).collect();
    protos.sort_by(|a, b| {
        b.suspects
            .cmp(&a.suspects)
            .then_with(|| (&a.cols, &a.runs).cmp(&(&b.cols, &b.runs)))
    });
    protos.truncate(set.max_candidates);
    let pairs: Vec<(Cell, CellStats, Vec<u32>)> = protos
        .par_iter()
        .filter_map(|p| evaluate(view, facts, set, p, ln_pair, None))
        .collect();
    let mut out: Vec<(f64, Cell, CellStats)> = Vec::new();
    if set.max_columns >= 3 {
        // Extend each pair by a third column counted over its suspects with the label.
        let mut ext: Vec<(usize, Proto)> = Vec::new();
        let mut distinct = 0usize;
        for (pi, (cell, st, pair_runs)) in pairs.iter().enumerate() {
            let mut map: HashMap<(u32, u32), u32> = HashMap::new();
            for &r in &cell.rows {
                let p = facts.suspect_pos[r as usize];
                if p == NONE || explained[p as usize] || facts.labels[r as usize] != st.label {
                    continue;
                }
                for j3 in (0..d).filter(|j| !cell.cols.contains(j)) {
                    let g3 = view.suspect_run[j3][p as usize];
                    if g3 != NONE {
                        *map.entry((j3 as u32, g3)).or_default() += 1;
                    }
                }
            }
            distinct += map.len();
            let need = set.min_support.max(st.suspects.div_ceil(2)) as u32;
            let mut keys: Vec<((u32, u32), u32)> =
                map.into_iter().filter(|&(_, c)| c >= need).collect();
            keys.sort_unstable();
            for ((j3, g3), c) in keys {
                let mut cols = cell.cols.clone();
                let mut runs = pair_runs.clone();
                let pos = cols.partition_point(|&c| c < j3 as usize);
                cols.insert(pos, j3 as usize);
                runs.insert(pos, g3);
                ext.push((
                    pi,
                    Proto {
                        cols,
                        runs,
                        suspects: c,
                    },
                ));
            }
        }
        ext.sort_by(|a, b| b.1.suspects.cmp(&a.1.suspects).then(a.0.cmp(&b.0)));
        // The same triple extends each of its three pairs: keep the first.
        let mut seen = std::collections::HashSet::new();
        ext.retain(|(_, p)| seen.insert((p.cols.clone(), p.runs.clone())));
        ext.truncate(set.max_candidates);
        let ln_triple = (distinct.max(1) as f64).ln();
        let triples: Vec<(Cell, CellStats, Vec<u32>)> = ext
            .par_iter()
            .filter_map(|(pi, p)| {
                let parent = pairs[*pi].0.rows.len();
                evaluate(view, facts, set, p, ln_triple, Some(parent))
            })
            .collect();
        for (cell, st, _) in triples {
            if let Some(key) = screen(
                &st,
                cell.out_of_range || cell.spike,
                cell.ln_family,
                facts,
                set,
            ) {
                out.push((key, cell, st));
            }
        }
    }
    for (cell, st, _) in pairs {
        if let Some(key) = screen(
            &st,
            cell.out_of_range || cell.spike,
            cell.ln_family,
            facts,
            set,
        ) {
            out.push((key, cell, st));
        }
    }
    out
}

/// Collect a tuple cell's rows and keep it when it is rare and strictly smaller
/// (≤ 90%) than each of its values alone — or than its parent pair, for triples.
fn evaluate(
    view: &RunView<'_>,
    facts: &RowFacts,
    set: &SearchSettings,
    p: &Proto,
    ln_family: f64,
    parent: Option<usize>,
) -> Option<(Cell, CellStats, Vec<u32>)> {
    let parts: Vec<(usize, f64, usize, bool)> = p
        .cols
        .iter()
        .zip(&p.runs)
        .map(|(&j, &g)| {
            let (v, len, oor) = view.runs[j][g as usize];
            (j, v, len, oor)
        })
        .collect();
    let smallest = parts.iter().map(|q| q.2).min().unwrap_or(0);
    let limit = parent.map_or(smallest, |pl| pl.min(smallest));
    let rows = collect_rows(view, &p.cols, &p.runs);
    if rows.len() < set.min_support
        || rows.len() > set.max_support
        || rows.len() as f64 > 0.9 * limit as f64
    {
        return None;
    }
    let st = CellStats::of(&rows, facts, set.min_purity);
    let cell = Cell {
        cols: p.cols.clone(),
        values: parts.iter().map(|q| q.1).collect(),
        rows,
        out_of_range: parts.iter().any(|q| q.3),
        spike: p.cols.iter().any(|&j| view.continuous[j]),
        ln_family,
    };
    Some((cell, st, p.runs.clone()))
}
