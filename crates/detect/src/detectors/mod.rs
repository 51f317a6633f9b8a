//! The detectors, one per module, each citing the paper it implements.

pub mod clustering;
pub mod spectral;

pub use clustering::{ClusteringParams, ClusteringValidParams};
pub use spectral::{SpectralSignatureParams, SpectralSignatureValidParams};
