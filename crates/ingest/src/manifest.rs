//! Dataset manifests: a versioned JSON record of every file (path, size, SHA-256,
//! format, schema, row count, row Merkle root) with provenance, plus a binary sidecar
//! holding every row's digest. Field by field in `docs/manifest.md`.
//!
//! Both are written atomically: to a temporary file in the destination folder, flushed
//! and synced, then renamed over the destination, so an interrupted run leaves either
//! the old file or the new one, never a partial file.
//!
//! The sidecar (`<manifest>.rows`) is:
//!
//! ```text
//! "DVROWS1\n"                                   8-byte magic
//! u64-le  number of files
//! per file, in manifest order:
//!   u64-le len, path (UTF-8)                     the manifest path of the file
//!   u64-le n                                     rows
//!   n × 32 bytes                                 row digests, in row order
//! ```

use std::collections::{BTreeMap, HashMap};
use std::io::Write;
use std::path::{Path, PathBuf};

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

use crate::error::{IngestError, Result};
use crate::hash::{IngestProgress, hash_files, sha256_hex};
use crate::provenance::{Provenance, Tool, format_utc};
use crate::read::{ReadOptions, read_table};
use crate::rowhash::{Digest32, ROW_ENCODING, merkle_root, row_digests};
use crate::source::{Coverage, Resolved};

/// The manifest format version this crate writes and reads.
pub const MANIFEST_VERSION: u32 = 1;

/// `_type` of an in-toto Statement v1.
pub const IN_TOTO_STATEMENT: &str = "https://in-toto.io/Statement/v1";

/// `predicateType` of datavet's in-toto export: the manifest, version 1.
pub const PREDICATE_TYPE: &str = "https://example.invalid/datavet/manifest/v1";

const SIDECAR_MAGIC: &[u8; 8] = b"DVROWS1\n";

/// A dataset manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    /// Format version, [`MANIFEST_VERSION`].
    pub manifest_version: u32,
    /// The tool that wrote it.
    pub tool: Tool,
    /// When it was made, RFC 3339 UTC.
    pub created_at: String,
    /// SHA-256 of the previous version's manifest file, chaining dataset versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parent_sha256: Option<String>,
    /// Dataset-level provenance.
    #[serde(default)]
    pub provenance: Provenance,
    /// What the inputs covered (files, folders, globs), relative to the root.
    pub coverage: Vec<Coverage>,
    /// Row encoding of `row_root` and the sidecar; absent when rows were not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_encoding: Option<String>,
    /// Whether CSV/TSV files were read with a header row.
    #[serde(default = "yes")]
    pub csv_has_header: bool,
    /// The row-digest sidecar, when one was written.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows_sidecar: Option<SidecarRef>,
    /// One entry per file, sorted by path.
    pub files: Vec<FileEntry>,
}

fn yes() -> bool {
    true
}

/// One file of a manifest.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Path relative to the root, `/`-separated.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the bytes.
    pub sha256: String,
    /// Format name ([`crate::Format::name`]).
    pub format: String,
    /// Columns in order; absent when rows were not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Vec<ColumnSchema>>,
    /// Number of rows; absent when rows were not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rows: Option<u64>,
    /// Hex RFC 6962 Merkle root over the row digests; absent when rows were not read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_root: Option<String>,
    /// Provenance fields overriding the dataset's for this file.
    #[serde(default, skip_serializing_if = "Provenance::is_empty")]
    pub provenance: Provenance,
}

/// A column name and its polars type name (`i64`, `f64`, `str`, `bool`, …).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnSchema {
    /// Column name.
    pub name: String,
    /// Type, as polars names it.
    #[serde(rename = "type")]
    pub dtype: String,
}

/// Where the row-digest sidecar is and what it must hash to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SidecarRef {
    /// File name, in the manifest's folder.
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// Lowercase hex SHA-256 of the sidecar.
    pub sha256: String,
}

/// Per-row digests of every file, as stored in the sidecar.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RowSidecar {
    /// `(manifest path, row digests)` in manifest order.
    pub files: Vec<(String, Vec<Digest32>)>,
}

