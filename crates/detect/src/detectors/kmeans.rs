//! Seeded, deterministic k-means for the clustering detectors: k-means++ seeding
//! (Arthur and Vassilvitskii 2007, "k-means++: The Advantages of Careful Seeding")
//! and Lloyd iterations (Lloyd 1982, "Least squares quantization in PCM"),
//! minimising `Σ_i ‖x_i − μ_{c(i)}‖²`.

use ndarray::{Array2, ArrayView2, Axis};
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
    data.par_chunks(d.max(1))
        .map(|row| nearest(row, cents, d))
        .unzip()
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
    (0..x.nrows())
        .into_par_iter()
        .map(|i| {
            let row = x.row(i);
            let (slot, d2) = match row.as_slice() {
                Some(r) => nearest(r, &cents, d),
                None => nearest(&row.to_vec(), &cents, d),
            };
            (allowed[slot], d2.sqrt())
        })
        .collect::<Vec<_>>()
        .into_iter()
        .unzip()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testdata::blobs;

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
