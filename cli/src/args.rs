//! Command-line definitions (clap derive). No logic here: `settings.rs` merges these
//! with the config file and defaults.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Vet training data before a model is trained on it.
#[derive(Debug, Parser)]
#[command(name = "datavet", version, about, propagate_version = true)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Score every row for being mislabelled, duplicated, anomalous or poisoned.
    #[command(after_help = SCAN_EXAMPLES)]
    Scan(Box<ScanArgs>),
    /// Export flagged rows (or the clean rest) from a saved scan report.
    #[command(after_help = EXPORT_EXAMPLES)]
    Export(ExportArgs),
}

const SCAN_EXAMPLES: &str = "Examples:
  datavet scan fixtures/demo/train.csv --label label --id id
  datavet scan data/shards/ --label y --json report.json --export flagged.csv
  datavet scan train.parquet --label y --clean train.clean.parquet --fail-on critical
  datavet scan embeddings.jsonl --label class --ignore source --max-flag-rate 0.02

Exit codes: 0 nothing at or above --fail-on, 1 findings at or above it, 2 error.";

const EXPORT_EXAMPLES: &str = "Examples:
  datavet export train.csv --report report.json -o flagged.csv
  datavet export train.csv --report report.json --clean -o train.clean.parquet
  datavet export train.csv --report report.json --min-severity high --kind backdoor_trigger -o t.csv";

/// The lowest severity that fails a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Fail on critical findings only.
    Critical,
    /// Fail on high or critical.
    High,
    /// Fail on medium and above.
    Medium,
    /// Fail on any finding.
    Low,
    /// Never fail on findings.
    Never,
}

/// Severity filter for export.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum MinSeverity {
    /// Critical only.
    Critical,
    /// High and above.
    High,
    /// Medium and above.
    Medium,
    /// All flagged rows.
    Low,
}

/// When to colour output.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Default)]
pub enum ColorChoice {
    /// Colour when stdout is a terminal.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// How to read the input tables.
#[derive(Debug, Args)]
pub struct ReadArgs {
    /// Field delimiter for CSV-like files (default: from the extension).
    #[arg(long, value_name = "CHAR")]
    pub delimiter: Option<char>,
    /// CSV files have no header row (columns are named column_1, column_2, ...).
    #[arg(long)]
    pub no_header: bool,
}

/// `datavet scan`.
#[derive(Debug, Args)]
pub struct ScanArgs {
    /// Data files, folders (walked recursively) or globs of shards.
    #[arg(required = true, value_name = "DATA")]
    pub data: Vec<PathBuf>,
    /// Label column (string, integer or boolean). Without it, label checks are skipped.
    #[arg(long, value_name = "COL")]
    pub label: Option<String>,
    /// Id column, carried into the report, never used as a feature.
    #[arg(long, value_name = "COL")]
    pub id: Option<String>,
    /// Use only these columns as features (comma-separated).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub features: Option<Vec<String>>,
    /// Never use these columns as features (comma-separated).
    #[arg(long, value_name = "COLS", value_delimiter = ',')]
    pub ignore: Option<Vec<String>>,
    /// Settings file (default: ./datavet.toml if present). Flags override it.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Seed for every random choice (same input and seed give identical reports).
    #[arg(long)]
    pub seed: Option<u64>,
    /// Worker threads (default: all cores).
    #[arg(long)]
    pub threads: Option<usize>,
    /// Flag at most this share of rows, the most suspicious first (e.g. 0.05).
    #[arg(long, value_name = "RATE")]
    pub max_flag_rate: Option<f64>,
    /// Exit 1 when any finding is at or above this severity.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub fail_on: Option<FailOn>,
    /// Neighbours per row for the neighbour-based detectors.
    #[arg(long)]
    pub k: Option<usize>,
    /// Write the full report as JSON.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write one line per input row with the combined and per-detector scores (CSV).
    #[arg(long, value_name = "FILE")]
    pub scores: Option<PathBuf>,
    /// Write the flagged rows with all their columns (CSV or Parquet by extension).
    #[arg(long, value_name = "FILE")]
    pub export: Option<PathBuf>,
    /// Write the dataset without the flagged rows (CSV or Parquet by extension).
    #[arg(long, value_name = "FILE")]
    pub clean: Option<PathBuf>,
    /// Rows to list in the text report.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// No progress bars and no text report on stdout (exit code and files only).
    #[arg(long, short)]
    pub quiet: bool,
    /// When to colour the text report.
    #[arg(long, value_enum, default_value_t)]
    pub color: ColorChoice,
    /// Print per-stage timings on stderr.
    #[arg(long)]
    pub timings: bool,
    /// Input reading options.
    #[command(flatten)]
    pub read: ReadArgs,
}

/// `datavet export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The data the report was made from (same files, same order).
    #[arg(required = true, value_name = "DATA")]
    pub data: Vec<PathBuf>,
    /// A report written by `datavet scan --json`.
    #[arg(long, value_name = "REPORT.json")]
    pub report: PathBuf,
    /// Output file (CSV or Parquet by extension).
    #[arg(long, short, value_name = "FILE")]
    pub output: PathBuf,
    /// Write the dataset without the flagged rows instead of the flagged rows.
    #[arg(long)]
    pub clean: bool,
    /// Only rows at or above this severity.
    #[arg(long, value_enum, value_name = "LEVEL")]
    pub min_severity: Option<MinSeverity>,
    /// Only rows with at least one of these issue kinds (comma-separated).
    #[arg(long, value_name = "KINDS", value_delimiter = ',')]
    pub kind: Option<Vec<String>>,
    /// Input reading options.
    #[command(flatten)]
    pub read: ReadArgs,
}
