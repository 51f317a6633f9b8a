//! The detectors, one per module, each citing the paper it implements.

pub mod spectral;

pub use spectral::{SpectralSignatureParams, SpectralSignatureValidParams};
