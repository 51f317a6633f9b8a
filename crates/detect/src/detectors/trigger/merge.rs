//! Merging candidate cells that describe the same rows.

use super::search::{Cell, CellStats, RowFacts, SearchSettings, rows_with_label};

/// Size of the intersection of two ascending lists.
fn intersection_len(a: &[u32], b: &[u32]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// The intersection of two ascending lists.
fn intersect(a: &[u32], b: &[u32]) -> Vec<u32> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out
}

/// Greedily merge candidates that describe the same rows (a trigger written into
/// several columns shows up once per column, and once per pair of them). Each
/// candidate, best first, joins the first cluster with the same label whose rows
/// with the label — or whose suspects with the label — overlap it by Jaccard ≥ ½,
/// provided the intersection of the cells keeps at least 90% of the cluster's rows
/// with the label or 75% of its suspects; the cluster's cell becomes that
/// intersection (so a triple narrows the pairs it extends).
pub(super) fn merge(
    cands: Vec<(Cell, CellStats)>,
    facts: &RowFacts,
    set: &SearchSettings,
) -> Vec<Cell> {
    let mut clusters: Vec<(Cell, u32)> = Vec::new();
    for (cell, st) in cands {
        let sus = |r: &[u32]| -> Vec<u32> {
            r.iter()
                .copied()
                .filter(|&r| facts.suspect[r as usize])
                .collect()
        };
        let mine = rows_with_label(&cell.rows, &facts.labels, st.label);
        let mine_sus = sus(&mine);
        let mut joined = false;
        for (k, label) in clusters.iter_mut() {
            if *label != st.label || conflicting_columns(k, &cell) {
                continue;
            }
            let theirs = rows_with_label(&k.rows, &facts.labels, *label);
            let theirs_sus = sus(&theirs);
            if !similar(&mine, &theirs) && !similar(&mine_sus, &theirs_sus) {
                continue;
            }
            let rows = intersect(&k.rows, &cell.rows);
            let kept = rows_with_label(&rows, &facts.labels, *label);
            let (s_old, s_new) = (theirs_sus.len(), sus(&kept).len());
            let keeps_rows = kept.len() as f64 >= 0.9 * theirs.len() as f64;
            let keeps_suspects = s_old >= set.min_support && s_new as f64 >= 0.75 * s_old as f64;
            if rows.len() < set.min_support || !(keeps_rows || keeps_suspects) {
                continue;
            }
            for (c, v) in cell.cols.iter().zip(&cell.values) {
                if let Err(pos) = k.cols.binary_search(c) {
                    k.cols.insert(pos, *c);
                    k.values.insert(pos, *v);
                }
            }
            k.rows = rows;
            k.out_of_range |= cell.out_of_range;
            k.spike |= cell.spike;
            k.ln_family = k.ln_family.max(cell.ln_family);
            joined = true;
            break;
        }
        if !joined {
            clusters.push((cell, st.label));
        }
    }
    clusters.into_iter().map(|(c, _)| c).collect()
}

/// Jaccard similarity of two ascending row lists is at least ½ (and both are
/// non-empty).
fn similar(a: &[u32], b: &[u32]) -> bool {
    let inter = intersection_len(a, b);
    inter > 0 && 2 * inter >= a.len() + b.len() - inter
}

/// Whether two cells fix the same column to different values.
fn conflicting_columns(a: &Cell, b: &Cell) -> bool {
    b.cols
        .iter()
        .zip(&b.values)
        .any(|(c, v)| a.cols.binary_search(c).is_ok_and(|pos| a.values[pos] != *v))
}
