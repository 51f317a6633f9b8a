//! The detectors, one per module, each citing the paper it implements.

pub mod trigger;

pub use trigger::{TriggerParams, TriggerValidParams};