/// How to build a manifest.
#[derive(Debug, Clone)]
pub struct ManifestOptions {
    /// How to read tabular files.
    pub read: ReadOptions,
    /// Read files to record schema, row count and row root (and row digests for the
    /// sidecar). `false`: hash bytes only.
    pub read_rows: bool,
    /// Dataset provenance.
    pub provenance: Provenance,
    /// Per-file provenance overrides by relative path; every key must name a file.
    pub file_provenance: BTreeMap<String, Provenance>,
    /// Creation time, Unix seconds.
    pub created_at: i64,
    /// The tool writing the manifest.
    pub tool: Tool,
    /// SHA-256 of the parent manifest file.
    pub parent_sha256: Option<String>,
}

/// Output form of a manifest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ManifestFormat {
    /// The manifest itself.
    Json,
    /// An in-toto Statement v1 whose subjects are the files and whose predicate is the
    /// manifest.
    InToto,
}

/// Build a manifest for resolved inputs: hash every file in parallel, then (when
/// `read_rows`) read each file and fingerprint its rows. Returns the manifest and,
/// when rows were read, the row digests for the sidecar.
pub fn build_manifest(
    resolved: &Resolved,
    opts: &ManifestOptions,
    progress: &dyn IngestProgress,
) -> Result<(Manifest, Option<RowSidecar>)> {
    for path in opts.file_provenance.keys() {
        if !resolved.files.iter().any(|f| &f.rel == path) {
            return Err(IngestError::UnknownProvenancePath { path: path.clone() });
        }
    }
    let paths: Vec<PathBuf> = resolved.files.iter().map(|f| f.path.clone()).collect();
    let digests = hash_files(&paths, progress)
        .into_iter()
        .collect::<Result<Vec<_>>>()?;

    let mut files: Vec<FileEntry> = resolved
        .files
        .iter()
        .zip(&digests)
        .map(|(f, d)| FileEntry {
            path: f.rel.clone(),
            size: d.size,
            sha256: d.sha256.clone(),
            format: match opts.read.delimiter {
                Some(delim) => f.format.with_delimiter(delim),
                None => f.format,
            }
            .name(),
            schema: None,
            rows: None,
            row_root: None,
            provenance: opts
                .file_provenance
                .get(&f.rel)
                .cloned()
                .unwrap_or_default(),
        })
        .collect();

    let mut sidecar = None;
    if opts.read_rows {
        progress.start("fingerprinting rows", resolved.files.len() as u64);
        let rows: Vec<Result<(Vec<ColumnSchema>, Vec<Digest32>)>> = resolved
            .files
            .par_iter()
            .zip(&digests)
            .with_max_len(1)
            .map(|(f, d)| {
                let before = crate::hash::stamp_path(&f.path)?;
                let df = read_table(f, &opts.read)?;
                let schema = df
                    .schema()
                    .iter()
                    .map(|(name, dtype)| ColumnSchema {
                        name: name.to_string(),
                        dtype: dtype.to_string(),
                    })
                    .collect();
                let rows = row_digests(&df, &()).map_err(|e| IngestError::InFile {
                    path: f.rel.clone(),
                    source: Box::new(e),
                })?;
                // The rows must come from the bytes that were hashed.
                let now = crate::hash::stamp_path(&f.path)?;
                if now != before || now.0 != d.size {
                    return Err(IngestError::ChangedWhileReading {
                        path: f.path.clone(),
                    });
                }
                progress.advance(1);
                Ok((schema, rows))
            })
            .collect();
        progress.finish();
        let mut side = RowSidecar::default();
        for (entry, r) in files.iter_mut().zip(rows) {
            let (schema, digests) = r?;
            entry.schema = Some(schema);
            entry.rows = Some(digests.len() as u64);
            entry.row_root = Some(hex::encode(merkle_root(&digests)));
            side.files.push((entry.path.clone(), digests));
        }
        sidecar = Some(side);
    }

    let manifest = Manifest {
        manifest_version: MANIFEST_VERSION,
        tool: opts.tool.clone(),
        created_at: format_utc(opts.created_at),
        parent_sha256: opts.parent_sha256.clone(),
        provenance: opts.provenance.clone(),
        coverage: resolved.coverage.clone(),
        row_encoding: opts.read_rows.then(|| ROW_ENCODING.to_string()),
        csv_has_header: opts.read.has_header,
        rows_sidecar: None,
        files,
    };
    Ok((manifest, sidecar))
}

