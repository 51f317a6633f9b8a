//! Detection for datavet: build a feature matrix from a table, run detectors that
//! score every row for being mislabelled, duplicated, anomalous or poisoned, and
//! explain each flag.
//!
//! Every detector follows linfa's ParamGuard habit: an unchecked `…Params` builder,
//! `check()` into validated params, and [`Detector::detect`] on the validated type.
//!
//! ```
//! use datavet_detect::{KnnGraph, NoProgress, score};
//! use ndarray::array;
//!
//! let x = array![[0.0, 0.0], [0.1, 0.0], [0.0, 0.1], [9.0, 9.0]];
//! let graph = KnnGraph::brute_force(x.view(), 2, &NoProgress);
//! let mean_dist: Vec<f64> = graph.distances.rows().into_iter().map(|r| r.mean().unwrap()).collect();
//! let unit = score::unit_scores(&mean_dist);
//! assert!(unit[3] > unit[0]);
//! ```
#![deny(missing_docs)]

mod context;
pub mod detectors;
mod error;
mod features;
mod issue;
mod knn;
pub mod memory;
mod pipeline;
mod registry;
pub mod score;
pub mod scoring;

pub use context::{
    Context, Detector, FeatureInfo, FeatureKind, FeatureMatrix, Labels, NoProgress, Progress,
};
pub use error::{DetectError, Result};
pub use features::{FeatureParams, FeatureSet, FeatureValidParams, NonFiniteColumn, SkippedColumn};
pub use issue::{DatasetFinding, DetectorReport, Evidence, IssueKind, RowIssue, Severity};
pub use knn::{KnnGraph, KnnStrategy};
pub use pipeline::{
    DetectorScores, Registered, ScanOutput, ScanParams, ScanValidParams, SkippedCheck, run_scan,
};
pub use registry::{DETECTOR_NAMES, DetectorConfig, registry};
pub use scoring::FlaggedRow;

#[cfg(test)]
mod testdata;
