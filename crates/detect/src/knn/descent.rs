//! NN-descent refinement of an approximate kNN graph (Dong, Moses & Li 2011,
//! "Efficient k-nearest neighbor graph construction for generic similarity
//! measures").
//!
//! The principle is "a neighbour of a neighbour is likely a neighbour". Each round,
//! every row `u` gathers its candidate set `C(u)`: its own neighbours and its reverse
//! neighbours (rows listing `u`, at most `S` of them, nearest first), split into
//! *new* entries (inserted since they last took part in a join) and *old* ones. The
//! local join then measures every pair `(a, b)` of `C(u)` with `a` new and `b` new or
//! old, and proposes `b` to `a`'s list (and `a` to `b`'s) when
//! `|a - b|^2` beats the list's current worst. Rounds stop when fewer than
//! `DELTA * n * S` list entries change, or after a given number of rounds.
//!
//! Rows are processed in fixed chunks; each chunk's proposals are applied after the
//! chunk, grouped by target row and sorted by (target, distance, candidate), so the
//! result is a pure function of the input whatever the number of threads (a list is
//! the best `S` of a set with ties by row index, which does not depend on the order
//! the set arrives in). Distances are f32 sums of squared differences of the centred
//! rows; the caller re-ranks the final lists in f64.

use rayon::prelude::*;

/// Stop when fewer than this share of the `n * S` list entries changed in a round.
const DELTA: f64 = 0.002;
/// Rows per local-join chunk (proposals are applied after each chunk).
const CHUNK: usize = 1 << 15;
/// Target rows per bucket when applying proposals.
const BUCKET: usize = 1 << 12;

/// A kNN graph under refinement: `S` slots per row, each (f32 squared distance,
/// row, new flag), sorted by (distance, row); empty slots hold `(inf, u32::MAX)`.
pub(super) struct Graph {
    s: usize,
    dist: Vec<f32>,
    ids: Vec<u32>,
    new: Vec<bool>,
}

/// Squared Euclidean distance of two f32 rows in eight interleaved lanes.
fn sqd(a: &[f32], b: &[f32]) -> f32 {
    let mut acc = [0.0f32; 8];
    let (ca, cb) = (a.chunks_exact(8), b.chunks_exact(8));
    let (ra, rb) = (ca.remainder(), cb.remainder());
    for (x, y) in ca.zip(cb) {
        for l in 0..8 {
            let t = x[l] - y[l];
            acc[l] += t * t;
        }
    }
    let mut tail = 0.0;
    for (x, y) in ra.iter().zip(rb) {
        tail += (x - y) * (x - y);
    }
    ((acc[0] + acc[1]) + (acc[2] + acc[3])) + ((acc[4] + acc[5]) + (acc[6] + acc[7])) + tail
}

/// Rows of a row-major f32 matrix: the first `dim` of every `stride` values.
#[derive(Clone, Copy)]
pub(super) struct Rows<'a> {
    /// The matrix, row-major.
    pub(super) data: &'a [f32],
    /// Values per stored row.
    pub(super) stride: usize,
    /// Values compared per row.
    pub(super) dim: usize,
}

impl Rows<'_> {
    fn get(&self, i: usize) -> &[f32] {
        &self.data[i * self.stride..i * self.stride + self.dim]
    }
}

impl Graph {
    /// From per-row candidate rows (any order, self and duplicates allowed); the
    /// distances are measured here. Every entry starts new.
    pub(super) fn new(pts: Rows<'_>, s: usize, lists: &[Vec<u32>]) -> Graph {
        let n = lists.len();
        let mut g = Graph {
            s,
            dist: vec![f32::INFINITY; n * s],
            ids: vec![u32::MAX; n * s],
            new: vec![true; n * s],
        };
        g.dist
            .par_chunks_mut(s)
            .zip(g.ids.par_chunks_mut(s))
            .zip(lists.par_iter())
            .enumerate()
            .for_each(|(p, ((dist, ids), cands))| {
                let xp = pts.get(p);
                for &c in cands {
                    if c as usize != p {
                        let cu = c as usize;
                        insert(dist, ids, None, sqd(xp, pts.get(cu)), c);
                    }
                }
            });
        g
    }

    /// Row `p`'s neighbours (fewer than `S` when the row has too few candidates).
    pub(super) fn row(&self, p: usize) -> impl Iterator<Item = u32> + '_ {
        self.ids[p * self.s..(p + 1) * self.s]
            .iter()
            .copied()
            .filter(|&j| j != u32::MAX)
    }
}