impl Manifest {
    /// Pretty JSON with a trailing newline; the same manifest always gives the same
    /// bytes.
    pub fn to_json(&self) -> String {
        let mut s = serde_json::to_string_pretty(self).expect("manifest serialises");
        s.push('\n');
        s
    }

    /// An in-toto Statement v1 wrapping this manifest, as pretty JSON.
    pub fn to_in_toto(&self) -> String {
        let statement = Statement {
            type_: IN_TOTO_STATEMENT.to_string(),
            subject: self
                .files
                .iter()
                .map(|f| Subject {
                    name: f.path.clone(),
                    digest: BTreeMap::from([("sha256".to_string(), f.sha256.clone())]),
                })
                .collect(),
            predicate_type: PREDICATE_TYPE.to_string(),
            predicate: self.clone(),
        };
        let mut s = serde_json::to_string_pretty(&statement).expect("statement serialises");
        s.push('\n');
        s
    }

    /// Serialise in the given form.
    pub fn render(&self, format: ManifestFormat) -> String {
        match format {
            ManifestFormat::Json => self.to_json(),
            ManifestFormat::InToto => self.to_in_toto(),
        }
    }

    /// Parse a manifest, or an in-toto statement carrying one; `path` is for messages.
    /// Rejects other versions.
    pub fn from_json(bytes: &[u8], path: &Path) -> Result<Manifest> {
        let bad = |source| IngestError::BadManifest {
            path: path.to_path_buf(),
            source,
        };
        let mut value: serde_json::Value = serde_json::from_slice(bytes).map_err(bad)?;
        if value.get("_type").and_then(|t| t.as_str()) == Some(IN_TOTO_STATEMENT) {
            let ptype = value.get("predicateType").and_then(|t| t.as_str());
            if ptype != Some(PREDICATE_TYPE) {
                return Err(IngestError::UnsupportedManifest {
                    path: path.to_path_buf(),
                    found: format!("in-toto predicateType {}", ptype.unwrap_or("(none)")),
                });
            }
            value = value
                .get_mut("predicate")
                .map(serde_json::Value::take)
                .unwrap_or_default();
        }
        match value.get("manifest_version").and_then(|v| v.as_u64()) {
            Some(v) if v == MANIFEST_VERSION as u64 => {}
            other => {
                return Err(IngestError::UnsupportedManifest {
                    path: path.to_path_buf(),
                    found: match other {
                        Some(v) => format!("manifest_version {v}"),
                        None => "no manifest_version".to_string(),
                    },
                });
            }
        }
        serde_json::from_value(value).map_err(bad)
    }

    /// Read and parse a manifest file.
    pub fn load(path: &Path) -> Result<Manifest> {
        let bytes = std::fs::read(path).map_err(|e| IngestError::io("read", path, e))?;
        Manifest::from_json(&bytes, path)
    }
}

#[derive(Serialize)]
struct Statement {
    #[serde(rename = "_type")]
    type_: String,
    subject: Vec<Subject>,
    #[serde(rename = "predicateType")]
    predicate_type: String,
    predicate: Manifest,
}

#[derive(Serialize)]
struct Subject {
    name: String,
    digest: BTreeMap<String, String>,
}

