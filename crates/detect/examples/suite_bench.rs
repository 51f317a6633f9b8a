//! Whole detector suite on a seeded Gaussian mixture: per-stage wall times.
//!
//! ```sh
//! cargo run --release -p datavet-detect --example suite_bench -- 1000000 32 20
//! # rows, features, classes; add a path to also write the table as CSV:
//! cargo run --release -p datavet-detect --example suite_bench -- 100000 32 20 /tmp/mix.csv
//! ```
//!
//! Prints one line per stage and the total. Peak memory is measured from outside
//! (`/usr/bin/time -v`), see `docs/benchmarks.md`.

#![allow(clippy::print_stdout, clippy::print_stderr)] // a benchmark binary reports on the terminal

use std::time::Instant;

use datavet_detect::{
    FeatureInfo, FeatureKind, FeatureMatrix, FeatureSet, Labels, NoProgress, ScanParams, registry,
    run_scan,
};
use ndarray::Array2;
use polars::prelude::{Column, CsvWriter, DataFrame, NamedFrom, SerWriter, Series};
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

fn normal(rng: &mut Xoshiro256PlusPlus) -> f64 {
    let u1: f64 = rng.r#gen::<f64>().max(1e-300);
    let u2: f64 = rng.r#gen::<f64>();
    (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let n: usize = args.get(1).map_or(1_000_000, |s| s.parse().expect("rows"));
    let d: usize = args.get(2).map_or(32, |s| s.parse().expect("features"));
    let classes: usize = args.get(3).map_or(20, |s| s.parse().expect("classes"));
    let csv = args.get(4);
    let mut rng = Xoshiro256PlusPlus::seed_from_u64(42);
    let centres: Vec<Vec<f64>> = (0..classes)
        .map(|_| (0..d).map(|_| normal(&mut rng) * 3.0).collect())
        .collect();
    let t = Instant::now();
    let mut x = Array2::zeros((n, d));
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let c = rng.gen_range(0..classes);
        for j in 0..d {
            x[[i, j]] = centres[c][j] + normal(&mut rng);
        }
        // 1% random label noise so the label detectors have work to do.
        let label = if rng.r#gen::<f64>() < 0.01 {
            rng.gen_range(0..classes)
        } else {
            c
        };
        names.push(Some(format!("c{label}")));
    }
    eprintln!("generate             {:>8.2} s", t.elapsed().as_secs_f64());
    if let Some(path) = csv {
        let mut cols: Vec<Column> = (0..d)
            .map(|j| Series::new(format!("f{j}").into(), x.column(j).to_vec()).into())
            .collect();
        cols.push(
            Series::new(
                "label".into(),
                names.iter().map(|s| s.clone().unwrap()).collect::<Vec<_>>(),
            )
            .into(),
        );
        let mut df = DataFrame::new(n, cols).expect("frame");
        let f = std::fs::File::create(path).expect("create csv");
        CsvWriter::new(f).finish(&mut df).expect("write csv");
        eprintln!("wrote {path}");
        return;
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
    let set = FeatureSet {
        matrix: FeatureMatrix { x, features },
        labels: Some(Labels::from_strings(&names)),
        ids: None,
        columns_used: (0..d).map(|j| format!("f{j}")).collect(),
        skipped: vec![],
        non_finite: vec![],
    };
    let params = ScanParams::default().check().expect("params");
    let detectors = registry(&Default::default()).expect("registry");
    let t = Instant::now();
    let out = run_scan(&set, &params, &detectors, &NoProgress).expect("scan");
    let total = t.elapsed().as_secs_f64();
    for (stage, took) in &out.timings {
        println!("{stage:<20} {:>8.2} s", took.as_secs_f64());
    }
    println!(
        "{:<20} {total:>8.2} s  ({n} rows x {d} features, {classes} classes, {} flagged)",
        "total",
        out.flagged.len()
    );
}
