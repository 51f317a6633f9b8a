//! The detectors, one per module, each citing the paper it implements.

pub mod duplicates;
pub mod knn_outlier;
pub mod near_duplicates;

pub use duplicates::{DuplicatesParams, DuplicatesValidParams};
pub use knn_outlier::{KnnOutlierParams, KnnOutlierValidParams};
pub use near_duplicates::{NearDuplicatesParams, NearDuplicatesValidParams};
