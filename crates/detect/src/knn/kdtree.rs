//! Exact all-k-nearest-neighbours with a kd-tree (Bentley 1975, "Multidimensional
//! binary search trees used for associative searching"; search as in Friedman,
//! Bentley & Finkel 1977, "An algorithm for finding best matches in logarithmic
//! expected time").
//!
//! Build: split the widest coordinate at its median until a node holds at most
//! [`LEAF`] rows. Query: descend to the nearer child first and visit the farther
//! child only when the squared distance to the splitting plane, `(q_s - v)^2`, is at
//! most the current k-th best squared distance. Distances are exact f64 sums of
//! squared differences, so the result equals brute force (ties by row index).
//! Effective in low dimension (the pruning test fails more often as `d` grows).

use ndarray::ArrayView2;
use rayon::prelude::*;

use super::{Neighbours, RowLists, push_best};
use crate::context::Progress;

/// Maximum rows per leaf.
const LEAF: usize = 24;

#[derive(Debug, Clone, Copy)]
enum Node {
    Leaf {
        start: u32,
        end: u32,
    },
    Split {
        dim: u32,
        value: f64,
        left: u32,
        right: u32,
    },
}

struct Tree {
    /// Row ids in leaf order.
    ids: Vec<u32>,
    /// Coordinates in leaf order, `ids.len() × d`, row-major.
    pts: Vec<f64>,
    nodes: Vec<Node>,
    d: usize,
}

impl Tree {
    fn build(x: ArrayView2<'_, f64>) -> Tree {
        let n = x.nrows();
        let d = x.ncols();
        let mut ids: Vec<u32> = (0..n as u32).collect();
        let mut nodes = Vec::with_capacity(2 * n / LEAF + 1);
        split(x, &mut ids, 0, &mut nodes);
        let mut pts = Vec::with_capacity(n * d);
        for &i in &ids {
            pts.extend(x.row(i as usize).iter());
        }
        Tree { ids, pts, nodes, d }
    }

    fn point(&self, pos: usize) -> &[f64] {
        &self.pts[pos * self.d..(pos + 1) * self.d]
    }

    /// k nearest rows of the row at leaf position `pos`, self excluded.
    fn query(&self, pos: usize, k: usize, best: &mut Vec<(f64, u32)>) {
        best.clear();
        let q = self.point(pos);
        let me = self.ids[pos];
        self.visit(0, q, me, k, best);
    }

    fn visit(&self, node: usize, q: &[f64], me: u32, k: usize, best: &mut Vec<(f64, u32)>) {
        match self.nodes[node] {
            Node::Leaf { start, end } => {
                for pos in start as usize..end as usize {
                    let id = self.ids[pos];
                    if id == me {
                        continue;
                    }
                    let p = self.point(pos);
                    let d2: f64 = q.iter().zip(p).map(|(a, b)| (a - b) * (a - b)).sum();
                    push_best(best, k, d2, id);
                }
            }
            Node::Split {
                dim,
                value,
                left,
                right,
            } => {
                let diff = q[dim as usize] - value;
                let (near, far) = if diff <= 0.0 {
                    (left, right)
                } else {
                    (right, left)
                };
                self.visit(near as usize, q, me, k, best);
                let worst = if best.len() == k {
                    best[k - 1].0
                } else {
                    f64::INFINITY
                };
                if diff * diff <= worst {
                    self.visit(far as usize, q, me, k, best);
                }
            }
        }
    }
}

/// Recursively split `ids` (occupying leaf positions `start..start+len`); returns
/// the node index.
fn split(x: ArrayView2<'_, f64>, ids: &mut [u32], start: usize, nodes: &mut Vec<Node>) -> u32 {
    let me = nodes.len() as u32;
    let leaf = Node::Leaf {
        start: start as u32,
        end: (start + ids.len()) as u32,
    };
    nodes.push(leaf);
    if ids.len() <= LEAF {
        return me;
    }
    let d = x.ncols();
    let mut lo = vec![f64::INFINITY; d];
    let mut hi = vec![f64::NEG_INFINITY; d];
    for &i in ids.iter() {
        for (c, &v) in x.row(i as usize).iter().enumerate() {
            lo[c] = lo[c].min(v);
            hi[c] = hi[c].max(v);
        }
    }
    let (dim, spread) = (0..d)
        .map(|c| (c, hi[c] - lo[c]))
        .fold((0, -1.0), |acc, e| if e.1 > acc.1 { e } else { acc });
    if spread <= 0.0 {
        // All rows identical: one (possibly large) leaf.
        return me;
    }
    let mid = ids.len() / 2;
    ids.select_nth_unstable_by(mid, |&a, &b| {
        x[[a as usize, dim]]
            .total_cmp(&x[[b as usize, dim]])
            .then(a.cmp(&b))
    });
    let value = x[[ids[mid] as usize, dim]];
    let (l, r) = ids.split_at_mut(mid);
    let left = split(x, l, start, nodes);
    let right = split(x, r, start + mid, nodes);
    nodes[me as usize] = Node::Split {
        dim: dim as u32,
        value,
        left,
        right,
    };
    me
}

/// Exact k nearest other rows of every row; `k < n`.
pub(super) fn all_knn(x: ArrayView2<'_, f64>, k: usize, progress: &dyn Progress) -> Neighbours {
    let n = x.nrows();
    let tree = Tree::build(x);
    const CHUNK: usize = 2048;
    let parts: Vec<RowLists> = (0..n.div_ceil(CHUNK))
        .into_par_iter()
        .map(|c| {
            let mut out = Vec::with_capacity(CHUNK);
            let mut best = Vec::with_capacity(k + 1);
            for pos in c * CHUNK..((c + 1) * CHUNK).min(n) {
                tree.query(pos, k, &mut best);
                out.push((tree.ids[pos], best.clone()));
            }
            progress.advance(out.len() as u64);
            out
        })
        .collect();
    let mut nb = Neighbours::new(n, k);
    for (id, best) in parts.into_iter().flatten() {
        nb.set_squared(id as usize, &best);
    }
    nb
}
