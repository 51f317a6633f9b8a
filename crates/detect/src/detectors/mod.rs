//! The detectors, one per module, each citing the paper it implements.

pub mod confident_learning;
pub mod knn_label;
pub mod label_stats;

pub use confident_learning::{ConfidentLearningParams, ConfidentLearningValidParams};
pub use knn_label::{KnnLabelParams, KnnLabelValidParams, VoteWeighting};
pub use label_stats::label_findings;
