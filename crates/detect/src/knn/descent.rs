//! NN-descent refinement of an approximate kNN graph (Dong, Moses & Li 2011,
//! "Efficient k-nearest neighbor graph construction for generic similarity
//! measures").
//!
//! The principle is "a neighbour of a neighbour is likely a neighbour". Each round,
//! every row `u` gathers its candidate set `C(u)`: its own neighbours and its reverse
//! neighbours (rows listing `u`, at most `S` of them, nearest first), split into
//! *new* entries (inserted since they last took part in a join) and *old* ones. The
//! local join then measures every pair `(a, b)` of `C(u)` with `a` new and `b` new or
//! old, and offers `b` to `a`'s list and `a` to `b`'s: a list keeps its best `S`
//! by `|a - b|^2`. Rounds stop when fewer than `DELTA * n * S` list entries
//! change, or after a given number of rounds.
//!
//! Determinism: the candidate sets of a round are fixed from the graph as it stood
//! when the round began, and a list ends the round as the best `S` (ties by row
//! index) of its entries and everything offered to it, which does not depend on the
//! order of the offers. The joins therefore run in parallel and update lists in
//! place under striped locks, and the result is the same for any number of threads.
//! The unlocked read of a list's worst distance only pre-filters offers: lists only
//! improve, so a stale value lets more offers through, never fewer. Distances are
//! f32 sums of squared differences of the centred rows; the caller re-ranks the
//! final lists in f64.

use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};

use rayon::prelude::*;

/// Stop when fewer than this share of the `n * S` list entries changed in a round.
const DELTA: f64 = 0.002;
/// Lock stripes guarding list updates.
const STRIPES: usize = 1 << 12;

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

/// A kNN graph under refinement: `S` slots per row, each (f32 squared distance as
/// bits, row, new flag), sorted by (distance, row); empty slots hold `(inf, u32::MAX)`.
/// Slots are atomics so that joins can read a list's worst entry while another
/// thread updates it; every update happens under the row's stripe lock.
pub(super) struct Graph {
    s: usize,
    dist: Vec<AtomicU32>,
    ids: Vec<AtomicU32>,
    new: Vec<AtomicBool>,
    locks: Vec<Mutex<()>>,
}

impl Graph {
    /// From per-row candidate rows (any order, self and duplicates allowed); the
    /// distances are measured here. Every entry starts new.
    pub(super) fn new(pts: Rows<'_>, s: usize, lists: &super::ivf::Shortlists) -> Graph {
        let n = lists.len();
        let g = Graph {
            s,
            dist: (0..n * s)
                .map(|_| AtomicU32::new(f32::INFINITY.to_bits()))
                .collect(),
            ids: (0..n * s).map(|_| AtomicU32::new(u32::MAX)).collect(),
            new: (0..n * s).map(|_| AtomicBool::new(true)).collect(),
            locks: (0..STRIPES.min(n.max(1))).map(|_| Mutex::new(())).collect(),
        };
        (0..n).into_par_iter().for_each(|p| {
            let xp = pts.get(p);
            for &c in lists.row(p) {
                if c as usize != p {
                    g.offer(p, sqd(xp, pts.get(c as usize)), c);
                }
            }
        });
        g
    }

    /// Row `p`'s neighbours (fewer than `S` when the row has too few candidates).
    pub(super) fn row(&self, p: usize) -> impl Iterator<Item = u32> + '_ {
        self.ids[p * self.s..(p + 1) * self.s]
            .iter()
            .map(|a| a.load(Relaxed))
            .filter(|&j| j != u32::MAX)
    }

    /// The current worst squared distance in row `p` (a pre-filter only).
    fn worst(&self, p: usize) -> f32 {
        f32::from_bits(self.dist[p * self.s + self.s - 1].load(Relaxed))
    }

    /// Offer `(d, c)` to row `p`: inserted, flagged new, unless already listed or no
    /// better than the worst.
    fn offer(&self, p: usize, d: f32, c: u32) {
        let s = self.s;
        if d > self.worst(p) {
            return;
        }
        let _guard = self.locks[p % self.locks.len()]
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        let (dist, ids, new) = (
            &self.dist[p * s..(p + 1) * s],
            &self.ids[p * s..(p + 1) * s],
            &self.new[p * s..(p + 1) * s],
        );
        let at = |t: usize| (f32::from_bits(dist[t].load(Relaxed)), ids[t].load(Relaxed));
        let before = |a: f32, i: u32, b: f32, j: u32| a < b || (a == b && i < j);
        let (wd, wi) = at(s - 1);
        if !before(d, c, wd, wi) || ids.iter().any(|e| e.load(Relaxed) == c) {
            return;
        }
        let mut pos = s - 1;
        while pos > 0 {
            let (pd, pi) = at(pos - 1);
            if !before(d, c, pd, pi) {
                break;
            }
            dist[pos].store(pd.to_bits(), Relaxed);
            ids[pos].store(pi, Relaxed);
            new[pos].store(new[pos - 1].load(Relaxed), Relaxed);
            pos -= 1;
        }
        dist[pos].store(d.to_bits(), Relaxed);
        ids[pos].store(c, Relaxed);
        new[pos].store(true, Relaxed);
    }
}

