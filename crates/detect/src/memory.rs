//! How much memory a scan needs, estimated from its shape before the detectors start,
//! so a caller can refuse a dataset that does not fit instead of swapping or being
//! killed part-way.
//!
//! The model is linear in the table's shape, `base + per_cell · n · d + per_row · n`,
//! with coefficients fitted to peak resident memory measured with `datavet scan
//! --timings` on Gaussian-mixture tables (`bench/gen_mixture.py`) of 200 000 × 8,
//! 200 000 × 32, 100 000 × 32, 100 000 × 64 and 1 000 000 × 32, every detector on,
//! `k = 10` (docs/performance.md: measured 196, 255, 231, 227 and 695 MB, and 794 MB
//! on the evaluation suite's 1M × 32 table with 3 % planted rows; the model gives
//! 235, 299, 235, 277 and 817 MB, erring high). The matrix itself is 8 bytes a cell;
//! the rest is the kNN index (an f32 copy of the matrix in list order, candidate
//! lists), one column's sort buffers per thread, the kNN graph and per-row scores.
//! No term grows with `d²`: above 256 features the spectral and activation-clustering
//! detectors never form the class covariance.

/// Fixed overhead: the program, thread stacks, allocator pools.
const BASE: f64 = 170.0 * 1024.0 * 1024.0;
/// Bytes per matrix cell at the peak (the matrix's own 8 included).
const PER_CELL: f64 = 14.0;
/// Bytes per row at the peak beyond the cells: the kNN graph (`k` ids and distances),
/// candidate and probe lists, labels, one score per detector and the trigger
/// search's value runs.
const PER_ROW: f64 = 230.0;
/// Extra bytes per neighbour per row above the default `k = 10`.
const PER_NEIGHBOUR: f64 = 16.0;

/// Estimated peak memory, in bytes, of running every detector on an `n_rows` ×
/// `n_features` feature matrix with `k` neighbours (the feature matrix included).
pub fn scan_bytes(n_rows: usize, n_features: usize, k: usize) -> u64 {
    let n = n_rows as f64;
    let d = n_features as f64;
    let extra_k = k.saturating_sub(10) as f64;
    let bytes = BASE + PER_CELL * n * d + PER_ROW * n + PER_NEIGHBOUR * extra_k * n;
    bytes.ceil() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_with_rows_columns_and_neighbours() {
        let small = scan_bytes(1_000, 8, 10);
        assert!(small > 64 * 1024 * 1024);
        assert!(scan_bytes(2_000, 8, 10) > small);
        assert!(scan_bytes(1_000, 16, 10) > small);
        assert!(scan_bytes(1_000, 8, 50) > small);
        assert_eq!(scan_bytes(1_000, 8, 5), small);
    }

    #[test]
    fn a_million_rows_of_32_features_needs_more_than_its_matrix() {
        let matrix = 1_000_000u64 * 32 * 8;
        let est = scan_bytes(1_000_000, 32, 10);
        assert!(est > matrix && est < 8 * matrix, "{est}");
    }
}
