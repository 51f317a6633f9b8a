//! The detectors, one per module, each citing the paper it implements.

pub mod activation_clustering;
pub mod clustering;
mod components;
pub mod confident_learning;
pub mod duplicates;
pub mod ecod;
pub mod isolation_forest;
mod kmeans;
pub mod knn_label;
pub mod knn_outlier;
pub mod label_stats;
pub mod near_duplicates;
pub mod spectral;
pub mod trigger;

pub use activation_clustering::{ActivationClusteringParams, ActivationClusteringValidParams};
pub use clustering::{ClusteringParams, ClusteringValidParams};
pub use confident_learning::{ConfidentLearningParams, ConfidentLearningValidParams};
pub use duplicates::{DuplicatesParams, DuplicatesValidParams};
pub use ecod::{EcodParams, EcodScores, EcodValidParams};
pub use isolation_forest::{IsolationForest, IsolationForestParams, IsolationForestValidParams};
pub use knn_label::{KnnLabelParams, KnnLabelValidParams, VoteWeighting};
pub use knn_outlier::{KnnOutlierParams, KnnOutlierValidParams};
pub use label_stats::label_findings;
pub use near_duplicates::{NearDuplicatesParams, NearDuplicatesValidParams};
pub use spectral::{SpectralSignatureParams, SpectralSignatureValidParams};
pub use trigger::{TriggerParams, TriggerValidParams};