impl RowSidecar {
    /// Serialise (see the module docs for the layout).
    pub fn to_bytes(&self) -> Vec<u8> {
        let total: usize = self
            .files
            .iter()
            .map(|(p, d)| 16 + p.len() + 32 * d.len())
            .sum();
        let mut out = Vec::with_capacity(16 + total);
        out.extend_from_slice(SIDECAR_MAGIC);
        out.extend_from_slice(&(self.files.len() as u64).to_le_bytes());
        for (path, digests) in &self.files {
            out.extend_from_slice(&(path.len() as u64).to_le_bytes());
            out.extend_from_slice(path.as_bytes());
            out.extend_from_slice(&(digests.len() as u64).to_le_bytes());
            for d in digests {
                out.extend_from_slice(d);
            }
        }
        out
    }

    /// Parse; `path` is for messages. Every length is bounds-checked.
    pub fn from_bytes(bytes: &[u8], path: &Path) -> Result<RowSidecar> {
        let bad = |reason: &str| IngestError::BadSidecar {
            path: path.to_path_buf(),
            reason: reason.to_string(),
        };
        let body = bytes
            .strip_prefix(SIDECAR_MAGIC.as_slice())
            .ok_or_else(|| bad("not a datavet row sidecar (bad magic)"))?;
        let mut cur = Cursor(body);
        let truncated = || bad("truncated");
        let n_files = cur.u64().ok_or_else(truncated)?;
        let mut files = Vec::new();
        for _ in 0..n_files {
            let len = cur.u64().ok_or_else(truncated)?;
            let len = usize::try_from(len).map_err(|_| bad("path length overflows"))?;
            let name = std::str::from_utf8(cur.take(len).ok_or_else(truncated)?)
                .map_err(|_| bad("path is not UTF-8"))?
                .to_string();
            let n = cur.u64().ok_or_else(truncated)?;
            let bytes_needed = usize::try_from(n)
                .ok()
                .and_then(|n| n.checked_mul(32))
                .ok_or_else(|| bad("row count overflows"))?;
            let raw = cur.take(bytes_needed).ok_or_else(truncated)?;
            let digests = raw
                .chunks_exact(32)
                .map(|c| c.try_into().expect("32 bytes"))
                .collect();
            files.push((name, digests));
        }
        let rest = cur.0;
        if !rest.is_empty() {
            return Err(bad("trailing bytes"));
        }
        Ok(RowSidecar { files })
    }

    /// Row digests by manifest path.
    pub fn by_path(&self) -> HashMap<&str, &[Digest32]> {
        self.files
            .iter()
            .map(|(p, d)| (p.as_str(), d.as_slice()))
            .collect()
    }
}

/// A bounds-checked reader over a byte slice.
struct Cursor<'a>(&'a [u8]);

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize) -> Option<&'a [u8]> {
        if self.0.len() < n {
            return None;
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Some(head)
    }

    fn u64(&mut self) -> Option<u64> {
        Some(u64::from_le_bytes(self.take(8)?.try_into().ok()?))
    }
}

/// The sidecar path for a manifest path: the manifest's file name plus `.rows`.
pub fn sidecar_path(manifest: &Path) -> PathBuf {
    let mut name = manifest.file_name().unwrap_or_default().to_os_string();
    name.push(".rows");
    manifest.with_file_name(name)
}

/// Write `bytes` to `path` atomically: temporary file in the same folder, flush and
/// sync, rename over `path`.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<()> {
    write_atomic_with(path, bytes, 0o666, true)
}

/// [`write_atomic`] with the new file's permission bits (before the umask; Unix only),
/// set when the temporary file is created, and whether an existing `path` may be
/// replaced (without `overwrite`, an existing `path` fails with `AlreadyExists`).
pub(crate) fn write_atomic_with(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    overwrite: bool,
) -> Result<()> {
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".datavet-").suffix(".tmp");
    // Like any new file: 0o666 less the umask (tempfile's default is owner-only).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(mode));
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut tmp = builder
        .tempfile_in(dir)
        .map_err(|e| IngestError::io("create a temporary file in", dir, e))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .map_err(|e| IngestError::io("write", tmp.path().to_path_buf(), e))?;
    if overwrite {
        tmp.persist(path)
            .map_err(|e| IngestError::io("write", path, e.error))?;
    } else {
        tmp.persist_noclobber(path)
            .map_err(|e| IngestError::io("write", path, e.error))?;
    }
    Ok(())
}