/// Candidate sets of one round in CSR form: `new[u]` and `old[u]`.
struct Candidates {
    new_off: Vec<usize>,
    new_ids: Vec<u32>,
    old_off: Vec<usize>,
    old_ids: Vec<u32>,
}

/// Build `C(u)` for every row from the current graph (reverse lists capped at `cap`
/// nearest) and mark the graph's entries old.
fn candidates(g: &mut Graph, cap: usize) -> Candidates {
    let s = g.s;
    let n = g.ids.len() / s;
    let gr = &*g;
    let ids = |e: usize| gr.ids[e].load(Relaxed);
    let is_new = |e: usize| gr.new[e].load(Relaxed);
    // Reverse edges (distance, source) per target, split new / old, in CSR form.
    let mut count = vec![[0usize; 2]; n + 1];
    for e in 0..n * s {
        let t = ids(e);
        if t != u32::MAX {
            count[t as usize + 1][usize::from(!is_new(e))] += 1;
        }
    }
    for u in 0..n {
        let prev = count[u];
        count[u + 1][0] += prev[0];
        count[u + 1][1] += prev[1];
    }
    let mut fill = count.clone();
    let mut rev: [Vec<(f32, u32)>; 2] = [vec![(0.0, 0); count[n][0]], vec![(0.0, 0); count[n][1]]];
    for e in 0..n * s {
        let t = ids(e);
        if t != u32::MAX {
            let f = usize::from(!is_new(e));
            let slot = &mut fill[t as usize][f];
            rev[f][*slot] = (f32::from_bits(gr.dist[e].load(Relaxed)), (e / s) as u32);
            *slot += 1;
        }
    }
    let sets: Vec<(Vec<u32>, Vec<u32>)> = (0..n)
        .into_par_iter()
        .with_min_len(1024)
        .map(|u| {
            let mut out: [Vec<u32>; 2] = [Vec::with_capacity(2 * s), Vec::with_capacity(2 * s)];
            for (f, set) in out.iter_mut().enumerate() {
                for e in u * s..(u + 1) * s {
                    if ids(e) != u32::MAX && usize::from(!is_new(e)) == f {
                        set.push(ids(e));
                    }
                }
                let r = &rev[f][count[u][f]..count[u + 1][f]];
                if r.len() > cap {
                    let mut r = r.to_vec();
                    r.select_nth_unstable_by(cap - 1, |a, b| {
                        a.0.total_cmp(&b.0).then(a.1.cmp(&b.1))
                    });
                    set.extend(r[..cap].iter().map(|e| e.1));
                } else {
                    set.extend(r.iter().map(|e| e.1));
                }
                set.sort_unstable();
                set.dedup();
            }
            let [nw, mut old] = out;
            old.retain(|j| nw.binary_search(j).is_err());
            (nw, old)
        })
        .collect();
    g.new.iter_mut().for_each(|f| *f.get_mut() = false);
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

/// One round of local joins; returns the number of list entries that changed
/// (entries flagged new at the end, which does not depend on the order of offers).
fn round(pts: Rows<'_>, g: &mut Graph, cap: usize) -> usize {
    let n = g.ids.len() / g.s;
    let c = candidates(g, cap);
    let gr = &*g;
    let dim = pts.dim;
    (0..n).into_par_iter().with_min_len(256).for_each_init(
        || (Vec::new(), Vec::new(), Vec::new()),
        |(members, rows, worst): &mut (Vec<u32>, Vec<f32>, Vec<f32>), u| {
            let nw = &c.new_ids[c.new_off[u]..c.new_off[u + 1]];
            let old = &c.old_ids[c.old_off[u]..c.old_off[u + 1]];
            // Gather the members' rows and current worst distances (a valid
            // pre-filter for the whole join: lists only improve) so the pair loop
            // runs from cache.
            members.clear();
            members.extend(nw.iter().chain(old));
            rows.clear();
            worst.clear();
            for &m in members.iter() {
                rows.extend_from_slice(pts.get(m as usize));
                worst.push(gr.worst(m as usize));
            }
            for i in 0..nw.len() {
                let (a, xa) = (members[i], &rows[i * dim..(i + 1) * dim]);
                for j in i + 1..members.len() {
                    let d = sqd(xa, &rows[j * dim..(j + 1) * dim]);
                    let b = members[j];
                    if d <= worst[i] {
                        gr.offer(a as usize, d, b);
                    }
                    if d <= worst[j] {
                        gr.offer(b as usize, d, a);
                    }
                }
            }
        },
    );
    g.new
        .iter_mut()
        .map(|f| usize::from(*f.get_mut()))
        .sum::<usize>()
}

/// Refine `g` for at most `rounds` rounds (see the module doc).
pub(super) fn refine(pts: Rows<'_>, g: &mut Graph, rounds: usize) {
    let n = g.ids.len() / g.s;
    let cap = g.s;
    for _ in 0..rounds {
        let updates = round(pts, g, cap);
        if (updates as f64) < DELTA * (n * g.s) as f64 {
            break;
        }
    }
}
