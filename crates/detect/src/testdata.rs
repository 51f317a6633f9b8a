//! Deterministic planted data for detector unit tests (test builds only).
#![allow(dead_code)]

use ndarray::Array2;
use rand::{Rng, SeedableRng};
use rand_xoshiro::Xoshiro256PlusPlus;

use crate::context::{
    Context, Detector, FeatureInfo, FeatureKind, FeatureMatrix, Labels, NoProgress,
};
use crate::error::Result;
use crate::issue::DetectorReport;
use crate::knn::KnnGraph;

/// A seeded generator with a standard normal sampler.
pub struct Gen(pub Xoshiro256PlusPlus);

impl Gen {
    pub fn new(seed: u64) -> Gen {
        Gen(Xoshiro256PlusPlus::seed_from_u64(seed))
    }

    /// Standard normal by Box–Muller.
    pub fn normal(&mut self) -> f64 {
        let u1: f64 = self.0.r#gen::<f64>().max(1e-300);
        let u2: f64 = self.0.r#gen::<f64>();
        (-2.0 * u1.ln()).sqrt() * (2.0 * std::f64::consts::PI * u2).cos()
    }

    pub fn uniform(&mut self) -> f64 {
        self.0.r#gen::<f64>()
    }

    pub fn below(&mut self, n: usize) -> usize {
        self.0.gen_range(0..n)
    }

    /// `count` distinct indices from `0..n`, sorted.
    pub fn sample(&mut self, n: usize, count: usize) -> Vec<usize> {
        let mut idx = rand::seq::index::sample(&mut self.0, n, count).into_vec();
        idx.sort_unstable();
        idx
    }
}

/// Gaussian blobs: `n_classes` classes with `per_class` rows each in `dims`
/// dimensions, class centres `separation` apart on random axes, unit noise.
/// Rows are interleaved by class (row i has class i % n_classes).
pub fn blobs(
    per_class: usize,
    n_classes: usize,
    dims: usize,
    separation: f64,
    seed: u64,
) -> (FeatureMatrix, Labels) {
    let mut g = Gen::new(seed);
    let centres: Vec<Vec<f64>> = (0..n_classes)
        .map(|_| (0..dims).map(|_| g.normal() * separation).collect())
        .collect();
    let n = per_class * n_classes;
    let mut x = Array2::zeros((n, dims));
    let mut names = Vec::with_capacity(n);
    for i in 0..n {
        let c = i % n_classes;
        for d in 0..dims {
            x[[i, d]] = centres[c][d] + g.normal();
        }
        names.push(Some(format!("c{c}")));
    }
    (matrix(x), Labels::from_strings(&names))
}

/// Wrap a matrix with plain numeric feature names f0, f1, ...
pub fn matrix(x: Array2<f64>) -> FeatureMatrix {
    let features = (0..x.ncols())
        .map(|d| FeatureInfo {
            name: format!("f{d}"),
            source: format!("f{d}"),
            kind: FeatureKind::Numeric {
                center: 0.0,
                scale: 1.0,
            },
        })
        .collect();
    FeatureMatrix { x, features }
}

/// Precision and recall of `flagged` against `truth` (both row indices).
pub fn precision_recall(flagged: &[usize], truth: &[usize]) -> (f64, f64) {
    let truth: std::collections::BTreeSet<usize> = truth.iter().copied().collect();
    let flagged: std::collections::BTreeSet<usize> = flagged.iter().copied().collect();
    let hit = flagged.intersection(&truth).count() as f64;
    let p = if flagged.is_empty() {
        1.0
    } else {
        hit / flagged.len() as f64
    };
    let r = if truth.is_empty() {
        1.0
    } else {
        hit / truth.len() as f64
    };
    (p, r)
}

/// Run `det` on `fm` with these labels and seed, and a kNN graph of `k` neighbours
/// (`0`: an empty graph, for detectors that do not read it).
pub fn detect(
    det: &dyn Detector,
    fm: &FeatureMatrix,
    labels: Option<&Labels>,
    k: usize,
    seed: u64,
) -> Result<DetectorReport> {
    let knn = if k == 0 {
        KnnGraph::from_rows(Vec::new(), 0)
    } else {
        KnnGraph::build(fm.x.view(), k, 0, &NoProgress)
    };
    det.detect(&Context {
        features: fm,
        labels,
        knn: &knn,
        seed,
        progress: &NoProgress,
    })
}
