//! Leading principal components of one class's rows, for the spectral-signature and
//! activation-clustering detectors, at any width.
//!
//! Up to [`EXACT_MAX_DIM`] features the `d × d` covariance is built and fully
//! eigendecomposed (`O(n d² + d³)`). Wider tables (thousands of columns) would need
//! gigabytes and hours that way, so above it the components come from randomised
//! subspace iteration (Halko, Martinsson & Tropp 2011, "Finding structure with
//! randomness: probabilistic algorithms for constructing approximate matrix
//! decompositions", Algorithm 4.4 with a Rayleigh–Ritz step, 5.3): starting from a
//! seeded random `d × (k + 8)` block `Q` (uniform entries serve as well as Gaussian), repeat `Q ← orth(C Q)` with `C` the class
//! covariance applied implicitly as `(1/n) Xcᵀ (Xc Q)` over fixed row chunks, then
//! diagonalise the small `Qᵀ C Q`. Cost `O(n d (k + 8))` per iteration and memory
//! `O(d (k + 8))`; the covariance is never formed.

use linfa_linalg::eigh::{EigSort, Eigh};
use linfa_linalg::qr::QR;
use ndarray::{Array1, Array2, ArrayView2, Axis};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::spectral::{CHUNK, centred_covariance, fix_signs, top_components};
use crate::error::{DetectError, Result};

/// Widest table for which the covariance is formed and decomposed exactly.
pub(crate) const EXACT_MAX_DIM: usize = 256;
/// Extra columns in the random block (Halko et al.'s oversampling `p`).
const OVERSAMPLE: usize = 8;
/// Subspace iterations (their `q`); the error falls like `(λ_{k+p+1}/λ_k)^(2q+1)`.
const ITERATIONS: usize = 6;

/// The `k` largest eigenvalues of the covariance of `rows` (centred on `mean`) and
/// their eigenvectors as columns, largest first, sign-fixed so each vector's largest
/// component is positive. Deterministic for a seed.
pub(crate) fn class_components(
    x: ArrayView2<'_, f64>,
    rows: &[usize],
    mean: &Array1<f64>,
    k: usize,
    seed: u64,
) -> Result<(Array1<f64>, Array2<f64>)> {
    let d = x.ncols();
    if d <= EXACT_MAX_DIM {
        return top_components(&centred_covariance(x, rows, mean), k);
    }
    let l = (k + OVERSAMPLE).min(d);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let mut q = Array2::from_shape_fn((d, l), |_| rng.gen_range(-1.0..1.0));
    for _ in 0..ITERATIONS {
        q = orthonormal(&apply_covariance(x, rows, mean, &q))?;
    }
    let cq = apply_covariance(x, rows, mean, &q);
    let small = q.t().dot(&cq);
    let small = (&small + &small.t()) / 2.0;
    let (vals, vecs) = small
        .eigh()
        .map_err(|e| numerical(e.to_string()))?
        .sort_eig_desc();
    let k = k.min(l);
    let cols: Vec<usize> = (0..k).collect();
    let mut out = q.dot(&vecs.select(Axis(1), &cols));
    fix_signs(&mut out);
    Ok((vals.select(Axis(0), &cols), out))
}

/// `C Q = (1/n) Σ_i (x_i − mean)(x_i − mean)ᵀ Q`, summed over fixed row chunks in
/// order (so the result does not depend on the thread count).
fn apply_covariance(
    x: ArrayView2<'_, f64>,
    rows: &[usize],
    mean: &Array1<f64>,
    q: &Array2<f64>,
) -> Array2<f64> {
    let partial: Vec<Array2<f64>> = rows
        .par_chunks(CHUNK)
        .map(|chunk| {
            let mut c = x.select(Axis(0), chunk);
            c -= mean;
            c.t().dot(&c.dot(q))
        })
        .collect();
    let mut sum = Array2::zeros(q.raw_dim());
    for p in partial {
        sum += &p;
    }
    sum / rows.len().max(1) as f64
}

fn orthonormal(y: &Array2<f64>) -> Result<Array2<f64>> {
    let (q, _) = y.qr().map_err(|e| numerical(e.to_string()))?.into_decomp();
    Ok(q)
}

fn numerical(message: String) -> DetectError {
    DetectError::Numerical {
        detector: "spectral_signature",
        step: "randomised subspace iteration",
        message,
    }
}

/// Per-feature variance of `rows` around `mean` (the covariance's diagonal, without
/// forming it).
pub(crate) fn column_variances(
    x: ArrayView2<'_, f64>,
    rows: &[usize],
    mean: &Array1<f64>,
) -> Array1<f64> {
    let mut var = Array1::zeros(x.ncols());
    for &i in rows {
        let c = &x.row(i) - mean;
        var += &c.mapv(|v| v * v);
    }
    var / rows.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::Gen;

    /// A wide class with a planted direction of large variance: the randomised path
    /// must find it as exactly as the full decomposition does.
    #[test]
    fn randomised_components_match_the_exact_ones_on_a_wide_table() {
        let (n, d) = (400, EXACT_MAX_DIM + 44);
        let mut g = Gen::new(5);
        let dir: Vec<f64> = (0..d).map(|_| g.normal()).collect();
        let norm = dir.iter().map(|v| v * v).sum::<f64>().sqrt();
        let x = Array2::from_shape_fn((n, d), |(i, j)| {
            let t = ((i * 37) % 101) as f64 / 10.0 - 5.0;
            t * dir[j] / norm + 0.3 * (((i * 13 + j * 7) % 17) as f64 / 17.0 - 0.5)
        });
        let rows: Vec<usize> = (0..n).collect();
        let mean = x.mean_axis(Axis(0)).unwrap();
        let (vals, vecs) = class_components(x.view(), &rows, &mean, 3, 1).unwrap();
        let (exact_vals, exact_vecs) =
            top_components(&centred_covariance(x.view(), &rows, &mean), 3).unwrap();
        assert!(
            (vals[0] - exact_vals[0]).abs() < 1e-6 * exact_vals[0],
            "{vals} vs {exact_vals}"
        );
        let cos = vecs.column(0).dot(&exact_vecs.column(0));
        assert!(cos > 1.0 - 1e-8, "cosine {cos}");
        // The planted direction, up to sign.
        let planted = Array1::from(dir) / norm;
        assert!(vecs.column(0).dot(&planted).abs() > 0.99);
        // Orthonormal columns.
        let gram = vecs.t().dot(&vecs);
        for a in 0..3 {
            for b in 0..3 {
                let want = if a == b { 1.0 } else { 0.0 };
                assert!((gram[[a, b]] - want).abs() < 1e-9);
            }
        }
        // Same seed, same answer.
        let (_, again) = class_components(x.view(), &rows, &mean, 3, 1).unwrap();
        assert_eq!(vecs, again);
    }

    #[test]
    fn column_variances_equal_the_covariance_diagonal() {
        let x = Array2::from_shape_fn((50, 4), |(i, j)| ((i * (j + 3)) % 11) as f64);
        let rows: Vec<usize> = (0..50).step_by(2).collect();
        let mean = super::super::spectral::class_mean(x.view(), &rows);
        let diag = centred_covariance(x.view(), &rows, &mean).diag().to_owned();
        let var = column_variances(x.view(), &rows, &mean);
        for (a, b) in diag.iter().zip(var.iter()) {
            assert!((a - b).abs() < 1e-9);
        }
    }
}