/// Insert `(d, c)` into a sorted row of slots unless it is already there or no
/// better than the worst; returns whether it was inserted.
fn insert(dist: &mut [f32], ids: &mut [u32], new: Option<&mut [bool]>, d: f32, c: u32) -> bool {
    let s = dist.len();
    let before = |a: f32, i: u32, b: f32, j: u32| a < b || (a == b && i < j);
    if !before(d, c, dist[s - 1], ids[s - 1]) {
        return false;
    }
    if ids.contains(&c) {
        return false;
    }
    let pos = (0..s)
        .position(|t| before(d, c, dist[t], ids[t]))
        .unwrap_or(s - 1);
    dist.copy_within(pos..s - 1, pos + 1);
    ids.copy_within(pos..s - 1, pos + 1);
    dist[pos] = d;
    ids[pos] = c;
    if let Some(new) = new {
        new.copy_within(pos..s - 1, pos + 1);
        new[pos] = true;
    }
    true
}

/// Candidate sets of one round in CSR form: `new[u]` and `old[u]`.
struct Candidates {
    new_off: Vec<usize>,
    new_ids: Vec<u32>,
    old_off: Vec<usize>,
    old_ids: Vec<u32>,
}

/// Build `C(u)` for every row from the current graph and mark the new forward
/// entries old.
fn candidates(g: &mut Graph) -> Candidates {
    let s = g.s;
    let n = g.ids.len() / s;
    // Reverse edges (source, distance) per target, split new / old, in CSR form.
    let mut count = vec![[0usize; 2]; n + 1];
    for (e, &t) in g.ids.iter().enumerate() {
        if t != u32::MAX {
            count[t as usize + 1][usize::from(!g.new[e])] += 1;
        }
    }
    for u in 0..n {
        for f in 0..2 {
            count[u + 1][f] += count[u][f];
        }
    }
    let mut fill = count.clone();
    let mut rev: [Vec<(f32, u32)>; 2] = [
        vec![(0.0, 0); count[n][0]],
        vec![(0.0, 0); count[n][1]],
    ];
    for (e, &t) in g.ids.iter().enumerate() {
        if t != u32::MAX {
            let f = usize::from(!g.new[e]);
            let slot = &mut fill[t as usize][f];
            rev[f][*slot] = (g.dist[e], (e / s) as u32);
            *slot += 1;
        }
    }
    let sets: Vec<(Vec<u32>, Vec<u32>)> = (0..n)
        .into_par_iter()
        .map(|u| {
            let mut out: [Vec<u32>; 2] = [Vec::with_capacity(2 * s), Vec::with_capacity(2 * s)];
            for f in 0..2 {
                for e in u * s..(u + 1) * s {
                    if g.ids[e] != u32::MAX && usize::from(!g.new[e]) == f {
                        out[f].push(g.ids[e]);
                    }
                }
                let mut r = rev[f][count[u][f]..count[u + 1][f]].to_vec();
                if r.len() > s {
                    r.select_nth_unstable_by(s - 1, |a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                    r.truncate(s);
                }
                out[f].extend(r.iter().map(|e| e.1));
                out[f].sort_unstable();
                out[f].dedup();
            }
            let [nw, mut old] = out;
            old.retain(|j| nw.binary_search(j).is_err());
            (nw, old)
        })
        .collect();
    g.new.iter_mut().for_each(|f| *f = false);
    let mut c = Candidates {
        new_off: Vec::with_capacity(n + 1),
        new_ids: Vec::new(),
        old_off: Vec::with_capacity(n + 1),
        old_ids: Vec::new(),
    };
    c.new_off.push(0);
    c.old_off.push(0);
    for (nw, old) in sets {
        c.new_ids.extend(nw);
        c.old_ids.extend(old);
        c.new_off.push(c.new_ids.len());
        c.old_off.push(c.old_ids.len());
    }
    c
}

static PAIRS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
static PROPS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// One round of local joins; returns the number of list entries that changed.
fn round(pts: Rows<'_>, g: &mut Graph) -> usize {
    let s = g.s;
    let n = g.ids.len() / s;
    let t0 = std::time::Instant::now();
    let c = candidates(g);
    let (mut tj, mut ta) = (0.0, 0.0);
    let tc = t0.elapsed().as_secs_f64();
    let mut updates = 0;
    for start in (0..n).step_by(CHUNK) {
        let end = (start + CHUNK).min(n);
        let gr = &*g;
        let worst = |a: u32| gr.dist[a as usize * s + s - 1];
        let t1 = std::time::Instant::now();
        let props: Vec<(u32, u32, f32)> = (start..end)
            .into_par_iter()
            .with_min_len(256)
            .flat_map_iter(|u| {
                let nw = &c.new_ids[c.new_off[u]..c.new_off[u + 1]];
                let old = &c.old_ids[c.old_off[u]..c.old_off[u + 1]];
                let mut out = Vec::new();
                for (i, &a) in nw.iter().enumerate() {
                    let au = a as usize;
                    let xa = pts.get(au);
                    let (wa, rest) = (worst(a), nw[i + 1..].iter().chain(old));
                    for &b in rest {
                        let bu = b as usize;
                        let d = sqd(xa, pts.get(bu));
                        if d <= wa {
                            out.push((a, b, d));
                        }
                        if d <= worst(b) {
                            out.push((b, a, d));
                        }
                    }
                }
                out
            })
            .collect();
        PAIRS.fetch_add(
            (start..end)
                .map(|u| {
                    let a = c.new_off[u + 1] - c.new_off[u];
                    let b = c.old_off[u + 1] - c.old_off[u];
                    a * (a - a.min(1)) / 2 + a * b
                })
                .sum::<usize>(),
            std::sync::atomic::Ordering::Relaxed,
        );
        PROPS.fetch_add(props.len(), std::sync::atomic::Ordering::Relaxed);
        tj += t1.elapsed().as_secs_f64();
        let t2 = std::time::Instant::now();
        updates += apply(g, props);
        ta += t2.elapsed().as_secs_f64();
    }
    #[allow(clippy::print_stderr)]
    if std::env::var_os("DATAVET_KNN_DEBUG").is_some() {
        eprintln!("cands {tc:.3} join {tj:.3} apply {ta:.3}");
    }
    updates
}

/// Apply proposals `(target, candidate, distance)`; returns how many were inserted.
fn apply(g: &mut Graph, props: Vec<(u32, u32, f32)>) -> usize {
    let s = g.s;
    let n = g.ids.len() / s;
    let buckets = n.div_ceil(BUCKET);
    let mut off = vec![0usize; buckets + 1];
    for p in &props {
        off[p.0 as usize / BUCKET + 1] += 1;
    }
    for b in 0..buckets {
        off[b + 1] += off[b];
    }
    let mut fill = off.clone();
    let mut sorted = vec![(0u32, 0u32, 0.0f32); props.len()];
    for p in props {
        let slot = &mut fill[p.0 as usize / BUCKET];
        sorted[*slot] = p;
        *slot += 1;
    }
    let mut groups: Vec<&mut [(u32, u32, f32)]> = Vec::with_capacity(buckets);
    let mut rest = sorted.as_mut_slice();
    for b in 0..buckets {
        let (head, tail) = rest.split_at_mut(off[b + 1] - off[b]);
        groups.push(head);
        rest = tail;
    }
    g.dist
        .par_chunks_mut(BUCKET * s)
        .zip(g.ids.par_chunks_mut(BUCKET * s))
        .zip(g.new.par_chunks_mut(BUCKET * s))
        .zip(groups.into_par_iter())
        .enumerate()
        .map(|(b, (((dist, ids), new), props))| {
            props.sort_unstable_by(|x, y| {
                (x.0, x.2, x.1)
                    .partial_cmp(&(y.0, y.2, y.1))
                    .expect("finite distances")
            });
            let mut done = 0;
            for &(t, c, d) in props.iter() {
                let r = (t as usize - b * BUCKET) * s;
                let row = r..r + s;
                done += usize::from(insert(
                    &mut dist[row.clone()],
                    &mut ids[row.clone()],
                    Some(&mut new[row]),
                    d,
                    c,
                ));
            }
            done
        })
        .sum()
}

/// Refine `g` for at most `rounds` rounds (see the module doc).
pub(super) fn refine(pts: Rows<'_>, g: &mut Graph, rounds: usize) {
    let n = g.ids.len() / g.s;
    for _r in 0..rounds {
        let t = std::time::Instant::now();
        let updates = round(pts, g);
        let _pairs = PAIRS.swap(0, std::sync::atomic::Ordering::Relaxed);
        let _props = PROPS.swap(0, std::sync::atomic::Ordering::Relaxed);
        #[allow(clippy::print_stderr)]
        if std::env::var_os("DATAVET_KNN_DEBUG").is_some() {
            eprintln!("round {_r}: {updates} updates, {_pairs} pairs, {_props} proposals, {:.2?}", t.elapsed());
        }
        if (updates as f64) < DELTA * (n * g.s) as f64 {
            break;
        }
    }
}
