//! Blocked all-k-nearest-neighbours through an inverted-file index (IVF-flat:
//! Sivic & Zisserman 2003, "Video Google: a text retrieval approach to object
//! matching in videos"; Jégou, Douze & Schmid 2011, "Product quantization for
//! nearest neighbor search", whose IVF without compression this is).
//!
//! A coarse quantiser (Lloyd's k-means on a sample, Lloyd 1982) splits the rows into
//! `L` lists. Every row probes its `P` nearest lists. Queries are processed per home
//! list in blocks, and each block meets each probed list in one matrix product
//! (f32 GEMM), using `|q - p|^2 = |q|^2 + |p|^2 - 2 q·p` on mean-centred data. Each
//! query keeps a shortlist of `k + max(k, 8)` f32 candidates, which is then re-ranked
//! with exact f64 distances, so every reported distance is exact and only the choice
//! of candidates is approximate. With `L = 1` it is blocked exact brute force.

use ndarray::{Array2, ArrayView2, Axis, Slice};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::{Neighbours, RowLists, push_best};
use crate::context::Progress;

/// Queries per block.
const Q_BLOCK: usize = 256;
/// Listed rows per matrix product.
const P_BLOCK: usize = 2048;
/// Lloyd iterations of the coarse quantiser.
const KMEANS_ITERS: usize = 8;
/// Sample rows per list for training the coarse quantiser.
const SAMPLE_PER_LIST: usize = 48;

/// Mean-centred f32 copy of `x` and its squared row norms.
fn centred_f32(x: ArrayView2<'_, f64>) -> (Array2<f32>, Vec<f32>) {
    let mean = x.mean_axis(Axis(0)).expect("non-empty");
    let mut xf = Array2::<f32>::zeros(x.raw_dim());
    xf.axis_iter_mut(Axis(0))
        .into_par_iter()
        .zip(x.axis_iter(Axis(0)).into_par_iter())
        .for_each(|(mut out, row)| {
            for ((o, &v), &m) in out.iter_mut().zip(row.iter()).zip(mean.iter()) {
                *o = (v - m) as f32;
            }
        });
    let norms = xf
        .axis_iter(Axis(0))
        .into_par_iter()
        .map(|r| r.dot(&r))
        .collect();
    (xf, norms)
}

/// For each row of `pts`, the `p` nearest centroids, nearest first (ties by index).
fn nearest_centroids(
    pts: ArrayView2<'_, f32>,
    pnorms: &[f32],
    cents: ArrayView2<'_, f32>,
    p: usize,
) -> Vec<u32> {
    let cnorms: Vec<f32> = cents.axis_iter(Axis(0)).map(|r| r.dot(&r)).collect();
    let n = pts.nrows();
    let chunks: Vec<Vec<u32>> = (0..n.div_ceil(Q_BLOCK))
        .into_par_iter()
        .map(|c| {
            let rows = c * Q_BLOCK..((c + 1) * Q_BLOCK).min(n);
            let g = pts
                .slice_axis(Axis(0), Slice::from(rows.clone()))
                .dot(&cents.t());
            let mut out = Vec::with_capacity(rows.len() * p);
            let mut best: Vec<(f32, u32)> = Vec::with_capacity(p + 1);
            for (r, grow) in rows.zip(g.axis_iter(Axis(0))) {
                best.clear();
                for (j, &dot) in grow.iter().enumerate() {
                    let d2 = pnorms[r] + cnorms[j] - 2.0 * dot;
                    push_best(&mut best, p, d2, j as u32);
                }
                out.extend(best.iter().map(|e| e.1));
            }
            out
        })
        .collect();
    chunks.concat()
}

