//! Times each kNN graph strategy on a seeded Gaussian mixture and measures recall@k
//! on a sample of rows against exact neighbours.
//!
//! `cargo run --release --example knn_bench -p datavet-detect -- [n] [d] [k] [strategies]`
//! where strategies is a comma list of `auto,exact,kdtree,ivf:L:P,nnd:L:P:R` (default:
//! auto; `nnd` is IVF refined by at most `R` rounds of NN-descent). Reports wall and
//! process CPU seconds (user + system, from `/proc/self/stat`) per build.
//! Set `KNN_BENCH_NO_RECALL=1` to skip the (slow) recall measurement.
#![allow(clippy::print_stdout)]

use std::time::Instant;

use datavet_detect::{KnnGraph, KnnStrategy, NoProgress};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let u1: f64 = rng.r#gen::<f64>().max(1e-300);
    let u2: f64 = rng.r#gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

/// 20 unit-variance Gaussian blobs with centres ~ N(0, 3^2) per coordinate.
fn mixture(n: usize, d: usize, seed: u64) -> Array2<f64> {
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(seed);
    let centres: Vec<Vec<f64>> = (0..20)
        .map(|_| (0..d).map(|_| 3.0 * normal(&mut rng)).collect())
        .collect();
    let mut x = Array2::zeros((n, d));
    for i in 0..n {
        let c = &centres[rng.gen_range(0..centres.len())];
        for j in 0..d {
            x[[i, j]] = c[j] + normal(&mut rng);
        }
    }
    x
}

/// Exact recall@k on `m` sampled rows, by scanning all rows for each.
fn sampled_recall(x: &Array2<f64>, g: &KnnGraph, m: usize) -> f64 {
    use rayon::prelude::*;
    let n = x.nrows();
    let k = g.k();
    let step = (n / m).max(1);
    let rows: Vec<usize> = (0..n).step_by(step).take(m).collect();
    let hits: usize = rows
        .par_iter()
        .map(|&i| {
            let mut d: Vec<f64> = (0..n)
                .filter(|&j| j != i)
                .map(|j| {
                    x.row(i)
                        .iter()
                        .zip(x.row(j))
                        .map(|(a, b)| (a - b) * (a - b))
                        .sum::<f64>()
                })
                .collect();
            d.select_nth_unstable_by(k - 1, f64::total_cmp);
            let limit = d[k - 1].sqrt();
            g.distances
                .row(i)
                .iter()
                .filter(|&&v| v <= limit * (1.0 + 1e-9))
                .count()
        })
        .sum();
    hits as f64 / (rows.len() * k) as f64
}

/// User + system CPU seconds of this process so far (Linux; 0 elsewhere).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the parenthesised command name; utime and stime are 14 and 15.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .skip(11)
        .take(2)
        .filter_map(|v| v.parse().ok())
        .collect();
    f.iter().sum::<f64>() / 100.0
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(100_000);
    let d: usize = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(32);
    let k: usize = args.get(3).and_then(|s| s.parse().ok()).unwrap_or(10);
    let which = args.get(4).cloned().unwrap_or_else(|| "auto".to_string());
    let t = Instant::now();
    let x = mixture(n, d, 7);
    println!(
        "data: {n} x {d} Gaussian mixture, k = {k}, generated in {:.2?}, {} threads",
        t.elapsed(),
        rayon::current_num_threads()
    );
    for name in which.split(',') {
        let strategy = match name {
            "auto" => KnnStrategy::choose(n, d),
            "exact" => KnnStrategy::Exact,
            "kdtree" => KnnStrategy::KdTree,
            other => {
                let parts: Vec<usize> = other
                    .trim_start_matches("ivf:")
                    .trim_start_matches("nnd:")
                    .split(':')
                    .filter_map(|p| p.parse().ok())
                    .collect();
                match parts.as_slice() {
                    [lists, probe] => KnnStrategy::Ivf {
                        lists: *lists,
                        probe: *probe,
                    },
                    [lists, probe, rounds] => KnnStrategy::IvfDescent {
                        lists: *lists,
                        probe: *probe,
                        rounds: *rounds,
                    },
                    _ => {
                        println!("unknown strategy {other}");
                        continue;
                    }
                }
            }
        };
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let g = KnnGraph::build_with(x.view(), k, strategy, 1, &NoProgress);
        let secs = t.elapsed().as_secs_f64();
        let cpu = cpu_seconds() - cpu;
        if std::env::var_os("KNN_BENCH_NO_RECALL").is_some() {
            println!("{name:>14} {strategy:?}: build {secs:.2} s wall, {cpu:.2} s CPU");
        } else {
            let recall = sampled_recall(&x, &g, 400);
            println!(
                "{name:>14} {strategy:?}: build {secs:.2} s wall, {cpu:.2} s CPU, recall@{k} (400 sampled rows) {recall:.4}"
            );
        }
    }
}
