//! Blocked all-k-nearest-neighbours through an inverted-file index (IVF-flat:
//! Sivic & Zisserman 2003, "Video Google: a text retrieval approach to object
//! matching in videos"; Jégou, Douze & Schmid 2011, "Product quantization for
//! nearest neighbor search", whose IVF without compression this is).
//!
//! A coarse quantiser (Lloyd's k-means on a sample, Lloyd 1982) splits the rows into
//! `L` lists. Every row probes its `P` nearest lists. Queries are processed per home
//! list in blocks, and each block meets each probed list in one matrix product
//! (f32 GEMM of `[q, 1]` with `[-2p, |p|^2]`, giving `|q - p|^2 - |q|^2` on
//! mean-centred data). Each query keeps a shortlist of `k + max(k/2, 5)` f32
//! candidates, which is then re-ranked with exact f64 distances, so every reported
//! distance is exact and only the choice of candidates is approximate. With `L = 1` it is
//! blocked exact brute force.

use ndarray::{Array2, ArrayView2, Axis, Slice};
use rand::SeedableRng;
use rand::seq::SliceRandom;
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::{Neighbours, push_best, sq_dist};
use crate::context::Progress;

/// Rows per block when assigning rows to centroids.
const Q_BLOCK: usize = 256;
/// Queries per search task (a whole list of typical size).
const SEARCH_BLOCK: usize = 1024;
/// Listed rows per matrix product.
const P_BLOCK: usize = 2048;
/// Lloyd iterations of the coarse quantiser.
const KMEANS_ITERS: usize = 8;
/// Sample rows per list for training the coarse quantiser.
const SAMPLE_PER_LIST: usize = 48;

/// Mean-centred f32 copy of `x` in query form `[x, 1]` (one extra column), and the
/// squared row norms.
fn centred_f32(x: ArrayView2<'_, f64>) -> (Array2<f32>, Vec<f32>) {
    let d = x.ncols();
    let mean = x.mean_axis(Axis(0)).expect("non-empty");
    let xf = Array2::from_shape_fn((x.nrows(), d + 1), |(i, j)| {
        if j < d {
            (x[[i, j]] - mean[j]) as f32
        } else {
            1.0
        }
    });
    let norms = xf
        .rows()
        .into_iter()
        .map(|r| r.iter().take(d).map(|v| v * v).sum())
        .collect();
    (xf, norms)
}

/// Base form `[-2 p, |p|^2]` of rows given in query form `[p, 1]`, so that
/// `[q, 1] · [-2 p, |p|^2] = |p|^2 - 2 q·p = |q - p|^2 - |q|^2`.
fn base_form(q: ArrayView2<'_, f32>, norms: &[f32]) -> Array2<f32> {
    let d = q.ncols() - 1;
    Array2::from_shape_fn(
        q.raw_dim(),
        |(i, j)| {
            if j < d { -2.0 * q[[i, j]] } else { norms[i] }
        },
    )
}

/// Merge products `g[t] = |p_t|^2 - 2 q·p_t` into a shortlist of (`|q - p|^2`, id)
/// with ids `first + t`, skipping `me`. Each block of 16 is tested lane-wise against
/// the current worst (a loop the compiler vectorises into one bit mask), and only the
/// lanes that pass are visited: most blocks have none, and a block that has some
/// usually has one or two.
fn scan(g: &[f32], first: usize, qn: f32, me: usize, list: &mut Vec<(f32, u32)>, short: usize) {
    const W: usize = 16;
    let mut worst = if list.len() == short {
        list[short - 1].0
    } else {
        f32::INFINITY
    };
    let mut visit = |t: usize, d2: f32, worst: &mut f32| {
        let pos = first + t;
        if d2 <= *worst && pos != me {
            push_best(list, short, d2, pos as u32);
            if list.len() == short {
                *worst = list[short - 1].0;
            }
        }
    };
    let blocks = g.chunks_exact(W);
    let tail = blocks.remainder();
    for (c, block) in blocks.enumerate() {
        let mut mask = 0u32;
        for (t, &v) in block.iter().enumerate() {
            mask |= u32::from(qn + v <= worst) << t;
        }
        // Later lanes are re-tested against the worst as it tightens.
        while mask != 0 {
            let t = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            visit(c * W + t, qn + block[t], &mut worst);
        }
    }
    let done = g.len() - tail.len();
    for (t, &v) in tail.iter().enumerate() {
        visit(done + t, qn + v, &mut worst);
    }
}

