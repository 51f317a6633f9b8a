//! Timing of the label-free outlier detectors (ECOD, Isolation Forest) on
//! 1,000,000 × 32 random rows with 1,000 planted outliers.
//!
//! `cargo run --release -p datavet-detect --example outlier_bench [rows] [features]`
#![allow(clippy::print_stdout)]

use std::time::Instant;

use datavet_detect::detectors::{EcodParams, IsolationForestParams};
use datavet_detect::{
    Context, Detector, FeatureInfo, FeatureKind, FeatureMatrix, KnnGraph, NoProgress,
};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;
use rayon::prelude::*;

/// CPU seconds (user + system) this process has used so far, from /proc (Linux);
/// wall time is unreliable when other jobs share the cores.
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    // Fields after the ")" closing the command name: state is field 3, utime 14, stime 15.
    let rest = stat.rsplit(')').next().unwrap_or("");
    let f: Vec<f64> = rest
        .split_whitespace()
        .map(|v| v.parse().unwrap_or(0.0))
        .collect();
    if f.len() < 13 {
        return f64::NAN;
    }
    (f[11] + f[12]) / 100.0
}

fn main() {
    let mut args = std::env::args().skip(1);
    let n: usize = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(1_000_000);
    let d: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(32);
    println!(
        "{n} rows x {d} features, {} rayon threads",
        rayon::current_num_threads()
    );

    let t = Instant::now();
    // Standard normal rows (Box–Muller), one generator per block of rows.
    let mut data = vec![0.0f64; n * d];
    data.par_chunks_mut(d * 4096)
        .enumerate()
        .for_each(|(b, chunk)| {
            let mut rng = Xoshiro256PlusPlus::seed_from_u64(b as u64);
            for v in chunk.iter_mut() {
                let u1: f64 = rng.r#gen::<f64>().max(1e-300);
                let u2: f64 = rng.r#gen();
                *v = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            }
        });
    let mut x = Array2::from_shape_vec((n, d), data).expect("shape");
    // Every 1000th row: three features pushed 8 sigma out.
    let planted: Vec<usize> = (0..n).step_by(1000).collect();
    for &i in &planted {
        for j in 0..3.min(d) {
            x[[i, (i / 1000 + j * 7) % d]] = if j % 2 == 0 { 8.0 } else { -8.0 };
        }
    }
    let features = (0..d)
        .map(|j| FeatureInfo {
            name: format!("f{j}"),
            source: format!("f{j}"),
            kind: FeatureKind::Numeric {
                center: 0.0,
                scale: 1.0,
            },
        })
        .collect();
    let fm = FeatureMatrix { x, features };
    let knn = KnnGraph {
        indices: Array2::zeros((n, 0)),
        distances: Array2::zeros((n, 0)),
    };
    let ctx = Context {
        features: &fm,
        labels: None,
        knn: &knn,
        seed: 7,
        progress: &NoProgress,
    };
    println!("generated in {:.2?}", t.elapsed());

    let detectors: [(&str, Box<dyn Detector>); 2] = [
        ("ecod", Box::new(EcodParams::new().check().expect("params"))),
        (
            "isolation_forest",
            Box::new(IsolationForestParams::new().check().expect("params")),
        ),
    ];
    for (name, det) in detectors {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let report = det.detect(&ctx).expect("detect");
        let took = t.elapsed();
        let cpu = cpu_seconds() - cpu;
        let hits = report.issues.iter().filter(|i| i.row % 1000 == 0).count();
        println!(
            "{name:>16}: {took:.2?} wall, {cpu:.2} s CPU; flagged {} (precision {:.3}, recall {:.3} of {} planted)",
            report.issues.len(),
            hits as f64 / report.issues.len().max(1) as f64,
            hits as f64 / planted.len() as f64,
            planted.len()
        );
        if let Some(issue) = report.issues.first() {
            println!("{:>16}  e.g. row {}: {}", "", issue.row, issue.reason);
        }
    }
}
