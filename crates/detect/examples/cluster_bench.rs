//! Timing and detection quality of the class-structure detectors on a large planted
//! table: `cargo run --release -p datavet-detect --example cluster_bench [rows] [dims]`
//! (default 1,000,000 × 32). Four Gaussian classes; 1% of the rows are taken from
//! classes 1–3, get features f0..f2 set to 4 (the trigger) and are relabelled to class 0.
//!
//! Without a release build of polars at hand, optimising just this crate and ndarray
//! gives representative numbers:
//! `cargo build -p datavet-detect --example cluster_bench --config
//! 'profile.dev.package.datavet-detect.opt-level=3' --config
//! 'profile.dev.package.ndarray.opt-level=3' --config
//! 'profile.dev.package.matrixmultiply.opt-level=3'`. Measured that way on 2 busy
//! cores (1M × 32, 1.01% poisoned): spectral signatures 1.8 s (precision 0.96, recall
//! 1.0), activation clustering 3.0 s (1.0 / 1.0), clustering 4.3 s (label mismatch
//! 1.0 / 1.0; 545 cluster outliers on the Gaussian background, 0.05%).
#![allow(clippy::print_stdout)]

use std::collections::BTreeSet;
use std::time::Instant;

use datavet_detect::detectors::{
    ActivationClusteringParams, ClusteringParams, SpectralSignatureParams,
};
use datavet_detect::{
    Context, Detector, FeatureInfo, FeatureKind, FeatureMatrix, IssueKind, KnnGraph, Labels,
    NoProgress,
};
use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let u1: f64 = rng.r#gen::<f64>().max(1e-300);
    let u2: f64 = rng.r#gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let n = args.first().copied().unwrap_or(1_000_000);
    let d = args.get(1).copied().unwrap_or(32);
    let n_classes = 4;
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(1);
    let centres: Vec<Vec<f64>> = (0..n_classes)
        .map(|_| (0..d).map(|_| 1.5 * normal(&mut rng)).collect())
        .collect();
    let t = Instant::now();
    let mut x = Array2::zeros((n, d));
    let mut codes = Vec::with_capacity(n);
    let mut truth = BTreeSet::new();
    for i in 0..n {
        let c = i % n_classes;
        for j in 0..d {
            x[[i, j]] = centres[c][j] + normal(&mut rng);
        }
        if c != 0 && rng.r#gen::<f64>() < 0.01 * 4.0 / 3.0 {
            for j in 0..3 {
                x[[i, j]] = 4.0;
            }
            codes.push(Some(0));
            truth.insert(i);
        } else {
            codes.push(Some(c as u32));
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
    let labels = Labels {
        codes,
        classes: (0..n_classes).map(|c| format!("c{c}")).collect(),
    };
    println!(
        "{n} rows x {d} features, {} poisoned ({:.2}%), generated in {:.2?}, {} threads",
        truth.len(),
        100.0 * truth.len() as f64 / n as f64,
        t.elapsed(),
        rayon::current_num_threads()
    );
    let knn = KnnGraph::from_rows(Vec::new(), 0);
    let ctx = Context {
        features: &fm,
        labels: Some(&labels),
        knn: &knn,
        seed: 42,
        progress: &NoProgress,
    };
    let detectors: Vec<Box<dyn Detector>> = vec![
        Box::new(SpectralSignatureParams::new().check().unwrap()),
        Box::new(ActivationClusteringParams::new().check().unwrap()),
        Box::new(ClusteringParams::new().check().unwrap()),
    ];
    for det in &detectors {
        let t = Instant::now();
        let report = det.detect(&ctx).unwrap();
        let elapsed = t.elapsed();
        let mut kinds: Vec<IssueKind> = report.issues.iter().map(|i| i.kind).collect();
        kinds.sort();
        kinds.dedup();
        for kind in kinds {
            let flagged: BTreeSet<usize> = report
                .issues
                .iter()
                .filter(|i| i.kind == kind)
                .map(|i| i.row)
                .collect();
            let hit = flagged.intersection(&truth).count() as f64;
            println!(
                "{:<22} {:<24} {elapsed:>9.2?}  flagged {:>7}  precision {:.3}  recall {:.3}",
                det.name(),
                kind.as_str(),
                flagged.len(),
                hit / flagged.len().max(1) as f64,
                hit / truth.len().max(1) as f64
            );
        }
        if report.issues.is_empty() {
            println!("{:<22} {:<24} {elapsed:>9.2?}  no flags", det.name(), "-");
        }
    }
}
