//! The one error type of the ingestion crate.
//!
//! Messages name the operation and the path (and row or column where known) and do
//! not repeat the cause they wrap: the cause is the error's `source()`.

use std::io;
use std::path::PathBuf;

use thiserror::Error;

/// Everything that can go wrong while resolving, reading, hashing, fingerprinting,
/// writing or verifying files.
#[derive(Debug, Error)]
pub enum IngestError {
    /// An I/O operation on a path failed.
    #[error("failed to {op} {}", path.display())]
    Io {
        /// What was being done, e.g. "open", "read", "write".
        op: &'static str,
        /// The path it was done to.
        path: PathBuf,
        /// The cause.
        #[source]
        source: io::Error,
    },
    /// An input path does not exist.
    #[error("input {} does not exist", path.display())]
    NotFound {
        /// The input as given.
        path: PathBuf,
    },
    /// A glob pattern is malformed.
    #[error("invalid glob pattern '{pattern}'")]
    BadGlob {
        /// The pattern.
        pattern: String,
        /// The cause.
        #[source]
        source: glob::PatternError,
    },
    /// An input (a glob or a folder) yielded no readable data file.
    #[error("{input} contains no data files (csv, tsv, parquet, jsonl, ndjson, arrow, feather)")]
    NoFiles {
        /// The input as given.
        input: String,
    },
    /// A file given explicitly has an extension datavet does not read.
    #[error(
        "cannot tell the format of {} from its extension \
         (expected .csv, .tsv, .parquet, .jsonl, .ndjson, .arrow, .feather or .ipc; \
         .csv/.tsv may end in .gz or .zst)",
        path.display()
    )]
    UnknownFormat {
        /// The file.
        path: PathBuf,
    },
    /// A file lies outside the root its relative path is taken from.
    #[error("{} is outside the root {}", path.display(), root.display())]
    OutsideRoot {
        /// The file.
        path: PathBuf,
        /// The root.
        root: PathBuf,
    },
    /// A path is not valid UTF-8, so it cannot be written to a manifest.
    #[error("path {} is not valid UTF-8", path.display())]
    NonUtf8Path {
        /// The path.
        path: PathBuf,
    },
    /// A path is a symbolic link and following links was not allowed.
    #[error("{} is a symbolic link; refusing to follow it", path.display())]
    Symlink {
        /// The link.
        path: PathBuf,
    },
    /// A file's length or modification time changed while it was being read.
    #[error("{} changed while it was being read; try again once it is no longer being written", path.display())]
    ChangedWhileReading {
        /// The file.
        path: PathBuf,
    },
    /// Polars failed to read a file.
    #[error("failed to read {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: polars::error::PolarsError,
    },
    /// A file is malformed at a known place (row, line, column).
    #[error("failed to read {}: {at}: {detail}", path.display())]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where, e.g. "row 3 (line 5), column 2 'x'" or "line 7, column 12".
        at: String,
        /// What is wrong there.
        detail: String,
    },
    /// Two files of one dataset have different schemas.
    #[error("schema of {other} does not match {first}: {detail}")]
    SchemaMismatch {
        /// The first file (whose schema is the reference).
        first: String,
        /// The file that differs.
        other: String,
        /// What differs, e.g. "column 'x' is i64 in one and str in the other".
        detail: String,
    },
    /// Computing row fingerprints failed on a column.
    #[error("failed to fingerprint column '{column}'")]
    Fingerprint {
        /// The column.
        column: String,
        /// The cause.
        #[source]
        source: polars::error::PolarsError,
    },
    /// An error about one file of a dataset, with the file's path.
    #[error("failed to process {path}")]
    InFile {
        /// The file's relative path.
        path: String,
        /// The cause.
        #[source]
        source: Box<IngestError>,
    },
    /// A per-file provenance entry names a file that is not among the inputs.
    #[error("provenance is given for {path}, which is not among the input files")]
    UnknownProvenancePath {
        /// The path given.
        path: String,
    },
    /// A manifest is not valid JSON or lacks required fields.
    #[error("failed to parse manifest {}", path.display())]
    BadManifest {
        /// The manifest file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A manifest has a version (or wrapper) this build does not read.
    #[error("unsupported manifest {}: {found}", path.display())]
    UnsupportedManifest {
        /// The manifest file.
        path: PathBuf,
        /// What was found instead.
        found: String,
    },
    /// A manifest lists a path that could reach outside the root.
    #[error("refusing manifest {}: path '{}' is unsafe because {reason}", manifest.display(), path.escape_debug())]
    UnsafeManifestPath {
        /// The manifest file.
        manifest: PathBuf,
        /// The offending path.
        path: String,
        /// Why it is unsafe.
        reason: &'static str,
    },
    /// A symbolic link resolves to a place outside the root.
    #[error("{} is a symbolic link to {}, outside the root; refusing to follow it", path.display(), target.display())]
    LinkOutsideRoot {
        /// The link.
        path: PathBuf,
        /// Where it resolves to.
        target: PathBuf,
    },
    /// A row sidecar is malformed.
    #[error("invalid row sidecar {}: {reason}", path.display())]
    BadSidecar {
        /// The sidecar file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },
    /// Concatenating the files of a dataset failed.
    #[error("failed to append {path} to the dataset")]
    Concat {
        /// The file being appended.
        path: String,
        /// The cause.
        #[source]
        source: polars::error::PolarsError,
    },
    /// A key file is not a usable ed25519 key. The message never holds key material.
    #[error("invalid key file {}: {reason}", path.display())]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },
    /// A file that must not be replaced already exists.
    #[error("{} already exists", path.display())]
    AlreadyExists {
        /// The file.
        path: PathBuf,
    },
    /// The operating system's random source failed.
    #[error("failed to get random bytes from the operating system")]
    Random {
        /// The cause.
        #[source]
        source: getrandom::Error,
    },
    /// A manifest failed its signature check: verification fails (exit 1), it is not
    /// an error of the tool.
    #[error("{problem}")]
    Signature {
        /// The manifest.
        manifest: PathBuf,
        /// Which check failed.
        problem: crate::sign::SignatureProblem,
    },
}

/// Result alias for the ingestion crate.
pub type Result<T, E = IngestError> = std::result::Result<T, E>;

impl IngestError {
    /// Shorthand for [`IngestError::Io`].
    pub(crate) fn io(op: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        IngestError::Io {
            op,
            path: path.into(),
            source,
        }
    }
}