/// For each row of `pts` (query form), the `p` nearest centroids, nearest first.
fn nearest_centroids(
    pts: ArrayView2<'_, f32>,
    pnorms: &[f32],
    cents: ArrayView2<'_, f32>,
    p: usize,
) -> Vec<u32> {
    let d = cents.ncols();
    let cnorms: Vec<f32> = cents.axis_iter(Axis(0)).map(|r| r.dot(&r)).collect();
    let cq = Array2::from_shape_fn((cents.nrows(), d + 1), |(i, j)| {
        if j < d { cents[[i, j]] } else { 1.0 }
    });
    let cbase = base_form(cq.view(), &cnorms);
    let n = pts.nrows();
    let chunks: Vec<Vec<u32>> = (0..n.div_ceil(Q_BLOCK))
        .into_par_iter()
        .map(|c| {
            let rows = c * Q_BLOCK..((c + 1) * Q_BLOCK).min(n);
            let g = pts
                .slice_axis(Axis(0), Slice::from(rows.clone()))
                .dot(&cbase.t());
            let mut out = Vec::with_capacity(rows.len() * p);
            let mut best: Vec<(f32, u32)> = Vec::with_capacity(p + 1);
            for (r, grow) in rows.zip(g.axis_iter(Axis(0))) {
                best.clear();
                let grow = grow.as_slice().expect("standard layout");
                scan(grow, 0, pnorms[r], usize::MAX, &mut best, p);
                out.extend(best.iter().map(|e| e.1));
            }
            out
        })
        .collect();
    chunks.concat()
}

/// Lloyd's k-means on a seeded sample of rows (query form); returns `lists × d`
/// centroids.
fn train_quantiser(xf: ArrayView2<'_, f32>, norms: &[f32], lists: usize, seed: u64) -> Array2<f32> {
    let n = xf.nrows();
    let d = xf.ncols() - 1;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed ^ 0x1f5_9e3a);
    let m = (lists * SAMPLE_PER_LIST).min(n);
    let mut sample = rand::seq::index::sample(&mut rng, n, m).into_vec();
    sample.sort_unstable();
    let pts = xf.select(Axis(0), &sample);
    let pnorms: Vec<f32> = sample.iter().map(|&i| norms[i]).collect();
    let mut init: Vec<usize> = (0..m).collect();
    init.shuffle(&mut rng);
    let mut cents = pts
        .select(Axis(0), &init[..lists])
        .slice_axis(Axis(1), Slice::from(0..d))
        .to_owned();
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
                for (o, &v) in cents.row_mut(l).iter_mut().zip(pts.row(r)) {
                    *o = v;
                }
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

/// Reorder the rows of `m` in place so that row `p` becomes the old row `order[p]`
/// (`order` a permutation), following each cycle with one spare row.
fn permute_rows(m: &mut Array2<f32>, order: &[u32]) {
    let w = m.ncols();
    let data = m.as_slice_mut().expect("standard layout");
    let mut done = vec![false; order.len()];
    let mut spare = vec![0.0f32; w];
    for start in 0..order.len() {
        if done[start] || order[start] as usize == start {
            done[start] = true;
            continue;
        }
        spare.copy_from_slice(&data[start * w..(start + 1) * w]);
        let mut cur = start;
        loop {
            done[cur] = true;
            let src = order[cur] as usize;
            if src == start {
                data[cur * w..(cur + 1) * w].copy_from_slice(&spare);
                break;
            }
            data.copy_within(src * w..(src + 1) * w, cur * w);
            cur = src;
        }
    }
}