/// Write a manifest (and its sidecar, when given) atomically. The sidecar is written
/// first, and its size and SHA-256 are recorded in the manifest before the manifest
/// is written. Returns the manifest as written.
pub fn write_manifest(
    path: &Path,
    mut manifest: Manifest,
    sidecar: Option<&RowSidecar>,
    format: ManifestFormat,
) -> Result<Manifest> {
    manifest.rows_sidecar = None;
    if let Some(side) = sidecar {
        let side_path = sidecar_path(path);
        let bytes = side.to_bytes();
        write_atomic(&side_path, &bytes)?;
        manifest.rows_sidecar = Some(SidecarRef {
            path: side_path
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            size: bytes.len() as u64,
            sha256: sha256_hex(&bytes),
        });
    }
    write_atomic(path, manifest.render(format).as_bytes())?;
    Ok(manifest)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::source::{ResolveOptions, resolve};
    use std::fs;

    fn options(created_at: i64) -> ManifestOptions {
        ManifestOptions {
            read: ReadOptions::default(),
            read_rows: true,
            provenance: Provenance {
                license: Some("CC0-1.0".into()),
                ..Default::default()
            },
            file_provenance: BTreeMap::new(),
            created_at,
            tool: Tool {
                name: "datavet".into(),
                version: "0.0.0-test".into(),
            },
            parent_sha256: None,
        }
    }

    fn dataset(dir: &Path) {
        fs::create_dir_all(dir.join("data/shards")).unwrap();
        fs::write(dir.join("data/a.csv"), "id,x\n1,0.5\n2,1.5\n").unwrap();
        fs::write(dir.join("data/shards/b.tsv"), "id\tx\n3\t2.5\n").unwrap();
    }

    #[test]
    fn manifest_records_files_rows_and_provenance() {
        let tmp = tempfile::tempdir().unwrap();
        dataset(tmp.path());
        let opts_r = ResolveOptions {
            root: Some(tmp.path().to_path_buf()),
            ..Default::default()
        };
        let resolved = resolve(&[tmp.path().join("data")], &opts_r).unwrap();
        let mut opts = options(1_700_000_000);
        opts.file_provenance.insert(
            "data/a.csv".into(),
            Provenance {
                owner: Some("alice".into()),
                ..Default::default()
            },
        );
        let (m, side) = build_manifest(&resolved, &opts, &()).unwrap();
        assert_eq!(m.created_at, "2023-11-14T22:13:20Z");
        assert_eq!(m.coverage, vec![Coverage::Folder("data".into())]);
        assert_eq!(m.files.len(), 2);
        let a = &m.files[0];
        assert_eq!(a.path, "data/a.csv");
        assert_eq!(a.size, 17);
        assert_eq!(a.sha256, sha256_hex(b"id,x\n1,0.5\n2,1.5\n"));
        assert_eq!(a.rows, Some(2));
        assert_eq!(a.format, "csv");
        assert_eq!(a.provenance.owner.as_deref(), Some("alice"));
        let schema = a.schema.as_ref().unwrap();
        assert_eq!(schema[1].name, "x");
        assert_eq!(schema[1].dtype, "f64");
        assert_eq!(m.files[1].format, "tsv");
        let side = side.unwrap();
        assert_eq!(side.files[0].1.len(), 2);
        assert_eq!(
            a.row_root.as_deref().unwrap(),
            hex::encode(merkle_root(&side.files[0].1))
        );

        // Write, reload, and compare; the sidecar is recorded and round-trips.
        let out = tmp.path().join("m.json");
        let written = write_manifest(&out, m.clone(), Some(&side), ManifestFormat::Json).unwrap();
        let loaded = Manifest::load(&out).unwrap();
        assert_eq!(loaded, written);
        let sref = loaded.rows_sidecar.as_ref().unwrap();
        assert_eq!(sref.path, "m.json.rows");
        let bytes = fs::read(tmp.path().join("m.json.rows")).unwrap();
        assert_eq!(sha256_hex(&bytes), sref.sha256);
        let back = RowSidecar::from_bytes(&bytes, Path::new("x")).unwrap();
        assert_eq!(back, side);
        // No stray temporary files.
        let names: Vec<String> = fs::read_dir(tmp.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.iter().all(|n| !n.ends_with(".tmp")), "{names:?}");
    }

    #[test]
    fn same_inputs_and_time_give_identical_bytes() {
        let tmp = tempfile::tempdir().unwrap();
        dataset(tmp.path());
        let resolved = resolve(&[tmp.path().join("data")], &ResolveOptions::default()).unwrap();
        let (a, _) = build_manifest(&resolved, &options(5), &()).unwrap();
        let (b, _) = build_manifest(&resolved, &options(5), &()).unwrap();
        assert_eq!(a.to_json(), b.to_json());
        let (c, _) = build_manifest(&resolved, &options(6), &()).unwrap();
        assert_ne!(a.to_json(), c.to_json());
    }

    #[test]
    fn hash_only_and_unknown_provenance_path() {
        let tmp = tempfile::tempdir().unwrap();
        dataset(tmp.path());
        let resolved = resolve(&[tmp.path().join("data")], &ResolveOptions::default()).unwrap();
        let mut opts = options(0);
        opts.read_rows = false;
        let (m, side) = build_manifest(&resolved, &opts, &()).unwrap();
        assert!(side.is_none());
        assert!(m.row_encoding.is_none());
        assert!(
            m.files
                .iter()
                .all(|f| f.rows.is_none() && f.schema.is_none())
        );
        let json = m.to_json();
        assert!(!json.contains("row_root"), "{json}");

        opts.file_provenance
            .insert("nope.csv".into(), Provenance::default());
        let err = build_manifest(&resolved, &opts, &()).unwrap_err();
        assert!(err.to_string().contains("nope.csv"), "{err}");
    }

    #[test]
    fn in_toto_statement_wraps_the_manifest() {
        let tmp = tempfile::tempdir().unwrap();
        dataset(tmp.path());
        let resolved = resolve(&[tmp.path().join("data")], &ResolveOptions::default()).unwrap();
        let (m, _) = build_manifest(&resolved, &options(0), &()).unwrap();
        let text = m.to_in_toto();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(v["_type"], IN_TOTO_STATEMENT);
        assert_eq!(v["predicateType"], PREDICATE_TYPE);
        assert_eq!(v["subject"][0]["name"], "a.csv");
        assert_eq!(
            v["subject"][0]["digest"]["sha256"],
            m.files[0].sha256.as_str()
        );
        // And verify can read it back.
        let back = Manifest::from_json(text.as_bytes(), Path::new("s.json")).unwrap();
        assert_eq!(back, m);
    }

    #[test]
    fn bad_manifests_and_sidecars_are_errors() {
        let p = Path::new("m.json");
        assert!(matches!(
            Manifest::from_json(b"{", p),
            Err(IngestError::BadManifest { .. })
        ));
        let err = Manifest::from_json(br#"{"manifest_version": 99}"#, p).unwrap_err();
        assert!(err.to_string().contains("99"), "{err}");
        let side = RowSidecar {
            files: vec![("a.csv".into(), vec![[7u8; 32]; 3])],
        };
        let bytes = side.to_bytes();
        for cut in [0, 7, 8, 20, bytes.len() - 1] {
            assert!(
                RowSidecar::from_bytes(&bytes[..cut], p).is_err(),
                "cut {cut}"
            );
        }
        let mut long = bytes.clone();
        long.push(0);
        assert!(RowSidecar::from_bytes(&long, p).is_err());
        // A huge row count must not allocate or panic.
        let mut huge = bytes[..8 + 8 + 8 + 5].to_vec();
        huge.extend(u64::MAX.to_le_bytes());
        assert!(RowSidecar::from_bytes(&huge, p).is_err());
    }
}
