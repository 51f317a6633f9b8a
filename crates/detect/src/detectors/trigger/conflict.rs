//! "Does the rest of the row agree with its label?" — neighbour votes computed
//! with the candidate trigger columns left out, against a seeded reference sample
//! of rows that carry no candidate value.

use ndarray::Array2;
use rand::SeedableRng;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::search::NONE;
use crate::knn::push_best;

/// Robust-scaled coordinates are clipped to ±`CLIP` for these distances, so that a
/// stray extreme value in some other column cannot decide a row's neighbours.
const CLIP: f64 = 8.0;

/// Seeded reference rows (neighbour candidates) and baseline rows (whose conflict
/// rate is the null rate).
pub(super) struct Reference<'a> {
    x: &'a Array2<f64>,
    labels: &'a [u32],
    rows: Vec<u32>,
    baseline: Vec<u32>,
    k: usize,
    n_classes: usize,
}

/// `count` rows drawn from `from` without replacement (all of them if fewer),
/// ascending.
fn draw(from: &[u32], count: usize, rng: &mut Xoshiro256PlusPlus) -> Vec<u32> {
    if from.len() <= count {
        return from.to_vec();
    }
    let mut idx: Vec<u32> = rand::seq::index::sample(rng, from.len(), count)
        .into_iter()
        .map(|i| from[i])
        .collect();
    idx.sort_unstable();
    idx
}

impl<'a> Reference<'a> {
    /// Reference and baseline rows drawn from the labelled rows.
    pub fn new(
        x: &'a Array2<f64>,
        labels: &'a [u32],
        n_classes: usize,
        (reference_rows, baseline_rows): (usize, usize),
        k: usize,
        seed: u64,
    ) -> Reference<'a> {
        let eligible: Vec<u32> = (0..x.nrows() as u32)
            .filter(|&i| labels[i as usize] != NONE)
            .collect();
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x7215_6e1d_0bad_c0de);
        let rows = draw(&eligible, reference_rows, &mut rng);
        let baseline = draw(&eligible, baseline_rows, &mut rng);
        Reference {
            x,
            labels,
            rows,
            baseline,
            k,
            n_classes,
        }
    }

    /// Reference rows projected onto every column except `drop`.
    pub fn project(&self, drop: &[usize]) -> Projected<'_, 'a> {
        let keep: Vec<usize> = (0..self.x.ncols()).filter(|j| !drop.contains(j)).collect();
        let mut flat = Vec::with_capacity(self.rows.len() * keep.len());
        for &r in &self.rows {
            flat.extend(
                keep.iter()
                    .map(|&j| self.x[[r as usize, j]].clamp(-CLIP, CLIP)),
            );
        }
        Projected {
            reference: self,
            keep,
            flat,
        }
    }
}

/// The reference set on a subset of columns.
pub(super) struct Projected<'r, 'a> {
    reference: &'r Reference<'a>,
    keep: Vec<usize>,
    flat: Vec<f64>,
}

impl Projected<'_, '_> {
    /// Whether each query row's label is held by fewer than half of its `k`
    /// nearest reference rows, skipping the row itself and the rows of `cell`
    /// (ascending), so that rows sharing a trigger cannot vouch for each other.
    pub fn conflicts(&self, queries: &[u32], cell: &[u32]) -> Vec<bool> {
        let r = self.reference;
        let w = self.keep.len();
        let skip: Vec<bool> = r
            .rows
            .iter()
            .map(|x| cell.binary_search(x).is_ok())
            .collect();
        queries
            .par_iter()
            .map(|&q| {
                let point: Vec<f64> = self
                    .keep
                    .iter()
                    .map(|&j| r.x[[q as usize, j]].clamp(-CLIP, CLIP))
                    .collect();
                let mut best: Vec<(f64, u32)> = Vec::with_capacity(r.k + 1);
                for (pos, &other) in r.rows.iter().enumerate() {
                    if other == q || skip[pos] {
                        continue;
                    }
                    let row = &self.flat[pos * w..(pos + 1) * w];
                    let d2: f64 = row.iter().zip(&point).map(|(a, b)| (a - b) * (a - b)).sum();
                    push_best(&mut best, r.k, d2, pos as u32);
                }
                let own = r.labels[q as usize];
                let same = best
                    .iter()
                    .filter(|&&(_, pos)| r.labels[r.rows[pos as usize] as usize] == own)
                    .count();
                !best.is_empty() && 2 * same < best.len()
            })
            .collect()
    }

    /// Per class `c`: the smoothed share of baseline rows labelled `c` whose label
    /// conflicts with their neighbours, `(conflicts + 1) / (rows + 2)`.
    pub fn baseline_rates(&self) -> Vec<f64> {
        let r = self.reference;
        let conf = self.conflicts(&r.baseline, &[]);
        let mut counts = vec![(0usize, 0usize); r.n_classes];
        for (&row, c) in r.baseline.iter().zip(conf) {
            let e = &mut counts[r.labels[row as usize] as usize];
            e.0 += usize::from(c);
            e.1 += 1;
        }
        counts
            .into_iter()
            .map(|(c, total)| (c as f64 + 1.0) / (total as f64 + 2.0))
            .collect()
    }
}
