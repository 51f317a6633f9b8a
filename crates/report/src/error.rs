//! The one error type of the report crate.

use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong while writing or reading a report.
#[derive(Debug, Error)]
pub enum ReportError {
    /// Creating, writing or renaming an output file failed.
    #[error("failed to write {}", path.display())]
    Write {
        /// The output path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// Building or writing a table failed.
    #[error("failed to write the table {}", path.display())]
    Table {
        /// The output path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: polars::error::PolarsError,
    },
    /// The output extension names no format we write.
    #[error("cannot tell the format of {} from its extension (use .csv or .parquet)", path.display())]
    UnknownFormat {
        /// The output path.
        path: PathBuf,
    },
    /// A saved report could not be parsed.
    #[error("failed to parse the report {}", path.display())]
    Parse {
        /// The report path.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A saved report has a schema version we do not read.
    #[error("report {} has schema '{found}', expected '{expected}'", path.display())]
    Schema {
        /// The report path.
        path: PathBuf,
        /// The schema found.
        found: String,
        /// The schema expected.
        expected: &'static str,
    },
    /// A row index in the report is outside the data.
    #[error("report names row {row} but the data has {rows} rows")]
    RowOutOfRange {
        /// The row in the report.
        row: usize,
        /// Rows in the data.
        rows: usize,
    },
}

/// Result alias for the report crate.
pub type Result<T, E = ReportError> = std::result::Result<T, E>;
