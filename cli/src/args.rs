//! Command-line definitions (clap derive). No logic here: each subcommand's file in
//! `cmd/` turns these into settings.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

/// Vet training data before a model is trained on it: find poisoned, mislabelled,
/// duplicated or tampered rows, and prove a dataset is unchanged.
#[derive(Debug, Parser)]
#[command(name = "datavet", version, propagate_version = true)]
pub struct Cli {
    /// The subcommand.
    #[command(subcommand)]
    pub command: Command,
    /// Hide progress bars (they are only ever drawn on a terminal, on stderr).
    #[arg(long, short, global = true)]
    pub quiet: bool,
}

/// The subcommands.
// Parsed once per process: the size difference between variants does not matter.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Score every row for being mislabelled, duplicated, anomalous or poisoned.
    #[command(after_help = SCAN_EXAMPLES)]
    Scan(ScanArgs),
    /// Export flagged rows (or the clean rest) from a saved scan report.
    #[command(after_help = EXPORT_EXAMPLES)]
    Export(ExportArgs),
    /// Fingerprint a dataset: SHA-256 per file, a digest per row, provenance.
    Manifest(ManifestArgs),
    /// Check files against a manifest: what changed, down to the row.
    Verify(VerifyArgs),
    /// Make an ed25519 key pair for signing manifests.
    #[command(after_help = KEYGEN_EXAMPLES)]
    Keygen(KeygenArgs),
}

const KEYGEN_EXAMPLES: &str = "\
Examples:
  datavet keygen -o datavet.key       # writes datavet.key (0600) and datavet.key.pub
  datavet manifest data/ -o data.manifest.json --sign datavet.key
  datavet verify data.manifest.json --key datavet.key.pub

Key files are PEM (PKCS#8 private key, SubjectPublicKeyInfo public key), the same as
`openssl genpkey -algorithm ed25519` and `openssl pkey -pubout` write. See
docs/manifest.md, \"Signing\".";

/// `datavet keygen`.
#[derive(Debug, Args)]
pub struct KeygenArgs {
    /// Write the private key here (created owner-only, mode 0600) and the public key
    /// to FILE.pub.
    #[arg(short, long, value_name = "FILE")]
    pub output: PathBuf,
    /// Replace FILE and FILE.pub if they exist.
    #[arg(long)]
    pub force: bool,
}

/// Output form of `datavet manifest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum ManifestFormatArg {
    /// The manifest as JSON (docs/manifest.md).
    Json,
    /// An in-toto Statement v1 with the manifest as its predicate.
    InToto,
}

const MANIFEST_EXAMPLES: &str = "\
Examples:
  # Fingerprint a folder; writes data.manifest.json and data.manifest.json.rows
  datavet manifest data/ -o data.manifest.json --license CC-BY-4.0 --owner ml-data

  # Shards by glob (quote it), reproducible timestamp, chained to the last version
  SOURCE_DATE_EPOCH=1700000000 datavet manifest 'shards/part-*.parquet' \\
      -o v2.manifest.json --parent v1.manifest.json

  # Signed with a key from `datavet keygen`: also writes data.manifest.json.sig
  datavet manifest data/ -o data.manifest.json --sign datavet.key

  # An in-toto statement to sign, bytes only (no parsing)
  datavet manifest data/ -o data.intoto.json --format in-toto --hash-only

Paths in the manifest are relative to --root, which defaults to the folder of -o.
See docs/manifest.md for every field.";

