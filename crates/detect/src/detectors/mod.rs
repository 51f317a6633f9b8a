//! The detectors, one per module, each citing the paper it implements.

pub mod ecod;
pub mod isolation_forest;

pub use ecod::{EcodParams, EcodScores, EcodValidParams};
pub use isolation_forest::{IsolationForest, IsolationForestParams, IsolationForestValidParams};
