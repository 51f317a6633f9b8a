//! Measurements run on demand (`--ignored --nocapture`): the table of flag
//! quality over seeds, one case in detail, and the release-build timing.

use super::*;

#[test]
#[ignore = "prints the measured table; run with --ignored --nocapture"]
#[allow(clippy::print_stderr)]
fn measured_table() {
    let seeds: Vec<u64> = std::env::var("TRIGGER_SEEDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .map_or(vec![1], |k: u64| (100..100 + k).collect());
    eprintln!(
        "| case | n | poisoned | precision | recall | F1 (mean, min) | clean flag rate (mean, max) | datasets with a false flag |"
    );
    for (name, build) in all_cases() {
        let (mut p, mut r, mut f1, mut f1_min, mut cr, mut cr_max, mut any) =
            (0.0, 0.0, 0.0, f64::INFINITY, 0.0, 0.0f64, 0);
        let (mut n, mut poisoned) = (0, 0);
        for &seed in &seeds {
            let c = build(seed);
            let q = quality(&c, &run(&c));
            (n, poisoned) = (c.fm.n_rows(), c.poisoned.len());
            p += q.precision;
            r += q.recall;
            f1 += q.f1;
            f1_min = f1_min.min(q.f1);
            cr += q.clean_rate;
            cr_max = cr_max.max(q.clean_rate);
            any += usize::from(q.clean_rate > 0.0);
        }
        let k = seeds.len() as f64;
        eprintln!(
            "| {name} | {n} | {poisoned} | {:.3} | {:.3} | {:.3}, {:.3} | {:.5}, {:.5} | {any}/{} |",
            p / k,
            r / k,
            f1 / k,
            f1_min,
            cr / k,
            cr_max,
            seeds.len()
        );
    }
}

#[test]
#[ignore]
#[allow(clippy::print_stderr)]
fn debug_case() {
    let seed: u64 = std::env::var("SEED").unwrap().parse().unwrap();
    let name = std::env::var("CASE").unwrap();
    let build = all_cases()
        .into_iter()
        .find(|c| c.0.starts_with(&name))
        .unwrap()
        .1;
    let c = build(seed);
    let r = run(&c);
    eprintln!("{:?}", quality(&c, &r));
    eprintln!("poisoned {:?}", c.poisoned);
    for f in &r.findings {
        eprintln!(
            "{} [{}] {} / {}",
            f.category, f.severity, f.finding, f.recommendation
        );
    }
    if let Some(i) = r.issues.first() {
        eprintln!("row {} score {:.3}: {}", i.row, i.score, i.reason);
    }
}

/// Release-build timing at 1,000,000 × 32 (24 continuous, 8 integer 0..5 columns,
/// an out-of-range trigger in 0.5% of rows and a two-column in-range trigger in
/// 0.3%). The shared kNN graph is simulated (10 random rows of each row's true
/// class): building a real one is not this detector's cost.
/// `cargo test --release -p datavet-detect perf_million -- --ignored --nocapture`
#[test]
#[ignore = "release-build timing"]
#[allow(clippy::print_stderr)]
fn perf_million_rows() {
    let (n, d) = (1_000_000usize, 32usize);
    let mut g = Gen::new(5);
    let shift: Vec<f64> = (0..24).map(|_| g.normal() * 0.5).collect();
    let mut x = Array2::zeros((n, d));
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % 2;
        for j in 0..24 {
            x[[i, j]] = g.normal() + if c == 1 { shift[j] } else { 0.0 };
        }
        for j in 24..d {
            x[[i, j]] = g.below(6) as f64;
        }
        names.push(Some(format!("c{c}")));
    }
    let labels = Labels::from_strings(&names);
    let truth: Vec<u32> = labels.codes.iter().map(|c| c.unwrap()).collect();
    let features = (0..d).map(|j| numeric(&format!("f{j}"))).collect();
    let mut c = Case {
        fm: FeatureMatrix { x, features },
        labels,
        poisoned: Vec::new(),
    };
    let rows = pick(&mut g, &c.labels, 5000, 1, false);
    plant(&mut c, &rows, &[3], &[60.0], 1);
    let v = [column_value(&c.fm, 7, 0.3), column_value(&c.fm, 11, 0.6)];
    let rows: Vec<usize> = pick(&mut g, &c.labels, 3000, 1, false)
        .into_iter()
        .filter(|r| !c.poisoned.contains(r))
        .collect();
    plant(&mut c, &rows, &[7, 11], &v, 1);
    let by_class: Vec<Vec<u32>> = (0..2u32)
        .map(|k| (0..n as u32).filter(|&i| truth[i as usize] == k).collect())
        .collect();
    // 5% of rows get neighbours of the other class (ordinary label noise).
    let knn_rows = (0..n)
        .map(|i| {
            let noisy = g.uniform() < 0.05;
            let pool = &by_class[(truth[i] ^ u32::from(noisy)) as usize];
            let idx: Vec<u32> = (0..10).map(|_| pool[g.below(pool.len())]).collect();
            (idx, vec![1.0; 10])
        })
        .collect();
    let knn = KnnGraph::from_rows(knn_rows, 10);
    let ctx = Context {
        features: &c.fm,
        labels: Some(&c.labels),
        knn: &knn,
        seed: 1,
        progress: &NoProgress,
    };
    let det = TriggerParams::new().check().unwrap();
    let t = std::time::Instant::now();
    let r = det.detect(&ctx).unwrap();
    let took = t.elapsed();
    let q = quality(&c, &r);
    eprintln!("1M x 32: {took:?}, {} flagged, {q:?}", r.issues.len());
    assert!(q.f1 > 0.9, "{q:?}");
}
