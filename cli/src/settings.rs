//! Resolve scan settings: flags over the config file over defaults. Every field is
//! destructured so a new flag or key cannot be silently ignored.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use datavet_detect::DetectorConfig;
use serde::Deserialize;

use crate::args::{FailOn, ScanArgs};

/// `datavet.toml`: column roles, scan settings and detector parameters.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfigFile {
    /// Label column.
    pub label: Option<String>,
    /// Id column.
    pub id: Option<String>,
    /// Feature columns.
    pub features: Option<Vec<String>>,
    /// Ignored columns.
    pub ignore: Option<Vec<String>>,
    /// Seed.
    pub seed: Option<u64>,
    /// Threads.
    pub threads: Option<usize>,
    /// Flag budget.
    pub max_flag_rate: Option<f64>,
    /// Gate.
    pub fail_on: Option<FailOn>,
    /// Neighbours.
    pub k: Option<usize>,
    /// Detector parameters.
    #[serde(default)]
    pub detectors: DetectorConfig,
}

impl ConfigFile {
    /// Read and parse a config file.
    pub fn read(path: &Path) -> Result<ConfigFile> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("failed to read config {}", path.display()))?;
        toml::from_str(&text).map_err(|e| {
            anyhow::anyhow!(
                "invalid config {}: {}",
                path.display(),
                e.message().replace('\n', " ")
            )
        })
    }
}

/// The resolved scan settings.
#[derive(Debug)]
pub struct ScanSettings {
    pub data: Vec<PathBuf>,
    pub label: Option<String>,
    pub id: Option<String>,
    pub features: Option<Vec<String>>,
    pub ignore: Vec<String>,
    pub seed: u64,
    pub threads: Option<usize>,
    pub max_flag_rate: Option<f64>,
    pub fail_on: FailOn,
    pub k: usize,
    pub detectors: DetectorConfig,
}

impl ScanSettings {
    /// Merge flags, config file and defaults.
    pub fn resolve(args: &ScanArgs) -> Result<ScanSettings> {
        let ScanArgs {
            data,
            label,
            id,
            features,
            ignore,
            config,
            seed,
            threads,
            max_flag_rate,
            fail_on,
            k,
            json: _,
            max_memory: _,
            scores: _,
            export: _,
            clean: _,
            top: _,
            color: _,
            timings: _,
            read: _,
        } = args;
        let file = match config {
            Some(path) => ConfigFile::read(path)?,
            None if Path::new("datavet.toml").is_file() => {
                ConfigFile::read(Path::new("datavet.toml"))?
            }
            None => ConfigFile::default(),
        };
        let ConfigFile {
            label: f_label,
            id: f_id,
            features: f_features,
            ignore: f_ignore,
            seed: f_seed,
            threads: f_threads,
            max_flag_rate: f_rate,
            fail_on: f_fail_on,
            k: f_k,
            detectors,
        } = file;
        let settings = ScanSettings {
            data: data.clone(),
            label: label.clone().or(f_label),
            id: id.clone().or(f_id),
            features: features.clone().or(f_features),
            ignore: ignore.clone().or(f_ignore).unwrap_or_default(),
            seed: seed.or(f_seed).unwrap_or(0),
            threads: threads.or(f_threads),
            max_flag_rate: max_flag_rate.or(f_rate),
            fail_on: fail_on.or(f_fail_on).unwrap_or(FailOn::High),
            k: k.or(f_k).unwrap_or(10),
            detectors,
        };
        if settings.threads == Some(0) {
            bail!("--threads must be at least 1");
        }
        if settings.label.is_some() && settings.label == settings.id {
            bail!("the label and id columns must differ");
        }
        Ok(settings)
    }
}

/// The gate as a report string.
pub fn fail_on_str(f: FailOn) -> &'static str {
    match f {
        FailOn::Critical => "critical",
        FailOn::High => "high",
        FailOn::Medium => "medium",
        FailOn::Low => "low",
        FailOn::Never => "never",
    }
}
