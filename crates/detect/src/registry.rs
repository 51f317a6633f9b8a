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

use crate::detectors::{
    ActivationClusteringParams, ClusteringParams, ConfidentLearningParams, DuplicatesParams,
    EcodParams, IsolationForestParams, KnnLabelParams, KnnOutlierParams, NearDuplicatesParams,
    SpectralSignatureParams, TriggerParams, VoteWeighting,
};
use crate::error::{DetectError, Result};
use crate::pipeline::Registered;
use crate::scoring::Rank;

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

/// One `[detectors.NAME]` table: every key optional, unknown keys refused, each
/// key applied through the detector's own params setter (so its `check` validates).
macro_rules! detector_config {
    ($(#[$doc:meta])* $cfg:ident for $params:ty { $($field:ident: $ty:ty => $setter:ident),* $(,)? }) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Default, PartialEq, Deserialize)]
        #[serde(deny_unknown_fields)]
        pub struct $cfg {
            $(
                #[doc = concat!("Sets `", stringify!($setter), "` on the detector's params.")]
                pub $field: Option<$ty>,
            )*
        }

        impl $cfg {
            fn apply(&self, params: $params) -> $params {
                let Self { $($field),* } = self;
                #[allow(unused_mut)]
                let mut params = params;
                $(
                    if let Some(v) = $field {
                        params = params.$setter((*v).into());
                    }
                )*
                params
            }
        }
    };
}

detector_config!(
    /// `[detectors.duplicates]`.
    DuplicatesConfig for DuplicatesParams { max_listed: usize => max_listed }
);
detector_config!(
    /// `[detectors.near_duplicates]`.
    NearDuplicatesConfig for NearDuplicatesParams { factor: f64 => factor }
);
detector_config!(
    /// `[detectors.knn_outlier]`.
    KnnOutlierConfig for KnnOutlierParams {
        k: usize => k,
        z_threshold: f64 => z_threshold,
        top_features: usize => top_features,
    }
);
detector_config!(
    /// `[detectors.ecod]`.
    EcodConfig for EcodParams { threshold: f64 => threshold, top_features: usize => top_features }
);
detector_config!(
    /// `[detectors.isolation_forest]`.
    IsolationForestConfig for IsolationForestParams {
        n_trees: usize => n_trees,
        subsample: usize => subsample,
        threshold: f64 => threshold,
        min_score: f64 => min_score,
        top_features: usize => top_features,
    }
);
detector_config!(
    /// `[detectors.clustering]`.
    ClusteringConfig for ClusteringParams {
        n_clusters: usize => n_clusters,
        max_clusters: usize => max_clusters,
        sample_size: usize => sample_size,
        z_threshold: f64 => z_threshold,
        majority_share: f64 => majority_share,
        min_cluster_rows: usize => min_cluster_rows,
    }
);
detector_config!(
    /// `[detectors.knn_label]`.
    KnnLabelConfig for KnnLabelParams {
        k: usize => k,
        eta: f64 => eta,
        weighting: WeightingConfig => weighting,
    }
);
detector_config!(
    /// `[detectors.confident_learning]`.
    ConfidentLearningConfig for ConfidentLearningParams {
        k: usize => k,
        smoothing: f64 => smoothing,
        weighting: WeightingConfig => weighting,
        min_rows: usize => min_rows,
    }
);
detector_config!(
    /// `[detectors.spectral_signature]`.
    SpectralConfig for SpectralSignatureParams {
        z_threshold: f64 => z_threshold,
        max_fraction: f64 => max_fraction,
        min_class_rows: usize => min_class_rows,
        top_features: usize => top_features,
    }
);

detector_config!(
    /// `[detectors.activation_clustering]`.
    ActivationClusteringConfig for ActivationClusteringParams {
        n_components: usize => n_components,
        max_cluster_share: f64 => max_cluster_share,
        min_silhouette: f64 => min_silhouette,
        min_class_rows: usize => min_class_rows,
        min_cluster_rows: usize => min_cluster_rows,
    }
);
detector_config!(
    /// `[detectors.trigger]`.
    TriggerConfig for TriggerParams {
        min_support: usize => min_support,
        max_support_share: f64 => max_support_share,
        min_purity: f64 => min_purity,
        alpha: f64 => alpha,
        k: usize => k,
    }
);

/// Detector settings as written in `datavet.toml` under `[detectors]`. Every field is
/// optional; unknown keys are an error.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DetectorConfig {
    /// Detector names not to run.
    #[serde(default)]
    pub disable: Vec<String>,
    /// Exact duplicates.
    #[serde(default)]
    pub duplicates: DuplicatesConfig,
    /// Near-duplicates.
    #[serde(default)]
    pub near_duplicates: NearDuplicatesConfig,
    /// kNN outlier score.
    #[serde(default)]
    pub knn_outlier: KnnOutlierConfig,
    /// ECOD.
    #[serde(default)]
    pub ecod: EcodConfig,
    /// Isolation Forest.
    #[serde(default)]
    pub isolation_forest: IsolationForestConfig,
    /// k-means clustering.
    #[serde(default)]
    pub clustering: ClusteringConfig,
    /// kNN label disagreement.
    #[serde(default)]
    pub knn_label: KnnLabelConfig,
    /// Confident learning.
    #[serde(default)]
    pub confident_learning: ConfidentLearningConfig,
    /// Spectral signatures.
    #[serde(default)]
    pub spectral_signature: SpectralConfig,
    /// Activation clustering.
    #[serde(default)]
    pub activation_clustering: ActivationClusteringConfig,
    /// Tabular backdoor triggers.
    #[serde(default)]
    pub trigger: TriggerConfig,
}

