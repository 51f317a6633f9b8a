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

/// Vote shares are binned to tenths: bin `b` holds shares in `[b − ½, b + ½) / 10`.
pub(super) const BINS: usize = 11;

/// Largest per-row log-likelihood ratio counted, `ln 50`, so that a sparsely
/// estimated baseline bin cannot make one row decisive.
pub(super) const MAX_ROW_LLR: f64 = 3.912;

/// Bin of the share `same / total`.
fn share_bin(same: usize, total: usize) -> u8 {
    if total == 0 {
        return (BINS / 2) as u8;
    }
    ((same as f64 / total as f64) * (BINS - 1) as f64).round() as u8
}

impl Projected<'_, '_> {
    /// Labels of the `k` nearest reference rows of each query, skipping the row
    /// itself and the rows of `cell` (ascending), so that rows sharing a trigger
    /// cannot vouch for each other.
    fn neighbour_labels(&self, queries: &[u32], cell: &[u32]) -> Vec<Vec<u32>> {
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
                best.iter()
                    .map(|&(_, pos)| r.labels[r.rows[pos as usize] as usize])
                    .collect()
            })
            .collect()
    }

    /// For each query row, the binned share of its neighbours that carry `label`.
    pub fn share_bins(&self, queries: &[u32], cell: &[u32], label: u32) -> Vec<u8> {
        self.neighbour_labels(queries, cell)
            .iter()
            .map(|nb| share_bin(nb.iter().filter(|&&c| c == label).count(), nb.len()))
            .collect()
    }

    /// Vote-share distributions on the baseline rows, per class.
    pub fn baseline(&self) -> Baseline {
        let r = self.reference;
        let votes = self.neighbour_labels(&r.baseline, &[]);
        let c = r.n_classes;
        let mut bins = Vec::with_capacity(r.baseline.len() * c);
        let mut counts = vec![0usize; c];
        for nb in &votes {
            for label in nb {
                counts[*label as usize] += 1;
            }
            bins.extend((0..c).map(|t| share_bin(counts[t], nb.len())));
            for label in nb {
                counts[*label as usize] = 0;
            }
        }
        let labels = r
            .baseline
            .iter()
            .map(|&row| r.labels[row as usize])
            .collect();
        Baseline::new(r.baseline.clone(), labels, bins, c)
    }
}

/// The baseline sample: each sampled row's label and, per class `t`, the bin of its
/// neighbours' `t`-share.
struct Sample {
    /// Sampled rows.
    rows: Vec<u32>,
    labels: Vec<u32>,
    /// `rows.len() × n_classes`, row-major.
    bins: Vec<u8>,
    n_classes: usize,
}

impl Sample {
    /// Per class: `own[t][b]`, rows labelled `t` whose `t`-share falls in bin `b`,
    /// and `other[t][b]`, rows not labelled `t` whose `t`-share falls in bin `b`;
    /// rows for which `skip` is true are left out.
    fn counts(&self, skip: impl Fn(usize) -> bool) -> Counts {
        let c = self.n_classes;
        let mut own = vec![[0usize; BINS]; c];
        let mut other = vec![[0usize; BINS]; c];
        for (i, &y) in self.labels.iter().enumerate() {
            if skip(i) {
                continue;
            }
            for (t, &bin) in self.bins[i * c..(i + 1) * c].iter().enumerate() {
                if t as u32 == y {
                    own[t][bin as usize] += 1;
                } else {
                    other[t][bin as usize] += 1;
                }
            }
        }
        (own, other)
    }
}

type Counts = (Vec<[usize; BINS]>, Vec<[usize; BINS]>);

/// How the neighbours of ordinary rows vote, per class `t`: `f0` is the
/// distribution of the `t`-share among rows labelled `t`, `f1` among rows of other
/// classes (what a relabelled row looks like).
pub(super) struct Baseline {
    sample: Sample,
    f0: Vec<[f64; BINS]>,
    f1: Vec<[f64; BINS]>,
    /// Per class: smoothed share of its rows whose label most neighbours deny.
    contradicted: Vec<f64>,
    /// Per class: `KL(f1 ‖ f0)` of the capped ratio, the expected evidence per
    /// relabelled row.
    kl: Vec<f64>,
}