/// The inverted lists: rows grouped by home list, ids ascending within a list.
pub(super) struct Lists {
    /// Row ids in list order.
    pub(super) ids: Vec<u32>,
    /// `offsets[l]..offsets[l + 1]` is list `l` in `ids`/`base`.
    offsets: Vec<usize>,
    /// The centred f32 rows `p` in list order, in base form `[-2 p, |p|^2]`.
    pub(super) base: Array2<f32>,
    /// Their squared norms `|p|^2`.
    norms: Vec<f32>,
}

impl Lists {
    /// Group the rows of `xf` (query form) by `home` list; consumes `xf`, whose rows
    /// are permuted into list order and rewritten into base form in place, so the
    /// index never holds a second copy of the rows.
    fn new(mut xf: Array2<f32>, norms: &[f32], home: &[u32], lists: usize) -> Lists {
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
        permute_rows(&mut xf, &ids);
        let d = xf.ncols() - 1;
        let norms: Vec<f32> = ids.iter().map(|&i| norms[i as usize]).collect();
        let w = d + 1;
        xf.as_slice_mut()
            .expect("standard layout")
            .par_chunks_mut(w * Q_BLOCK)
            .zip(norms.par_chunks(Q_BLOCK))
            .for_each(|(block, bnorms)| {
                for (row, &nrm) in block.chunks_exact_mut(w).zip(bnorms) {
                    for v in &mut row[..d] {
                        *v *= -2.0;
                    }
                    row[d] = nrm;
                }
            });
        Lists {
            ids,
            offsets,
            base: xf,
            norms,
        }
    }

    fn range(&self, l: usize) -> std::ops::Range<usize> {
        self.offsets[l]..self.offsets[l + 1]
    }

    /// Query form `[p, 1]` of the rows at list positions `members` (exact: the base
    /// form scales by a power of two).
    fn queries(&self, members: &[usize]) -> Array2<f32> {
        let d = self.base.ncols() - 1;
        let mut q = Array2::<f32>::ones((members.len(), d + 1));
        for (mut qr, &p) in q.rows_mut().into_iter().zip(members) {
            let b = self.base.row(p);
            let (b, qr) = (
                b.as_slice().expect("standard layout"),
                qr.as_slice_mut().expect("standard layout"),
            );
            for (o, &v) in qr[..d].iter_mut().zip(&b[..d]) {
                *o = -0.5 * v;
            }
        }
        q
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
    let short = k + (k / 2).max(5);
    let (inv, cands) = search(x, short, lists, probe, seed, progress);
    // The re-ranking reads the caller's f64 rows: the f32 index can go first.
    let ids = inv.ids;
    drop(inv.base);
    rerank(x, &ids, k, &|p, out| out.extend_from_slice(cands.row(p)))
}

/// Every list position's candidates (list positions, nearest first), `short` slots
/// per position in one flat array; unused slots hold `u32::MAX`.
pub(super) struct Shortlists {
    short: usize,
    pos: Vec<u32>,
}

impl Shortlists {
    /// Number of positions.
    pub(super) fn len(&self) -> usize {
        self.pos.len() / self.short.max(1)
    }