/// Lloyd's k-means on a seeded sample of rows; returns `lists × d` centroids.
fn train_quantiser(xf: ArrayView2<'_, f32>, norms: &[f32], lists: usize, seed: u64) -> Array2<f32> {
    let n = xf.nrows();
    let d = xf.ncols();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x1f5_9e3a);
    let m = (lists * SAMPLE_PER_LIST).min(n);
    let mut sample = rand::seq::index::sample(&mut rng, n, m).into_vec();
    sample.sort_unstable();
    let pts = xf.select(Axis(0), &sample);
    let pnorms: Vec<f32> = sample.iter().map(|&i| norms[i]).collect();
    let mut init: Vec<usize> = (0..m).collect();
    init.shuffle(&mut rng);
    let mut cents = pts.select(Axis(0), &init[..lists]);
    for _ in 0..KMEANS_ITERS {
        let assign = nearest_centroids(pts.view(), &pnorms, cents.view(), 1);
        let mut sums = Array2::<f64>::zeros((lists, d));
        let mut counts = vec![0usize; lists];
        for (r, &a) in assign.iter().enumerate() {
            counts[a as usize] += 1;
            let mut row = sums.row_mut(a as usize);
            for (s, &v) in row.iter_mut().zip(pts.row(r)) {
                *s += v as f64;
            }
        }
        for l in 0..lists {
            if counts[l] == 0 {
                // Re-seed an empty list at a random sample row.
                let r = init[(l + m / 2) % m];
                cents.row_mut(l).assign(&pts.row(r));
            } else {
                let c = counts[l] as f64;
                for (o, &s) in cents.row_mut(l).iter_mut().zip(sums.row(l)) {
                    *o = (s / c) as f32;
                }
            }
        }
    }
    cents
}

/// The inverted lists: rows grouped by home list, ids ascending within a list.
struct Lists {
    /// Row ids in list order.
    ids: Vec<u32>,
    /// `offsets[l]..offsets[l + 1]` is list `l` in `ids`/`pts`.
    offsets: Vec<usize>,
    /// Centred f32 rows in list order.
    pts: Array2<f32>,
    /// Their squared norms.
    norms: Vec<f32>,
}

impl Lists {
    fn new(xf: ArrayView2<'_, f32>, norms: &[f32], home: &[u32], lists: usize) -> Lists {
        let mut counts = vec![0usize; lists + 1];
        for &h in home {
            counts[h as usize + 1] += 1;
        }
        for l in 0..lists {
            counts[l + 1] += counts[l];
        }
        let offsets = counts.clone();
        let mut ids = vec![0u32; home.len()];
        for (i, &h) in home.iter().enumerate() {
            ids[counts[h as usize]] = i as u32;
            counts[h as usize] += 1;
        }
        let order: Vec<usize> = ids.iter().map(|&i| i as usize).collect();
        let pts = xf.select(Axis(0), &order);
        let norms = order.iter().map(|&i| norms[i]).collect();
        Lists {
            ids,
            offsets,
            pts,
            norms,
        }
    }

    fn range(&self, l: usize) -> std::ops::Range<usize> {
        self.offsets[l]..self.offsets[l + 1]
    }
}

/// Merge one query's products with a block of listed rows into its shortlist:
/// `d2 = |q|^2 + |p|^2 - 2 q·p`. Blocks of 16 whose smallest `|p|^2 - 2 q·p` cannot
/// beat the current worst are skipped (a loop the compiler vectorises).
fn scan(
    dots: &[f32],
    bnorms: &[f32],
    bids: &[u32],
    qn: f32,
    me: u32,
    list: &mut Vec<(f32, u32)>,
    short: usize,
) {
    const W: usize = 16;
    let mut worst = if list.len() == short {
        list[short - 1].0
    } else {
        f32::INFINITY
    };
    for (c, (dc, nc)) in dots.chunks(W).zip(bnorms.chunks(W)).enumerate() {
        let mut lowest = f32::INFINITY;
        for (&dot, &bn) in dc.iter().zip(nc) {
            let v = bn - 2.0 * dot;
            lowest = if v < lowest { v } else { lowest };
        }
        if qn + lowest > worst {
            continue;
        }
        for (t, (&dot, &bn)) in dc.iter().zip(nc).enumerate() {
            let d2 = qn + bn - 2.0 * dot;
            let id = bids[c * W + t];
            if d2 <= worst && id != me {
                push_best(list, short, d2, id);
                if list.len() == short {
                    worst = list[short - 1].0;
                }
            }
        }
    }
}

