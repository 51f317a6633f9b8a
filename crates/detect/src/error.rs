//! The one error type of the detection crate.

use thiserror::Error;

/// Everything that can go wrong while building features or running detectors.
#[derive(Debug, Error)]
pub enum DetectError {
    /// A column named in the settings is not in the table.
    #[error("column '{column}' is not in the table")]
    MissingColumn {
        /// The column that was asked for.
        column: String,
    },
    /// A column exists but its type cannot be used in the role it was given.
    #[error("column '{column}' has type {dtype}, which cannot be used as {role}")]
    UnsupportedColumn {
        /// The column.
        column: String,
        /// Its logical type, as polars names it.
        dtype: String,
        /// The role it was given (feature, label, id).
        role: &'static str,
    },
    /// No usable feature column is left after dropping ids, labels and constants.
    #[error("no usable feature columns (all were ignored, constant or unsupported)")]
    NoFeatures,
    /// The table has too few rows for the detector.
    #[error("{detector} needs at least {needed} rows, the table has {got}")]
    TooFewRows {
        /// Detector name.
        detector: &'static str,
        /// Minimum rows.
        needed: usize,
        /// Rows present.
        got: usize,
    },
    /// A detector parameter is out of range (the ParamGuard check failed).
    #[error("invalid parameter {name} = {value} for {detector}: {expected}")]
    InvalidParam {
        /// Detector name.
        detector: &'static str,
        /// Parameter name.
        name: &'static str,
        /// The value given, formatted.
        value: String,
        /// What was expected.
        expected: &'static str,
    },
    /// A label is needed but none was given.
    #[error("{detector} needs a label column")]
    NeedsLabels {
        /// Detector name.
        detector: &'static str,
    },
    /// Reading a column from the table failed.
    #[error("failed to read column '{column}'")]
    Polars {
        /// The column being read.
        column: String,
        /// The cause.
        #[source]
        source: polars::error::PolarsError,
    },
    /// A numerical routine from linfa failed.
    #[error("{detector} failed in {step}: {message}")]
    Numerical {
        /// Detector name.
        detector: &'static str,
        /// What it was doing.
        step: &'static str,
        /// The underlying message.
        message: String,
    },
}

/// Result alias for the detection crate.
pub type Result<T, E = DetectError> = std::result::Result<T, E>;
