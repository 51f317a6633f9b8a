//! The k-nearest-neighbour graph shared by the neighbour-based detectors
//! (kNN outlier score, near-duplicates, kNN label disagreement, confident learning).
//!
//! Built once per scan: for every row, the indices of its `k` nearest other rows and
//! the Euclidean distances to them, nearest first. Ties are broken by row index so
//! the graph is deterministic.

use ndarray::{Array2, ArrayView2};
use rayon::prelude::*;

use crate::context::Progress;

/// For every row, its `k` nearest other rows (self excluded), nearest first.
#[derive(Debug, Clone, PartialEq)]
pub struct KnnGraph {
    /// Neighbour row indices, rows × k.
    pub indices: Array2<u32>,
    /// Euclidean distances, rows × k, non-decreasing along each row.
    pub distances: Array2<f64>,
}

impl KnnGraph {
    /// Number of neighbours per row.
    pub fn k(&self) -> usize {
        self.indices.ncols()
    }

    /// Number of rows.
    pub fn n_rows(&self) -> usize {
        self.indices.nrows()
    }

    /// Exact kNN by brute force, parallel over query rows. `k` is clamped to
    /// `n - 1`. Quadratic: the fast builder picks this only for small tables.
    pub fn brute_force(x: ArrayView2<'_, f64>, k: usize, progress: &dyn Progress) -> KnnGraph {
        let n = x.nrows();
        let k = k.min(n.saturating_sub(1));
        let norms: Vec<f64> = x.rows().into_iter().map(|r| r.dot(&r)).collect();
        progress.start("nearest neighbours", n as u64);
        let rows: Vec<(Vec<u32>, Vec<f64>)> = (0..n)
            .into_par_iter()
            .map(|i| {
                let row = x.row(i);
                let mut best: Vec<(f64, u32)> = Vec::with_capacity(k + 1);
                for j in 0..n {
                    if j == i {
                        continue;
                    }
                    let d2 = (norms[i] + norms[j] - 2.0 * row.dot(&x.row(j))).max(0.0);
                    push_best(&mut best, k, d2, j as u32);
                }
                if i % 1024 == 0 {
                    progress.advance(1024.min(n - i) as u64);
                }
                let (d, idx): (Vec<f64>, Vec<u32>) =
                    best.into_iter().map(|(d2, j)| (d2.sqrt(), j)).unzip();
                (idx, d)
            })
            .collect();
        progress.finish();
        Self::from_rows(rows, k)
    }

    /// Assemble from per-row (indices, distances) lists of length `k`.
    pub fn from_rows(rows: Vec<(Vec<u32>, Vec<f64>)>, k: usize) -> KnnGraph {
        let n = rows.len();
        let mut indices = Array2::zeros((n, k));
        let mut distances = Array2::zeros((n, k));
        for (i, (idx, d)) in rows.into_iter().enumerate() {
            for (c, (j, dist)) in idx.into_iter().zip(d).enumerate() {
                indices[[i, c]] = j;
                distances[[i, c]] = dist;
            }
        }
        KnnGraph { indices, distances }
    }
}

/// Insert `(d, j)` into a sorted list holding at most `k` best (smallest d, then j).
pub(crate) fn push_best(best: &mut Vec<(f64, u32)>, k: usize, d: f64, j: u32) {
    if k == 0 {
        return;
    }
    if best.len() == k {
        let last = best[k - 1];
        if (d, j) >= last {
            return;
        }
        best.pop();
    }
    let pos = best.partition_point(|&e| e < (d, j));
    best.insert(pos, (d, j));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::context::NoProgress;
    use ndarray::array;

    #[test]
    fn brute_force_finds_nearest_in_order() {
        let x = array![[0.0], [1.0], [3.0], [10.0]];
        let g = KnnGraph::brute_force(x.view(), 2, &NoProgress);
        assert_eq!(g.indices.row(0).to_vec(), vec![1, 2]);
        assert_eq!(g.indices.row(3).to_vec(), vec![2, 1]);
        assert_eq!(g.distances.row(3).to_vec(), vec![7.0, 9.0]);
    }

    #[test]
    fn ties_break_by_row_index() {
        let x = array![[0.0], [1.0], [-1.0]];
        let g = KnnGraph::brute_force(x.view(), 1, &NoProgress);
        assert_eq!(g.indices[[0, 0]], 1);
    }

    #[test]
    fn k_is_clamped() {
        let x = array![[0.0], [1.0]];
        let g = KnnGraph::brute_force(x.view(), 10, &NoProgress);
        assert_eq!(g.k(), 1);
    }
}