impl Baseline {
    fn new(rows: Vec<u32>, labels: Vec<u32>, bins: Vec<u8>, n_classes: usize) -> Baseline {
        let sample = Sample {
            rows,
            labels,
            bins,
            n_classes,
        };
        let (own, other) = sample.counts(|_| false);
        Baseline::from_counts(sample, &own, &other)
    }

    /// The baseline re-estimated without the rows of `cell` (ascending), or `None`
    /// when none of them was sampled. The null must describe ordinary rows: on a
    /// small table a cell's own rows are a visible share of their class's sample
    /// (5 relabelled rows of a 55-row class are 9 %), and left in they would make
    /// contradicted rows look ordinary for that class.
    pub fn excluding(&self, cell: &[u32]) -> Option<Baseline> {
        let s = &self.sample;
        let skip: Vec<bool> = s
            .rows
            .iter()
            .map(|r| cell.binary_search(r).is_ok())
            .collect();
        if !skip.contains(&true) {
            return None;
        }
        let (own, other) = s.counts(|i| skip[i]);
        let sample = Sample {
            rows: Vec::new(),
            labels: Vec::new(),
            bins: Vec::new(),
            n_classes: s.n_classes,
        };
        Some(Baseline::from_counts(sample, &own, &other))
    }

    /// Smoothing: `f1` adds ½ to every bin; `f0` adds 4 pseudo-rows spread like
    /// `f1`, which pulls `f0` up exactly where a relabelled row would land and so
    /// keeps the likelihood ratio conservative where the baseline is thin.
    fn from_counts(sample: Sample, own: &[[usize; BINS]], other: &[[usize; BINS]]) -> Baseline {
        let mut f0 = Vec::with_capacity(own.len());
        let mut f1 = Vec::with_capacity(own.len());
        let mut contradicted = Vec::with_capacity(own.len());
        for (o, x) in own.iter().zip(other) {
            let n1: usize = x.iter().sum();
            let alt: [f64; BINS] =
                std::array::from_fn(|b| (x[b] as f64 + 0.5) / (n1 as f64 + 0.5 * BINS as f64));
            let n0: usize = o.iter().sum();
            let null: [f64; BINS] =
                std::array::from_fn(|b| (o[b] as f64 + 4.0 * alt[b]) / (n0 as f64 + 4.0));
            let below: usize = o[..BINS / 2].iter().sum();
            contradicted.push((below as f64 + 1.0) / (n0 as f64 + 2.0));
            f0.push(null);
            f1.push(alt);
        }
        let kl = f0
            .iter()
            .zip(&f1)
            .map(|(a, b)| {
                (0..BINS)
                    .map(|i| b[i] * (b[i] / a[i]).ln().min(MAX_ROW_LLR))
                    .sum::<f64>()
                    .max(0.0)
            })
            .collect();
        Baseline {
            sample,
            f0,
            f1,
            contradicted,
            kl,
        }
    }

    /// Whether the likelihood-ratio test is blind for class `t` with `rows` rows:
    /// even relabelled rows would not, on average, reach `p ≤ 0.01`
    /// (`rows · KL(f1 ‖ f0) < ln 100`) — the other columns cannot tell class `t`
    /// from the rest.
    pub fn blind(&self, t: u32, rows: usize) -> bool {
        rows as f64 * self.kl[t as usize] < 100f64.ln()
    }

    /// Log-likelihood ratio "relabelled row" vs "ordinary row of class `t`" for a
    /// row labelled `t` whose `t`-share falls in `bin`, capped at `ln 50`.
    pub fn llr(&self, t: u32, bin: u8) -> f64 {
        let (t, b) = (t as usize, bin as usize);
        (self.f1[t][b] / self.f0[t][b]).ln().min(MAX_ROW_LLR)
    }

    /// Share of ordinary rows of class `t` whose label most neighbours deny.
    pub fn contradicted_rate(&self, t: u32) -> f64 {
        self.contradicted[t as usize]
    }
}

/// Whether a share bin means "most neighbours deny the label".
pub(super) fn is_contradicted(bin: u8) -> bool {
    (bin as usize) < BINS / 2
}