/// The names of every detector datavet has, in run order.
pub const DETECTOR_NAMES: &[&str] = &[
    "duplicates",
    "near_duplicates",
    "knn_outlier",
    "ecod",
    "isolation_forest",
    "clustering",
    "knn_label",
    "confident_learning",
    "spectral_signature",
    "activation_clustering",
    "trigger",
];

/// Build the detectors to run from the config, validating every setting.
pub fn registry(config: &DetectorConfig) -> Result<Vec<Registered>> {
    let DetectorConfig {
        disable,
        duplicates,
        near_duplicates,
        knn_outlier,
        ecod,
        isolation_forest,
        clustering,
        knn_label,
        confident_learning,
        spectral_signature,
        activation_clustering,
        trigger,
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
    let mut out: Vec<Registered> = Vec::new();
    let mut add = |name: &str,
                   family: &'static str,
                   needs_labels: bool,
                   rank: Rank,
                   detector: Box<dyn crate::Detector + Sync>| {
        if !disable.iter().any(|d| d == name) {
            out.push(Registered {
                detector,
                family,
                needs_labels,
                rank,
            });
        }
    };
    add(
        "duplicates",
        "duplicates",
        false,
        Rank::Always,
        Box::new(duplicates.apply(DuplicatesParams::default()).check()?),
    );
    add(
        "near_duplicates",
        "duplicates",
        false,
        Rank::Always,
        Box::new(
            near_duplicates
                .apply(NearDuplicatesParams::default())
                .check()?,
        ),
    );
    add(
        "knn_outlier",
        "outliers",
        false,
        Rank::Always,
        Box::new(knn_outlier.apply(KnnOutlierParams::default()).check()?),
    );
    add(
        "ecod",
        "outliers",
        false,
        Rank::Always,
        Box::new(ecod.apply(EcodParams::default()).check()?),
    );
    add(
        "isolation_forest",
        "outliers",
        false,
        Rank::Always,
        Box::new(
            isolation_forest
                .apply(IsolationForestParams::default())
                .check()?,
        ),
    );
    add(
        "clustering",
        "outliers",
        false,
        Rank::Never,
        Box::new(clustering.apply(ClusteringParams::default()).check()?),
    );
    add(
        "knn_label",
        "labels",
        true,
        Rank::UnlessLabelModel,
        Box::new(knn_label.apply(KnnLabelParams::default()).check()?),
    );
    add(
        "confident_learning",
        "labels",
        true,
        Rank::Always,
        Box::new(
            confident_learning
                .apply(ConfidentLearningParams::default())
                .check()?,
        ),
    );
    add(
        "spectral_signature",
        "poisoning",
        true,
        Rank::Never,
        Box::new(
            spectral_signature
                .apply(SpectralSignatureParams::default())
                .check()?,
        ),
    );
    add(
        "activation_clustering",
        "poisoning",
        true,
        Rank::Never,
        Box::new(
            activation_clustering
                .apply(ActivationClusteringParams::default())
                .check()?,
        ),
    );
    add(
        "trigger",
        "poisoning",
        true,
        Rank::Always,
        Box::new(trigger.apply(TriggerParams::default()).check()?),
    );
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
