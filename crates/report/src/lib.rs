//! Scan reports for datavet: the versioned JSON model, the human text report, and
//! the CSV / Parquet files pipelines consume. Every file is written atomically.
//!
//! ```
//! use datavet_report::free_name;
//! use std::collections::BTreeSet;
//!
//! let existing: BTreeSet<String> = ["score".to_string()].into();
//! assert_eq!(free_name(&existing, "score"), "datavet_score");
//! assert_eq!(free_name(&existing, "reason"), "reason");
//! ```
#![deny(missing_docs)]

mod atomic;
mod error;
mod model;
mod tables;
mod text;

pub use atomic::{Staged, stage, write_atomic};
pub use error::{ReportError, Result};
pub use model::{
    DatasetSummary, DetectorSummary, Finding, FlaggedRow, InputFile, RowIssue, SCHEMA, ScanReport,
    Settings, SkippedCheck, SkippedColumn, Summary, Tool, parse_severity, round,
};
pub use tables::{
    TableFormat, clean_frame, export_frame, free_name, scores_frame, stage_table, write_table,
};
pub use text::{TextOptions, render};
