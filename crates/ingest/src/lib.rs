//! Ingestion for datavet: resolve inputs (files, folders, globs of shards), read them
//! with polars into one [`Dataset`], and fingerprint them.
//!
//! [`Dataset::load`] is the one entry point for reading: it resolves the inputs into
//! files sorted by relative path, reads each (CSV/TSV, possibly gzip/zstd compressed,
//! Parquet, JSON Lines, Arrow IPC/Feather) and concatenates them, checking that every
//! file has the same schema.
//!
//! Fingerprints, from bytes to rows to datasets:
//! - [`hash_files`]: streaming SHA-256 of files, in parallel (equal to `sha256sum`);
//! - [`row_digests`] and [`merkle_root`]: a digest per row over a canonical encoding of
//!   its logical values (`datavet-row-v1`, equal across CSV and Parquet), and an RFC 6962
//!   Merkle root per file;
//! - [`build_manifest`] / [`write_manifest`]: a versioned JSON manifest with provenance
//!   and a per-row sidecar, written atomically (or as an in-toto statement);
//! - [`verify`]: what changed since a manifest — per file, and per row.
//!
//! ```
//! use datavet_ingest::{Dataset, ReadOptions};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let dir = tempfile::tempdir()?;
//! std::fs::write(dir.path().join("b.csv"), "id,label\n3,cat\n")?;
//! std::fs::write(dir.path().join("a.csv"), "id,label\n1,dog\n2,cat\n")?;
//!
//! let ds = Dataset::load(&[dir.path().to_path_buf()], &ReadOptions::default())?;
//! assert_eq!(ds.n_rows(), 3);
//! assert_eq!(ds.file_rows, [2, 1]); // a.csv first: files are sorted
//! let (file, row) = ds.locate(2).unwrap();
//! assert_eq!((file.rel.as_str(), row), ("b.csv", 0));
//! # Ok(()) }
//! ```
#![deny(missing_docs)]

mod diagnose;
mod diff;
mod error;
mod format;
mod hash;
mod manifest;
mod provenance;
mod read;
mod rowhash;
pub mod sign;
mod source;
mod verify;

pub use diff::{ChangedRow, Retyped, RowDiff, RowDiffKind, SchemaDrift, diff_rows, schema_drift};
pub use error::{IngestError, Result};
pub use format::{Compression, Format};
pub use hash::{FileDigest, IngestProgress, hash_file, hash_files, sha256_hex};
pub use manifest::{
    ColumnSchema, FileEntry, IN_TOTO_STATEMENT, MANIFEST_VERSION, Manifest, ManifestFormat,
    ManifestOptions, PREDICATE_TYPE, RowSidecar, SidecarRef, build_manifest, sidecar_path,
    write_atomic, write_manifest,
};
pub use polars::frame::DataFrame;
pub use provenance::{Provenance, ProvenanceSpec, Tool, format_utc, parse_utc};
pub use read::{Dataset, ReadOptions, read_table, reading_under_guard};
pub use rowhash::{Digest32, ROW_ENCODING, encode_row, merkle_root, row_digests};
pub use sign::{PrivateKey, PublicKey, SignatureProblem};
pub use source::{Coverage, ResolveOptions, Resolved, SourceFile, resolve, resolve_inputs};
pub use verify::{
    FileFacts, FileReport, FileStatus, SidecarStatus, Summary, VerifyOptions, VerifyReport,
    check_manifest_path, verify, verify_manifest,
};
