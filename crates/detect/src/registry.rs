//! Which detectors a scan runs, with what settings: the `[detectors]` section of
//! `datavet.toml`, mapped onto each detector's params builder and checked.
//!
//! ```toml
//! [detectors]
//! disable = ["isolation_forest"]
//! [detectors.knn_label]
//! eta = 0.7
//! ```

use serde::Deserialize;

use crate::detectors::{ConfidentLearningParams, KnnLabelParams, VoteWeighting};
use crate::error::{DetectError, Result};
use crate::pipeline::Registered;

/// Vote weighting as written in the config.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WeightingConfig {
    /// Every neighbour counts once.
    Uniform,
    /// Nearer neighbours count more.
    InverseDistance,
}

impl From<WeightingConfig> for VoteWeighting {
    fn from(w: WeightingConfig) -> Self {
        match w {
            WeightingConfig::Uniform => VoteWeighting::Uniform,
            WeightingConfig::InverseDistance => VoteWeighting::InverseDistance,
        }
    }
}

/// `[detectors.knn_label]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KnnLabelConfig {
    /// Neighbours that vote.
    pub k: Option<usize>,
    /// Share of votes for another label needed to flag.
    pub eta: Option<f64>,
    /// Vote weighting.
    pub weighting: Option<WeightingConfig>,
}

/// `[detectors.confident_learning]`.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfidentLearningConfig {
    /// Neighbours that vote.
    pub k: Option<usize>,
    /// Laplace smoothing of the out-of-sample probabilities.
    pub smoothing: Option<f64>,
    /// Vote weighting.
    pub weighting: Option<WeightingConfig>,
}

/// Detector settings as written in `datavet.toml` under `[detectors]`. Every field is
/// optional; unknown keys are an error.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    /// Detector names not to run.
    #[serde(default)]
    pub disable: Vec<String>,
    /// kNN label disagreement.
    #[serde(default)]
    pub knn_label: KnnLabelConfig,
    /// Confident learning.
    #[serde(default)]
    pub confident_learning: ConfidentLearningConfig,
}

/// The names of every detector datavet has, in run order.
pub const DETECTOR_NAMES: &[&str] = &["knn_label", "confident_learning"];

/// Build the detectors to run from the config, validating every setting.
pub fn registry(config: &DetectorConfig) -> Result<Vec<Registered>> {
    let DetectorConfig {
        disable,
        knn_label,
        confident_learning,
    } = config;
    for name in disable {
        if !DETECTOR_NAMES.contains(&name.as_str()) {
            return Err(DetectError::InvalidParam {
                detector: "detectors",
                name: "disable",
                value: name.clone(),
                expected: "a detector name (see `datavet scan --help`)",
            });
        }
    }
    let enabled = |name: &str| !disable.iter().any(|d| d == name);
    let mut out: Vec<Registered> = Vec::new();

    if enabled("knn_label") {
        let KnnLabelConfig { k, eta, weighting } = knn_label;
        let mut p = KnnLabelParams::default();
        if let Some(k) = k {
            p = p.k(*k);
        }
        if let Some(eta) = eta {
            p = p.eta(*eta);
        }
        if let Some(w) = weighting {
            p = p.weighting((*w).into());
        }
        out.push(Registered {
            detector: Box::new(p.check()?),
            family: "labels",
            needs_labels: true,
        });
    }
    if enabled("confident_learning") {
        let ConfidentLearningConfig {
            k,
            smoothing,
            weighting,
        } = confident_learning;
        let mut p = ConfidentLearningParams::default();
        if let Some(k) = k {
            p = p.k(*k);
        }
        if let Some(a) = smoothing {
            p = p.smoothing(*a);
        }
        if let Some(w) = weighting {
            p = p.weighting((*w).into());
        }
        out.push(Registered {
            detector: Box::new(p.check()?),
            family: "labels",
            needs_labels: true,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_builds_and_disable_removes_it() {
        let all = registry(&DetectorConfig::default()).unwrap();
        let names: Vec<&str> = all.iter().map(|r| r.detector.name()).collect();
        assert_eq!(names, DETECTOR_NAMES);
        let cfg = DetectorConfig {
            disable: vec!["knn_label".into()],
            ..Default::default()
        };
        let some = registry(&cfg).unwrap();
        assert!(some.iter().all(|r| r.detector.name() != "knn_label"));
    }

    #[test]
    fn bad_values_and_names_are_refused() {
        let cfg = DetectorConfig {
            disable: vec!["nope".into()],
            ..Default::default()
        };
        assert!(registry(&cfg).is_err());
        let cfg = DetectorConfig {
            knn_label: KnnLabelConfig {
                eta: Some(2.0),
                ..Default::default()
            },
            ..Default::default()
        };
        assert!(registry(&cfg).is_err());
    }
}
