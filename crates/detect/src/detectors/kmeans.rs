//! Seeded, deterministic k-means for the clustering detectors: k-means++ seeding
//! (Arthur and Vassilvitskii 2007, "k-means++: The Advantages of Careful Seeding")
//! and Lloyd iterations (Lloyd 1982, "Least squares quantization in PCM"),
//! minimising `Σ_i ‖x_i − μ_{c(i)}‖²`.

use ndarray::linalg::general_mat_mul;
use ndarray::{Array2, ArrayView1, ArrayView2, Axis, Slice};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

use super::spectral::CHUNK;
use crate::knn::sq_dist;

/// Fit k-means centres (`k × d`) on a seeded subsample of at most `sample_size`
/// rows: k-means++ seeding, Lloyd iterations until at most 0.5% of the
/// assignments change (or `max_iterations`), `n_runs` restarts keeping the lowest inertia. Our own
/// implementation rather than linfa's `KMeans`, which was ~20 s per fit on
/// 1,500 × 16 in a debug build and sums centroids sequentially: here assignments
/// and centroid sums run in parallel over fixed row chunks, added in a fixed order,
/// so the result does not depend on the thread count. `k` is clamped to the sample
/// size; an emptied cluster keeps its previous centre.
pub(crate) fn fit_kmeans(
    x: ArrayView2<'_, f64>,
    k: usize,
    sample_size: usize,
    n_runs: usize,
    max_iterations: u64,
    seed: u64,
) -> Array2<f64> {
    let n = x.nrows();
    let d = x.ncols();
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let sample = if n > sample_size {
        let mut idx = rand::seq::index::sample(&mut rng, n, sample_size).into_vec();
        idx.sort_unstable();
        x.select(Axis(0), &idx)
    } else {
        x.as_standard_layout().into_owned()
    };
    let data = sample.as_slice().expect("standard layout");
    let m = sample.nrows();
    let k = k.clamp(1, m.max(1));
    let mut best: Option<(f64, Vec<f64>)> = None;
    for _ in 0..n_runs.max(1) {
        let mut cents = kmeans_pp(data, d, k, &mut rng);
        let mut assign = vec![usize::MAX; m];
        let mut iter = 0;
        let inertia = loop {
            let (new_assign, d2) = assign_flat(data, d, &cents);
            let changed = new_assign
                .iter()
                .zip(&assign)
                .filter(|(a, b)| a != b)
                .count();
            assign = new_assign;
            iter += 1;
            if changed <= m / 200 || iter >= max_iterations {
                break chunked_sum(&d2);
            }
            cents = update_centres(data, d, &assign, cents);
        };
        if best.as_ref().is_none_or(|(b, _)| inertia < *b) {
            best = Some((inertia, cents));
        }
    }
    let cents = best.map(|b| b.1).unwrap_or_default();
    Array2::from_shape_vec((cents.len() / d.max(1), d), cents).expect("k × d")
}

/// Nearest centre of a row among flat `k × d` centres, with squared distance;
/// ties go to the lower index.
fn nearest(row: &[f64], cents: &[f64], d: usize) -> (usize, f64) {
    let mut best = (0usize, f64::INFINITY);
    for (c, cent) in cents.chunks_exact(d.max(1)).enumerate() {
        let d2 = sq_dist(row, cent);
        if d2 < best.1 {
            best = (c, d2);
        }
    }
    best
}

fn assign_flat(data: &[f64], d: usize, cents: &[f64]) -> (Vec<usize>, Vec<f64>) {
    match Screen::new(cents, d) {
        Some(screen) => data
            .par_chunks(BLOCK * d)
            .flat_map_iter(|rows| screen.nearest_rows(rows))
            .unzip(),
        None => data
            .par_chunks(d.max(1))
            .map(|row| nearest(row, cents, d))
            .unzip(),
    }
}

/// Rows per block of the screened assignment. Blocks are fixed and each row's
/// answer depends only on that row, so results never depend on the thread count.
const BLOCK: usize = 256;

/// Fewest centres for which the screen is used; below it the plain scan was as
/// fast or faster in a one-off timing (assigning 20,000 rows in 4 to 100
/// dimensions, 2026-12-06; the timing code is not kept). Activation clustering's
/// two centres therefore use the plain scan. The effect on whole scans (the
/// clustering stage at 100k and 1M rows) is in `docs/performance.md`.
const MIN_SCREEN: usize = 12;

