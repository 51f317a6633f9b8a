//! The detectors, one per module, each citing the paper it implements.

pub mod activation_clustering;
pub mod clustering;
mod kmeans;
pub mod spectral;

pub use activation_clustering::{ActivationClusteringParams, ActivationClusteringValidParams};
pub use clustering::{ClusteringParams, ClusteringValidParams};
pub use spectral::{SpectralSignatureParams, SpectralSignatureValidParams};