    /// The candidates of position `p`.
    pub(super) fn row(&self, p: usize) -> &[u32] {
        let r = &self.pos[p * self.short..(p + 1) * self.short];
        &r[..r.partition_point(|&c| c != u32::MAX)]
    }
}

/// Exact f64 re-ranking: the `k` nearest of each row's candidates. `cands(p, out)`
/// appends the list positions of candidates for the row at list position `p`; `ids`
/// maps positions to rows. Rows are written straight into the graph, in parallel
/// chunks, so no per-row lists are held.
pub(super) fn rerank(
    x: ArrayView2<'_, f64>,
    ids: &[u32],
    k: usize,
    cands: &(dyn Fn(usize, &mut Vec<u32>) + Sync),
) -> Neighbours {
    const CHUNK: usize = 512;
    let n = ids.len();
    let mut pos_of = vec![0u32; n];
    for (p, &i) in ids.iter().enumerate() {
        pos_of[i as usize] = p as u32;
    }
    let mut nb = Neighbours::new(n, k);
    let (indices, distances, filled) = nb.parts_mut();
    // In row order, so that the query rows are read sequentially.
    indices
        .par_chunks_mut(CHUNK * k)
        .zip(distances.par_chunks_mut(CHUNK * k))
        .zip(filled.par_chunks_mut(CHUNK))
        .enumerate()
        .for_each(|(c, ((idx, dist), fill))| {
            let mut exact: Vec<(f64, u32)> = Vec::with_capacity(k + 1);
            let mut list: Vec<u32> = Vec::new();
            for (r, f) in fill.iter_mut().enumerate() {
                let me = c * CHUNK + r;
                let xq = x.row(me);
                exact.clear();
                list.clear();
                cands(pos_of[me] as usize, &mut list);
                for &pos in &list {
                    let j = ids[pos as usize];
                    let xj = x.row(j as usize);
                    let d2 = match (xq.as_slice(), xj.as_slice()) {
                        (Some(a), Some(b)) => sq_dist(a, b),
                        _ => xq.iter().zip(xj).map(|(a, b)| (a - b) * (a - b)).sum(),
                    };
                    push_best(&mut exact, k, d2, j);
                }
                *f = Neighbours::write_squared(
                    &mut idx[r * k..(r + 1) * k],
                    &mut dist[r * k..(r + 1) * k],
                    &exact,
                );
            }
        });
    nb
}

/// The IVF search: the inverted lists and, for each list position, a shortlist of
/// `short` (f32 squared distance, list position) candidates, nearest first.
pub(super) fn search(
    x: ArrayView2<'_, f64>,
    short: usize,
    lists: usize,
    probe: usize,
    seed: u64,
    progress: &dyn Progress,
) -> (Lists, Shortlists) {
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
    let inv = Lists::new(xf, &norms, &home, lists);

    // Tasks: blocks of queries sharing a home list.
    let tasks: Vec<(usize, usize)> = (0..lists)
        .flat_map(|l| {
            let r = inv.range(l);
            (r.start..r.end)
                .step_by(SEARCH_BLOCK)
                .map(move |s| (s, (s + SEARCH_BLOCK).min(r.end)))
        })
        .collect();

    // Tasks cover the list positions in order, so the flat output splits into one
    // disjoint slice per task.
    let mut out = Shortlists {
        short,
        pos: vec![u32::MAX; n * short],
    };
    let mut slices: Vec<&mut [u32]> = Vec::with_capacity(tasks.len());
    let mut rest: &mut [u32] = &mut out.pos;
    for &(qs, qe) in &tasks {
        let (head, tail) = rest.split_at_mut((qe - qs) * short);
        slices.push(head);
        rest = tail;
    }
    tasks
        .into_par_iter()
        .zip(slices)
        .for_each(|((qs, qe), slots)| {
            let m = qe - qs;
            let qids = &inv.ids[qs..qe];
            // (probed list, query position in block, probe rank), grouped by list.
            let mut pairs: Vec<(u32, u32, u32)> = Vec::with_capacity(m * probe);
            for (b, &q) in qids.iter().enumerate() {
                let q = q as usize;
                pairs.extend(
                    probes[q * probe..(q + 1) * probe]
                        .iter()
                        .enumerate()
                        .map(|(r, &l)| (l, b as u32, r as u32)),
                );
            }
            pairs.sort_unstable();
            // Groups of equal list, visited by mean probe rank (nearest lists first,
            // so shortlists tighten early and later blocks are mostly skipped).
            let mut groups: Vec<(u64, usize, usize)> = Vec::new();
            let mut start = 0;
            while start < pairs.len() {
                let mut end = start;
                let mut rank_sum = 0u64;
                while end < pairs.len() && pairs[end].0 == pairs[start].0 {
                    rank_sum += pairs[end].2 as u64;
                    end += 1;
                }
                let key = (rank_sum << 20) / (end - start) as u64;
                groups.push((key, start, end));
                start = end;
            }
            groups.sort_unstable();
            let mut best: Vec<Vec<(f32, u32)>> = vec![Vec::with_capacity(short + 1); m];
            for (_, start, end) in groups {
                let l = pairs[start].0 as usize;
                let members: Vec<usize> = pairs[start..end]
                    .iter()
                    .map(|e| qs + e.1 as usize)
                    .collect();
                let q = inv.queries(&members);
                let lr = inv.range(l);
                for ps in (lr.start..lr.end).step_by(P_BLOCK) {
                    let pe = (ps + P_BLOCK).min(lr.end);
                    let g = q.dot(&inv.base.slice_axis(Axis(0), Slice::from(ps..pe)).t());
                    for (grow, &pos) in g.axis_iter(Axis(0)).zip(&members) {
                        let grow = grow.as_slice().expect("standard layout");
                        scan(grow, ps, inv.norms[pos], pos, &mut best[pos - qs], short);
                    }
                }
            }
            for (b, list) in best.iter().enumerate() {
                for (o, e) in slots[b * short..].iter_mut().zip(list) {
                    *o = e.1;
                }
            }
            progress.advance(m as u64);
        });
    (inv, out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `scan` keeps exactly what pushing every value through `push_best` keeps:
    /// whole blocks, the tail, ties, `me` skipped, a list that starts part-full.
    #[test]
    fn scan_matches_pushing_every_value() {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(7);
        for (len, short, me, prefill) in [
            (16 * 5 + 7, 6, 3, 0),
            (40, 15, 99, 4),
            (9, 4, 100, 2),
            (50, 3, 0, 3),
        ] {
            // Few distinct values, so ties are common, also with the pre-filled entries
            // (whose ids are higher, so a tie from `g` displaces them).
            let g: Vec<f32> = (0..len)
                .map(|_| f32::from(rand::Rng::gen_range(&mut rng, 0u8..12)) - 6.0)
                .collect();
            let (first, qn) = (100, 2.5f32);
            let mut start = Vec::new();
            for p in 0..prefill {
                push_best(&mut start, short, 1.5 + p as f32, 1000 + p as u32);
            }
            let mut want = start.clone();
            for (t, &v) in g.iter().enumerate() {
                if first + t != me {
                    push_best(&mut want, short, qn + v, (first + t) as u32);
                }
            }
            let mut got = start;
            scan(&g, first, qn, me, &mut got, short);
            assert_eq!(got, want, "len {len}, short {short}");
        }
        // A full list whose worst entry ties every value of `g`: the first (lower id)
        // displaces it, the rest lose the tie to that one.
        let mut got = vec![(1.5, 1000), (2.5, 1001), (3.5, 1002)];
        scan(&[1.0; 20], 100, 2.5, usize::MAX, &mut got, 3);
        assert_eq!(got, vec![(1.5, 1000), (2.5, 1001), (3.5, 100)]);
    }

    #[test]
    fn rows_are_permuted_in_place() {
        let m0 = Array2::from_shape_fn((7, 3), |(i, j)| (10 * i + j) as f32);
        // Two cycles and a fixed point.
        let order = [3u32, 0, 2, 6, 1, 4, 5];
        let mut m = m0.clone();
        permute_rows(&mut m, &order);
        for (p, &src) in order.iter().enumerate() {
            assert_eq!(m.row(p), m0.row(src as usize), "position {p}");
        }
    }
}