/// Exact nearest centre through a matrix-product screen. For a block of rows one
/// matrix product (ndarray's `general_mat_mul`, i.e. matrixmultiply) gives
/// `t(x, c) = ‖c‖² − 2 x·c`, which is `‖x − c‖² − ‖x‖²` up to rounding. With
/// `S = ‖x‖² + max‖c‖²` and `u = 2⁻⁵³`, both `t` and the exact kernel `sq_dist` less
/// `‖x‖²` are within `E ≈ (4d + 6) u S` of that (dot-product error bounds hold in
/// any summation order, and `‖x − c‖² ≤ 2(‖x‖² + ‖c‖²)`). So the centre `nearest`
/// returns has `t ≤ min_c t + 2E`: every centre inside that margin is re-evaluated
/// with `sq_dist`, and the smallest exact value wins, ties to the lower index. The
/// answer, distance included, is bit-for-bit that of `nearest`. The margin used is
/// `max(32 (d + 4) ε, 1e-10) · S`, over five times `2E`: a wider margin only costs
/// a few more exact evaluations on near-ties. A row whose `S` is not finite (or
/// could overflow) falls back to `nearest`.
struct Screen<'a> {
    /// Flat `k × d` centres.
    flat: &'a [f64],
    /// The same centres as a `k × d` view.
    view: ArrayView2<'a, f64>,
    /// Squared norm of each centre.
    norms: Vec<f64>,
    /// Largest squared norm.
    max_norm: f64,
    /// Relative margin on `‖x‖² + max‖c‖²`.
    rel: f64,
    /// Absolute margin, covering underflow.
    abs: f64,
}