/// Approximate k nearest other rows of every row through `lists` inverted lists,
/// each row probing its `probe` nearest; `k < n`. `lists == 1` is exact up to the
/// f32 screening.
pub(super) fn all_knn(
    x: ArrayView2<'_, f64>,
    k: usize,
    lists: usize,
    probe: usize,
    seed: u64,
    progress: &dyn Progress,
) -> Neighbours {
    let n = x.nrows();
    let lists = lists.clamp(1, n);
    let probe = probe.clamp(1, lists);
    let (xf, norms) = centred_f32(x);
    let probes: Vec<u32> = if lists == 1 {
        vec![0; n]
    } else {
        let cents = train_quantiser(xf.view(), &norms, lists, seed);
        nearest_centroids(xf.view(), &norms, cents.view(), probe)
    };
    let home: Vec<u32> = probes.iter().step_by(probe).copied().collect();
    let inv = Lists::new(xf.view(), &norms, &home, lists);
    let short = k + k.max(8);

    // Tasks: blocks of queries sharing a home list.
    let tasks: Vec<(usize, usize)> = (0..lists)
        .flat_map(|l| {
            let r = inv.range(l);
            (r.start..r.end)
                .step_by(Q_BLOCK)
                .map(move |s| (s, (s + Q_BLOCK).min(r.end)))
        })
        .collect();

    let parts: Vec<RowLists> = tasks
        .into_par_iter()
        .map(|(qs, qe)| {
            let m = qe - qs;
            let qids = &inv.ids[qs..qe];
            // (probed list, query position in block), grouped by list.
            let mut pairs: Vec<(u32, u32)> = Vec::with_capacity(m * probe);
            for (b, &q) in qids.iter().enumerate() {
                let q = q as usize;
                pairs.extend(
                    probes[q * probe..(q + 1) * probe]
                        .iter()
                        .map(|&l| (l, b as u32)),
                );
            }
            pairs.sort_unstable();
            let mut best: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(short + 1); m];
            let mut start = 0;
            while start < pairs.len() {
                let l = pairs[start].0 as usize;
                let mut end = start;
                while end < pairs.len() && pairs[end].0 as usize == l {
                    end += 1;
                }
                let members: Vec<usize> = pairs[start..end]
                    .iter()
                    .map(|e| qs + e.1 as usize)
                    .collect();
                let q = inv.pts.select(Axis(0), &members);
                let lr = inv.range(l);
                for ps in (lr.start..lr.end).step_by(P_BLOCK) {
                    let pe = (ps + P_BLOCK).min(lr.end);
                    let g = q.dot(&inv.pts.slice_axis(Axis(0), Slice::from(ps..pe)).t());
                    let bnorms = &inv.norms[ps..pe];
                    let bids = &inv.ids[ps..pe];
                    for (grow, &pos) in g.axis_iter(Axis(0)).zip(&members) {
                        let grow = grow.as_slice().expect("standard layout");
                        scan(
                            grow,
                            bnorms,
                            bids,
                            inv.norms[pos],
                            inv.ids[pos],
                            &mut best[pos - qs],
                            short,
                        );
                    }
                }
                start = end;
            }
            // Exact f64 re-ranking of each shortlist.
            let out: Vec<(u32, Vec<(f64, u32)>)> = qids
                .iter()
                .zip(best)
                .map(|(&me, cands)| {
                    let xq = x.row(me as usize);
                    let mut exact: Vec<(f64, u32)> = Vec::with_capacity(k + 1);
                    for (_, j) in cands {
                        let xj = x.row(j as usize);
                        let d2: f64 = xq.iter().zip(xj).map(|(a, b)| (a - b) * (a - b)).sum();
                        push_best(&mut exact, k, d2, j);
                    }
                    (me, exact)
                })
                .collect();
            progress.advance(m as u64);
            out
        })
        .collect();

    let mut nb = Neighbours::new(n, k);
    for (id, best) in parts.into_iter().flatten() {
        nb.set_squared(id as usize, &best);
    }
    nb
}