/// `datavet manifest`.
#[derive(Debug, Args)]
#[command(after_help = MANIFEST_EXAMPLES)]
pub struct ManifestArgs {
    /// Files, folders (walked recursively) or globs of shards.
    #[arg(required = true, value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Write the manifest here (and the row sidecar next to it, FILE.rows).
    /// Without it the manifest goes to stdout, without a sidecar.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Folder the manifest's paths are relative to [default: the folder of --output,
    /// or the current folder].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Output form.
    #[arg(long, value_enum, default_value_t = ManifestFormatArg::Json)]
    pub format: ManifestFormatArg,
    /// Do not write the per-row sidecar (schema, row counts and row roots are still
    /// recorded; verify can then not say which rows changed).
    #[arg(long)]
    pub no_rows: bool,
    /// Hash bytes only: do not parse files (no schema, row counts, row roots or
    /// sidecar).
    #[arg(long, conflicts_with = "no_rows")]
    pub hash_only: bool,
    /// Provenance file (TOML, or JSON if it ends in .json): dataset fields and
    /// per-file overrides under [files."path"]. Flags below win over it.
    #[arg(long, value_name = "FILE")]
    pub provenance: Option<PathBuf>,
    /// Where the data came from (URL, bucket path, DOI).
    #[arg(long, value_name = "URI")]
    pub source_uri: Option<String>,
    /// Licence, ideally an SPDX identifier.
    #[arg(long, value_name = "SPDX")]
    pub license: Option<String>,
    /// How the data was collected.
    #[arg(long, value_name = "TEXT")]
    pub collection_method: Option<String>,
    /// Free-text description.
    #[arg(long, value_name = "TEXT")]
    pub description: Option<String>,
    /// Person or team responsible for the data.
    #[arg(long, value_name = "NAME")]
    pub owner: Option<String>,
    /// Creation time (RFC 3339 UTC or Unix seconds) [default: $SOURCE_DATE_EPOCH, else
    /// now].
    #[arg(long, value_name = "TIME")]
    pub created_at: Option<String>,
    /// Previous version's manifest: its SHA-256 is recorded to chain versions.
    #[arg(long, value_name = "FILE")]
    pub parent: Option<PathBuf>,
    /// Follow symbolic links instead of refusing them.
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Field delimiter for CSV/TSV files (one character; `\t` or `tab` for a tab).
    #[arg(long, value_name = "CHAR", value_parser = parse_delimiter)]
    pub delimiter: Option<u8>,
    /// CSV/TSV files have no header row.
    #[arg(long)]
    pub no_header: bool,
    /// Sign the manifest with this ed25519 private key (from `datavet keygen`): writes
    /// a DSSE envelope to FILE.sig next to the manifest.
    #[arg(long, value_name = "KEY", requires = "output")]
    pub sign: Option<PathBuf>,
}

const VERIFY_EXAMPLES: &str = "\
Examples:
  datavet verify data.manifest.json
  datavet verify data.manifest.json --root /mnt/copy-of-data --allow-extra
  datavet verify data.manifest.json --json | jq '.files[] | select(.status != \"ok\")'

Each file is ok, changed, missing or extra (a data file under a covered folder or glob
that the manifest does not list). For a changed tabular file, with the manifest's row
sidecar, verify reports schema drift and which rows changed, were added or removed, or
that the rows were only reordered. Row numbers are 0-based indices of data rows (a
header is not counted).

With --key, MANIFEST.sig must be a valid signature of the manifest's exact bytes by
that key, and the row sidecar must match the digest the manifest records.

Exit status: 0 all verified, 1 mismatch (or a missing, wrong-key or invalid signature,
or a manifest or sidecar changed after signing), 2 error (bad manifest or key file,
unreadable file, refused path or symbolic link).";

/// `datavet verify`.
#[derive(Debug, Args)]
#[command(after_help = VERIFY_EXAMPLES)]
pub struct VerifyArgs {
    /// The manifest (or in-toto statement) to check against.
    #[arg(value_name = "MANIFEST")]
    pub manifest: PathBuf,
    /// Folder the manifest's paths are relative to [default: the manifest's folder].
    #[arg(long, value_name = "DIR")]
    pub root: Option<PathBuf>,
    /// Files not in the manifest do not fail verification.
    #[arg(long)]
    pub allow_extra: bool,
    /// Follow symbolic links whose targets stay inside the root.
    #[arg(long)]
    pub follow_symlinks: bool,
    /// Print the full report as JSON (every changed row).
    #[arg(long)]
    pub json: bool,
    /// Rows listed per file in the text report.
    #[arg(long, value_name = "N", default_value_t = 10)]
    pub max_rows: usize,
    /// Require MANIFEST.sig to be a valid signature by this ed25519 public key (from
    /// `datavet keygen`, FILE.pub) before trusting the manifest.
    #[arg(long, value_name = "PUBKEY")]
    pub key: Option<PathBuf>,
}

fn parse_delimiter(text: &str) -> Result<u8, String> {
    match text {
        "\\t" | "tab" | "\t" => Ok(b'\t'),
        _ => match text.as_bytes() {
            [b] if b.is_ascii() && *b != b'\n' && *b != b'\r' && *b != b'"' => Ok(*b),
            _ => Err(format!(
                "expected one ASCII character (not a quote or newline), got '{text}'"
            )),
        },
    }
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
    /// When to colour the text report.
    #[arg(long, value_enum, default_value_t)]
    pub color: ColorChoice,
    /// Print per-stage timings on stderr.
    #[arg(long)]
    pub timings: bool,
    /// Refuse to start a scan whose estimated peak memory exceeds SIZE (512M, 4G, or
    /// `none`) [default: the memory available now].
    #[arg(long, value_name = "SIZE", value_parser = crate::memory::parse_limit)]
    pub max_memory: Option<crate::memory::Limit>,
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