impl<'a> Screen<'a> {
    /// The screen for flat `k × d` centres, or `None` when the plain scan is
    /// better (few centres) or required (`d == 0`, a centre's norm not finite).
    fn new(cents: &'a [f64], d: usize) -> Option<Screen<'a>> {
        if d == 0 || cents.len() / d < MIN_SCREEN {
            return None;
        }
        let rel = (32.0 * (d as f64 + 4.0) * f64::EPSILON).max(1e-10);
        let abs = 32.0 * (d as f64 + 4.0) * f64::MIN_POSITIVE;
        let screen = Screen::with_margin(cents, d, rel, abs);
        screen.max_norm.is_finite().then_some(screen)
    }

    fn with_margin(cents: &'a [f64], d: usize, rel: f64, abs: f64) -> Screen<'a> {
        let view = ArrayView2::from_shape((cents.len() / d, d), cents).expect("k × d");
        let norms: Vec<f64> = cents.chunks_exact(d).map(sq_norm).collect();
        let max_norm = if norms.iter().all(|v| v.is_finite()) {
            norms.iter().copied().fold(0.0, f64::max)
        } else {
            f64::INFINITY
        };
        Screen {
            flat: cents,
            view,
            norms,
            max_norm,
            rel,
            abs,
        }
    }

    /// `nearest` for each row of a flat block of rows.
    fn nearest_rows(&self, rows: &[f64]) -> Vec<(usize, f64)> {
        let d = self.view.ncols();
        let block = ArrayView2::from_shape((rows.len() / d, d), rows).expect("rows × d");
        let norms = ArrayView1::from(&self.norms);
        let mut t = norms
            .broadcast((block.nrows(), norms.len()))
            .expect("rows × k")
            .to_owned();
        general_mat_mul(-2.0, &block, &self.view.t(), 1.0, &mut t);
        rows.chunks_exact(d)
            .zip(t.rows())
            .map(|(row, t)| {
                let scale = sq_norm(row) + self.max_norm;
                if !(4.0 * scale).is_finite() {
                    return nearest(row, self.flat, d);
                }
                let t = t.as_slice().expect("standard layout");
                let cut = min_of(t) + (self.rel * scale + self.abs);
                let mut best = (0usize, f64::INFINITY);
                for (base, t) in (0..).step_by(64).zip(t.chunks(64)) {
                    // Candidates as a bit mask: no branch per centre.
                    let mut mask = t
                        .iter()
                        .enumerate()
                        .fold(0u64, |m, (c, &tc)| m | (u64::from(tc <= cut) << c));
                    while mask != 0 {
                        let c = base + mask.trailing_zeros() as usize;
                        mask &= mask - 1;
                        let d2 = sq_dist(row, &self.flat[c * d..(c + 1) * d]);
                        if d2 < best.1 {
                            best = (c, d2);
                        }
                    }
                }
                best
            })
            .collect()
    }
}

/// Squared norm (the screen's bound holds in any summation order).
fn sq_norm(v: &[f64]) -> f64 {
    v.iter().map(|a| a * a).sum()
}

/// Smallest of the non-NaN values.
fn min_of(v: &[f64]) -> f64 {
    v.iter().copied().fold(f64::INFINITY, f64::min)
}

/// Sum in fixed chunks, chunk totals added in order: thread-count independent.
fn chunked_sum(v: &[f64]) -> f64 {
    let parts: Vec<f64> = v.par_chunks(CHUNK).map(|c| c.iter().sum()).collect();
    parts.iter().sum()
}

fn update_centres(data: &[f64], d: usize, assign: &[usize], old: Vec<f64>) -> Vec<f64> {
    let k = old.len() / d.max(1);
    let parts: Vec<(Vec<f64>, Vec<usize>)> = data
        .par_chunks(CHUNK * d.max(1))
        .zip(assign.par_chunks(CHUNK))
        .map(|(rows, a)| {
            let mut sums = vec![0.0; k * d];
            let mut counts = vec![0usize; k];
            for (row, &c) in rows.chunks_exact(d.max(1)).zip(a) {
                counts[c] += 1;
                for (s, v) in sums[c * d..(c + 1) * d].iter_mut().zip(row) {
                    *s += v;
                }
            }
            (sums, counts)
        })
        .collect();
    let mut sums = vec![0.0; k * d];
    let mut counts = vec![0usize; k];
    for (s, c) in parts {
        sums.iter_mut().zip(&s).for_each(|(a, b)| *a += b);
        counts.iter_mut().zip(&c).for_each(|(a, b)| *a += b);
    }
    let mut cents = old;
    for c in 0..k {
        if counts[c] > 0 {
            for j in 0..d {
                cents[c * d + j] = sums[c * d + j] / counts[c] as f64;
            }
        }
    }
    cents
}

/// k-means++ seeding (Arthur & Vassilvitskii 2007): each next centre is drawn with
/// probability proportional to the squared distance to the nearest centre so far.
fn kmeans_pp(data: &[f64], d: usize, k: usize, rng: &mut Xoshiro256PlusPlus) -> Vec<f64> {
    let m = data.len() / d.max(1);
    let mut cents = Vec::with_capacity(k * d);
    let first = rng.gen_range(0..m);
    cents.extend_from_slice(&data[first * d..(first + 1) * d]);
    let mut d2: Vec<f64> = data
        .par_chunks(d.max(1))
        .map(|row| nearest(row, &cents, d).1)
        .collect();
    for _ in 1..k {
        let total = chunked_sum(&d2);
        let pick = if total > 0.0 {
            let mut r = rng.r#gen::<f64>() * total;
            let mut pick = m - 1;
            for (i, &w) in d2.iter().enumerate() {
                if r < w {
                    pick = i;
                    break;
                }
                r -= w;
            }
            pick
        } else {
            rng.gen_range(0..m) // every row sits on a centre: duplicates are harmless
        };
        let new = data[pick * d..(pick + 1) * d].to_vec();
        d2.par_iter_mut()
            .zip(data.par_chunks(d.max(1)))
            .for_each(|(best, row)| *best = best.min(nearest(row, &new, d).1));
        cents.extend_from_slice(&new);
    }
    cents
}

/// Nearest centre (restricted to `allowed` when given) and Euclidean distance to it
/// for every row, in parallel. Ties go to the lower centre index.
pub(crate) fn assign_nearest(
    x: ArrayView2<'_, f64>,
    centroids: ArrayView2<'_, f64>,
    allowed: Option<&[usize]>,
) -> (Vec<usize>, Vec<f64>) {
    let d = x.ncols();
    let all: Vec<usize> = (0..centroids.nrows()).collect();
    let allowed = allowed.unwrap_or(&all);
    let cents: Vec<f64> = allowed
        .iter()
        .flat_map(|&c| centroids.row(c).to_vec())
        .collect();
    let found: Vec<(usize, f64)> = match Screen::new(&cents, d) {
        Some(screen) => (0..x.nrows().div_ceil(BLOCK))
            .into_par_iter()
            .flat_map_iter(|b| {
                let end = ((b + 1) * BLOCK).min(x.nrows());
                let rows = x.slice_axis(Axis(0), Slice::from(b * BLOCK..end));
                let rows = rows.as_standard_layout();
                screen.nearest_rows(rows.as_slice().expect("standard layout"))
            })
            .collect(),
        None => (0..x.nrows())
            .into_par_iter()
            .map(|i| {
                let row = x.row(i);
                match row.as_slice() {
                    Some(r) => nearest(r, &cents, d),
                    None => nearest(&row.to_vec(), &cents, d),
                }
            })
            .collect(),
    };
    found
        .into_iter()
        .map(|(slot, d2)| (allowed[slot], d2.sqrt()))
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::blobs;
    use ndarray::ShapeBuilder;

    /// The plain exact answer: every centre by `sq_dist`, ties to the lower index.
    fn reference(rows: &[f64], cents: &[f64], d: usize) -> Vec<(usize, f64)> {
        rows.chunks_exact(d)
            .map(|row| {
                let mut best = (0, f64::INFINITY);
                for (c, cent) in cents.chunks_exact(d).enumerate() {
                    let d2 = sq_dist(row, cent);
                    if d2 < best.1 {
                        best = (c, d2);
                    }
                }
                best
            })
            .collect()
    }

    /// 20 integer-grid centres (centre 5 duplicates centre 2) and 1,002 rows: on a
    /// centre (so duplicated), at the exact midpoint of two centres (an exact tie),
    /// a few ulps or about the expansion's rounding error off a midpoint (near-ties),
    /// near a centre, and one overflowing and one NaN row. `offset` is added
    /// everywhere, so that `‖x‖² + ‖c‖² − 2x·c` loses most of its digits.
    fn tie_data(d: usize, offset: f64) -> (Vec<f64>, Vec<f64>) {
        let mut rng = Xoshiro256PlusPlus::seed_from_u64(d as u64);
        let k = 20;
        let mut cents: Vec<f64> = (0..k * d)
            .map(|_| offset + rng.gen_range(0..4) as f64)
            .collect();
        cents.copy_within(2 * d..3 * d, 5 * d);
        let ulp = (offset + 4.0) * f64::EPSILON;
        let mut rows = Vec::new();
        let wobble = offset.max(1.0).powi(2) * f64::EPSILON;
        for i in 0..1000 {
            let (a, b) = ((i / 5) % k, (i / 60) % k);
            for j in 0..d {
                let (u, v) = (cents[a * d + j], cents[b * d + j]);
                rows.push(match i % 5 {
                    0 => u,
                    1 => (u + v) / 2.0,
                    2 => (u + v) / 2.0 + ulp * rng.gen_range(-4..=4) as f64,
                    3 => (u + v) / 2.0 + wobble * rng.gen_range(-1.0..1.0),
                    _ => u + rng.gen_range(-1.5..1.5),
                });
            }
        }
        rows.extend((0..d).map(|j| if j == 0 { 1e200 } else { offset }));
        rows.extend((0..d).map(|j| if j == 0 { f64::NAN } else { offset }));
        (rows, cents)
    }

    #[test]
    fn screened_assignment_equals_the_exact_scan_on_ties_and_near_ties() {
        for d in [3, 5, 32] {
            for offset in [0.0, 1e3, 1e6, 1e8] {
                let (rows, cents) = tie_data(d, offset);
                let want = reference(&rows, &cents, d);
                let screen = Screen::new(&cents, d).expect("20 centres are screened");
                let got = screen.nearest_rows(&rows);
                assert_eq!(got.len(), want.len());
                for (i, (g, w)) in got.iter().zip(&want).enumerate() {
                    assert!(
                        g.0 == w.0 && g.1.to_bits() == w.1.to_bits(),
                        "d {d}, offset {offset}, row {i}: {g:?} != {w:?}"
                    );
                }
                let (idx, d2) = assign_flat(&rows, d, &cents);
                assert_eq!(idx, want.iter().map(|w| w.0).collect::<Vec<_>>());
                let bits = |v: &[f64]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
                assert_eq!(
                    bits(&d2),
                    bits(&want.iter().map(|w| w.1).collect::<Vec<_>>())
                );
                // The data is hard enough: with no margin the screen gets rows wrong.
                let bare = Screen::with_margin(&cents, d, 0.0, 0.0).nearest_rows(&rows);
                let wrong = bare.iter().zip(&want).filter(|(g, w)| g != w).count();
                assert!(
                    wrong > 0,
                    "d {d}, offset {offset}: no row needed the margin"
                );
            }
        }
    }

    #[test]
    fn screened_assign_nearest_matches_on_column_major_views_and_subsets() {
        let d = 5;
        let (rows, cents) = tie_data(d, 1e6);
        let n = rows.len() / d;
        let x = Array2::from_shape_vec((n, d), rows.clone()).unwrap();
        let mut fortran = Array2::zeros((n, d).f());
        fortran.assign(&x);
        let c = Array2::from_shape_vec((20, d), cents.clone()).unwrap();
        let allowed = [0, 2, 3, 5, 6, 8, 9, 10, 11, 13, 14, 16, 17, 19];
        let sub: Vec<f64> = allowed
            .iter()
            .flat_map(|&a| cents[a * d..(a + 1) * d].to_vec())
            .collect();
        for (subset, flat) in [(None, &cents), (Some(&allowed[..]), &sub)] {
            let want: Vec<(usize, f64)> = reference(&rows, flat, d)
                .into_iter()
                .map(|(s, d2)| (subset.map_or(s, |a| a[s]), d2.sqrt()))
                .collect();
            for view in [x.view(), fortran.view()] {
                let (idx, dist) = assign_nearest(view, c.view(), subset);
                for (i, w) in want.iter().enumerate() {
                    assert!(
                        idx[i] == w.0 && dist[i].to_bits() == w.1.to_bits(),
                        "row {i}"
                    );
                }
            }
        }
    }

    #[test]
    fn screened_fit_is_thread_count_independent() {
        let (fm, _) = blobs(200, 3, 5, 4.0, 3);
        let fit = || fit_kmeans(fm.x.view(), 16, 20_000, 2, 50, 9);
        let pool = |n| {
            rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .unwrap()
        };
        assert_eq!(pool(1).install(fit), pool(3).install(fit));
    }

    #[test]
    fn finds_well_separated_blobs_and_is_thread_count_independent() {
        let (fm, labels) = blobs(200, 3, 5, 4.0, 3);
        let fit = || fit_kmeans(fm.x.view(), 3, 20_000, 2, 50, 9);
        let one = rayon::ThreadPoolBuilder::new()
            .num_threads(1)
            .build()
            .unwrap();
        let three = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        let (a, b) = (one.install(fit), three.install(fit));
        assert_eq!(a, b);
        let (assign, _) = assign_nearest(fm.x.view(), a.view(), None);
        // Every cluster is one class.
        for c in 0..3 {
            let mut classes: Vec<u32> = (0..fm.n_rows())
                .filter(|&i| assign[i] == c)
                .map(|i| labels.codes[i].unwrap())
                .collect();
            classes.sort_unstable();
            classes.dedup();
            assert_eq!(classes.len(), 1, "cluster {c} mixes classes");
        }
    }

    #[test]
    fn subsample_duplicates_and_restricted_assignment() {
        let x = Array2::from_shape_fn((500, 2), |(i, j)| ((i % 2) * 10 + j) as f64);
        let cents = fit_kmeans(x.view(), 4, 100, 1, 10, 1);
        assert_eq!(cents.nrows(), 4); // only 2 distinct points: duplicates are fine
        let (assign, dist) = assign_nearest(x.view(), cents.view(), Some(&[0]));
        assert!(assign.iter().all(|&c| c == 0));
        assert!(dist.iter().all(|d| d.is_finite()));
    }
}
