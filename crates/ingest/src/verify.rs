//! Verifying a folder against a manifest: which files are unchanged, changed, missing
//! or extra, and for changed tabular files which rows changed, were added or removed,
//! or whether the same rows were only reordered.
//!
//! Security: every path in the manifest must be relative, `/`-separated, without
//! empty, `.` or `..` components, backslashes, NUL or a drive prefix — otherwise the
//! whole manifest is refused. Files are opened only below the root. A symbolic link on
//! the way to a listed file is refused unless `follow_symlinks`, and even then the
//! link's target must resolve inside the root.
//!
//! Changed tabular files are re-read and compared with [`crate::diff_rows`] and
//! [`crate::schema_drift`] (see `diff.rs`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::diff::{RowDiff, RowDiffKind, SchemaDrift, diff_rows, schema_drift};
use crate::error::{IngestError, Result};
use crate::format::Format;
use crate::hash::{IngestProgress, hash_files, sha256_hex};
use crate::manifest::{ColumnSchema, FileEntry, Manifest, RowSidecar};
use crate::read::{ReadOptions, read_table};
use crate::rowhash::{Digest32, ROW_ENCODING, merkle_root, row_digests};
use crate::source::{Coverage, is_hidden, normalize, relative};

/// How to verify.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The folder manifest paths are relative to.
    pub root: PathBuf,
    /// Files under covered folders that the manifest does not list do not fail.
    pub allow_extra: bool,
    /// Follow symbolic links whose targets stay inside the root.
    pub follow_symlinks: bool,
}

/// Outcome for one file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileStatus {
    /// Size and SHA-256 match.
    Ok,
    /// Size or SHA-256 differ.
    Changed,
    /// Listed in the manifest but absent.
    Missing,
    /// Present under a covered folder or glob but not listed.
    Extra,
}

/// Size and digest of a file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileFacts {
    /// Size in bytes.
    pub size: u64,
    /// Hex SHA-256 (absent for extra files, which are not hashed).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
}

/// The verdict for one file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct FileReport {
    /// Manifest path.
    pub path: String,
    /// Outcome.
    pub status: FileStatus,
    /// What the manifest records (absent for extra files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected: Option<FileFacts>,
    /// What is on disk (absent for missing files).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub actual: Option<FileFacts>,
    /// Column changes of a changed tabular file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub schema: Option<SchemaDrift>,
    /// Row changes of a changed tabular file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rows: Option<RowDiff>,
}

/// State of the manifest's row sidecar.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum SidecarStatus {
    /// The manifest has no sidecar.
    None,
    /// Present and matching its recorded SHA-256.
    Ok,
    /// Recorded but absent.
    Missing,
    /// Present but its SHA-256 differs, or it is malformed: not used.
    Changed,
}

/// Counts per status.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    /// Files that match.
    pub ok: usize,
    /// Files that differ.
    pub changed: usize,
    /// Files that are gone.
    pub missing: usize,
    /// Files not in the manifest.
    pub extra: usize,
}

/// The result of verifying a manifest.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VerifyReport {
    /// Everything matched (extra files count only without `allow_extra`).
    pub verified: bool,
    /// The root, as given.
    pub root: String,
    /// Counts per status.
    pub summary: Summary,
    /// Whether extra files were allowed.
    pub allow_extra: bool,
    /// State of the row sidecar.
    pub sidecar: SidecarStatus,
    /// Manifest files in manifest order, then extra files sorted by path.
    pub files: Vec<FileReport>,
}

/// Check that a manifest path is safe to join to a root; `Err(reason)` otherwise.
pub fn check_manifest_path(path: &str) -> std::result::Result<(), &'static str> {
    if path.is_empty() {
        return Err("it is empty");
    }
    if path.contains('\0') {
        return Err("it contains a NUL byte");
    }
    if path.contains('\\') {
        return Err("it contains a backslash");
    }
    if path.starts_with('/') {
        return Err("it is absolute");
    }
    let b = path.as_bytes();
    if b.len() >= 2 && b[0].is_ascii_alphabetic() && b[1] == b':' {
        return Err("it starts with a drive prefix");
    }
    for comp in path.split('/') {
        match comp {
            "" => return Err("it has an empty component"),
            "." => return Err("it has a '.' component"),
            ".." => return Err("it has a '..' component"),
            _ => {}
        }
    }
    Ok(())
}

fn validate(manifest: &Manifest, manifest_path: &Path) -> Result<()> {
    let unsafe_path = |path: &str, reason: &'static str| IngestError::UnsafeManifestPath {
        manifest: manifest_path.to_path_buf(),
        path: path.to_string(),
        reason,
    };
    let mut seen = std::collections::HashSet::new();
    for f in &manifest.files {
        check_manifest_path(&f.path).map_err(|r| unsafe_path(&f.path, r))?;
        if !seen.insert(f.path.as_str()) {
            return Err(unsafe_path(&f.path, "it is listed twice"));
        }
    }
    for c in &manifest.coverage {
        match c {
            Coverage::Folder(p) if p.is_empty() => {}
            Coverage::File(p) | Coverage::Folder(p) | Coverage::Glob(p) => {
                check_manifest_path(p).map_err(|r| unsafe_path(p, r))?;
            }
        }
    }
    if let Some(side) = &manifest.rows_sidecar {
        check_manifest_path(&side.path).map_err(|r| unsafe_path(&side.path, r))?;
        if side.path.contains('/') {
            return Err(unsafe_path(
                &side.path,
                "a sidecar must be in the manifest's folder",
            ));
        }
    }
    Ok(())
}

/// Load a manifest file and verify the root against it.
pub fn verify(
    manifest_path: &Path,
    opts: &VerifyOptions,
    progress: &dyn IngestProgress,
) -> Result<VerifyReport> {
    let manifest = Manifest::load(manifest_path)?;
    verify_manifest(&manifest, manifest_path, opts, progress)
}

/// Verify the root against a parsed manifest; `manifest_path` locates the sidecar and
/// is never counted as an extra file.
pub fn verify_manifest(
    manifest: &Manifest,
    manifest_path: &Path,
    opts: &VerifyOptions,
    progress: &dyn IngestProgress,
) -> Result<VerifyReport> {
    validate(manifest, manifest_path)?;
    let root = normalize(&opts.root)?;
    let real_root =
        std::fs::canonicalize(&root).map_err(|e| IngestError::io("open root", &root, e))?;
    let guard = Guard {
        root: &root,
        real_root: &real_root,
        follow: opts.follow_symlinks,
    };

    // Locate every listed file safely; missing ones are noted, not errors.
    let mut present: Vec<(usize, PathBuf)> = Vec::new();
    let mut reports: Vec<FileReport> = Vec::with_capacity(manifest.files.len());
    for (i, f) in manifest.files.iter().enumerate() {
        let expected = Some(FileFacts {
            size: f.size,
            sha256: Some(f.sha256.clone()),
        });
        let status = match guard.locate(&f.path)? {
            Some(path) => {
                present.push((i, path));
                FileStatus::Ok
            }
            None => FileStatus::Missing,
        };
        reports.push(FileReport {
            path: f.path.clone(),
            status,
            expected,
            actual: None,
            schema: None,
            rows: None,
        });
    }

    let paths: Vec<PathBuf> = present.iter().map(|(_, p)| p.clone()).collect();
    let digests = hash_files(&paths, progress);
    let (sidecar_status, sidecar) = load_sidecar(manifest, manifest_path);
    let side_rows = sidecar.as_ref().map(RowSidecar::by_path);
    let read = ReadOptions {
        has_header: manifest.csv_has_header,
        ..ReadOptions::default()
    };
    for ((i, path), digest) in present.iter().zip(digests) {
        let digest = match digest {
            Ok(d) => d,
            Err(IngestError::Io { source, .. })
                if source.kind() == std::io::ErrorKind::NotFound =>
            {
                reports[*i].status = FileStatus::Missing;
                continue;
            }
            Err(e) => return Err(e),
        };
        let entry = &manifest.files[*i];
        let report = &mut reports[*i];
        let same = digest.size == entry.size && digest.sha256 == entry.sha256;
        report.actual = Some(FileFacts {
            size: digest.size,
            sha256: Some(digest.sha256),
        });
        if same {
            continue;
        }
        report.status = FileStatus::Changed;
        if entry.schema.is_some() || entry.rows.is_some() {
            let old = side_rows
                .as_ref()
                .and_then(|m| m.get(entry.path.as_str()).copied());
            let (schema, rows) = compare_rows(entry, path, manifest, old, sidecar_status, &read);
            report.schema = schema;
            report.rows = Some(rows);
        }
    }

    let mut extras = find_extras(manifest, manifest_path, &root, opts.follow_symlinks)?;
    extras.sort_by(|a, b| a.path.cmp(&b.path));

    let mut summary = Summary::default();
    for r in reports.iter().chain(&extras) {
        match r.status {
            FileStatus::Ok => summary.ok += 1,
            FileStatus::Changed => summary.changed += 1,
            FileStatus::Missing => summary.missing += 1,
            FileStatus::Extra => summary.extra += 1,
        }
    }
    reports.extend(extras);
    // A sidecar that does not match the digest the manifest records has been
    // tampered with or damaged: that fails verification even when the data matches.
    let verified = summary.changed == 0
        && summary.missing == 0
        && (summary.extra == 0 || opts.allow_extra)
        && sidecar_status != SidecarStatus::Changed;
    Ok(VerifyReport {
        verified,
        root: opts.root.display().to_string(),
        summary,
        allow_extra: opts.allow_extra,
        sidecar: sidecar_status,
        files: reports,
    })
}

/// Opens files only inside the root.
struct Guard<'a> {
    root: &'a Path,
    real_root: &'a Path,
    follow: bool,
}

impl Guard<'_> {
    /// The on-disk path of a (validated) manifest path, `None` when it does not exist.
    /// Symlinks on the way are refused unless following, and must stay in the root.
    fn locate(&self, rel: &str) -> Result<Option<PathBuf>> {
        let mut path = self.root.to_path_buf();
        let mut linked = false;
        for comp in rel.split('/') {
            path.push(comp);
            match std::fs::symlink_metadata(&path) {
                Ok(meta) if meta.file_type().is_symlink() => {
                    if !self.follow {
                        return Err(IngestError::Symlink { path });
                    }
                    linked = true;
                }
                Ok(_) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(IngestError::io("stat", path, e)),
            }
        }
        if linked {
            let real = match std::fs::canonicalize(&path) {
                Ok(r) => r,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
                Err(e) => return Err(IngestError::io("resolve", path, e)),
            };
            if !real.starts_with(self.real_root) {
                return Err(IngestError::LinkOutsideRoot { path, target: real });
            }
        }
        // A folder or FIFO where a file was listed: never hash it (a FIFO would block).
        crate::source::check_regular(&path)?;
        Ok(Some(path))
    }
}

fn load_sidecar(manifest: &Manifest, manifest_path: &Path) -> (SidecarStatus, Option<RowSidecar>) {
    let Some(side) = &manifest.rows_sidecar else {
        return (SidecarStatus::None, None);
    };
    let path = manifest_path.with_file_name(&side.path);
    let Ok(bytes) = std::fs::read(&path) else {
        return (SidecarStatus::Missing, None);
    };
    if bytes.len() as u64 != side.size || sha256_hex(&bytes) != side.sha256 {
        return (SidecarStatus::Changed, None);
    }
    match RowSidecar::from_bytes(&bytes, &path) {
        Ok(s) => (SidecarStatus::Ok, Some(s)),
        Err(_) => (SidecarStatus::Changed, None),
    }
}

/// Schema drift and row diff of a changed tabular file.
fn compare_rows(
    entry: &FileEntry,
    path: &Path,
    manifest: &Manifest,
    old: Option<&[Digest32]>,
    sidecar: SidecarStatus,
    read: &ReadOptions,
) -> (Option<SchemaDrift>, RowDiff) {
    let unavailable = |reason: String, new_rows: Option<u64>| RowDiff {
        kind: RowDiffKind::Unavailable,
        old_rows: entry.rows,
        new_rows,
        changed: Vec::new(),
        added: Vec::new(),
        removed: Vec::new(),
        reason: Some(reason),
    };
    if manifest.row_encoding.as_deref() != Some(ROW_ENCODING) {
        return (
            None,
            unavailable("the manifest has no row fingerprints".into(), None),
        );
    }
    let Some(format) = Format::from_name(&entry.format) else {
        return (
            None,
            unavailable(format!("unknown format '{}'", entry.format), None),
        );
    };
    let file = crate::SourceFile {
        path: path.to_path_buf(),
        rel: entry.path.clone(),
        format,
    };
    let df = match read_table(&file, read) {
        Ok(df) => df,
        Err(e) => {
            return (
                None,
                unavailable(format!("cannot read it now: {}", chain(&e)), None),
            );
        }
    };
    let now: Vec<ColumnSchema> = df
        .schema()
        .iter()
        .map(|(n, t)| ColumnSchema {
            name: n.to_string(),
            dtype: t.to_string(),
        })
        .collect();
    let drift = entry.schema.as_ref().map(|was| schema_drift(was, &now));
    let new_rows = Some(df.height() as u64);
    let digests = match row_digests(&df, &()) {
        Ok(d) => d,
        Err(e) => {
            return (
                drift,
                unavailable(format!("cannot fingerprint it: {}", chain(&e)), new_rows),
            );
        }
    };
    let Some(old) = old else {
        // No per-row digests: the root still tells whether the rows changed.
        if entry.row_root.as_deref() == Some(hex::encode(merkle_root(&digests)).as_str()) {
            return (drift, diff_rows(&digests, &digests));
        }
        let reason = match sidecar {
            SidecarStatus::None => "the manifest was made without a row sidecar".to_string(),
            SidecarStatus::Missing => "the row sidecar is missing".to_string(),
            SidecarStatus::Changed => "the row sidecar does not match the manifest".to_string(),
            SidecarStatus::Ok => "the row sidecar has no entry for this file".to_string(),
        };
        return (drift, unavailable(reason, new_rows));
    };
    (drift, diff_rows(old, &digests))
}

fn chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        s.push_str(": ");
        s.push_str(&c.to_string());
        cur = c.source();
    }
    s
}

/// Data files under the covered folders and globs that the manifest does not list.
/// Data files under covered folders and globs that the manifest does not list. A link
/// that could hide data is refused unless `follow` (as `datavet manifest` refuses it);
/// links are never descended.
fn find_extras(
    manifest: &Manifest,
    manifest_path: &Path,
    root: &Path,
    follow: bool,
) -> Result<Vec<FileReport>> {
    let listed: std::collections::HashSet<&str> =
        manifest.files.iter().map(|f| f.path.as_str()).collect();
    let mut skip = vec![normalize(manifest_path)?];
    if let Some(side) = &manifest.rows_sidecar {
        skip.push(normalize(&manifest_path.with_file_name(&side.path))?);
    }
    let mut found: std::collections::BTreeMap<String, u64> = Default::default();
    let mut consider = |path: &Path, size: u64| -> Result<()> {
        if Format::from_path(path).is_none() || skip.contains(&normalize(path)?) {
            return Ok(());
        }
        let Ok(rel) = relative(path, root) else {
            return Ok(());
        };
        if !listed.contains(rel.as_str()) {
            found.insert(rel, size);
        }
        Ok(())
    };
    for cover in &manifest.coverage {
        match cover {
            Coverage::File(_) => {}
            Coverage::Folder(rel) => {
                let dir = if rel.is_empty() {
                    root.to_path_buf()
                } else {
                    root.join(rel)
                };
                // Never descend through a link: extras are only listed, not read.
                match std::fs::symlink_metadata(&dir) {
                    Ok(m) if m.is_dir() => {}
                    _ => continue,
                }
                let walker = walkdir::WalkDir::new(&dir)
                    .follow_links(false)
                    .sort_by_file_name()
                    .into_iter()
                    .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()));
                for entry in walker {
                    let entry = entry.map_err(|e| {
                        let path = e.path().unwrap_or(&dir).to_path_buf();
                        IngestError::io(
                            "walk",
                            path,
                            e.into_io_error()
                                .unwrap_or_else(|| std::io::Error::other("filesystem loop")),
                        )
                    })?;
                    if entry.file_type().is_dir() {
                        continue;
                    }
                    if entry.file_type().is_symlink()
                        && !follow
                        && crate::source::link_matters(entry.path())
                    {
                        return Err(IngestError::Symlink {
                            path: entry.into_path(),
                        });
                    }
                    let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
                    consider(entry.path(), size)?;
                }
            }
            Coverage::Glob(pattern) => {
                let Some(root_text) = root.to_str() else {
                    continue;
                };
                let full = format!("{}/{pattern}", glob::Pattern::escape(root_text));
                let options = glob::MatchOptions {
                    case_sensitive: true,
                    require_literal_separator: true,
                    require_literal_leading_dot: true,
                };
                let Ok(paths) = glob::glob_with(&full, options) else {
                    continue;
                };
                for path in paths.flatten() {
                    let Ok(meta) = std::fs::symlink_metadata(&path) else {
                        continue;
                    };
                    if meta.is_dir() {
                        continue;
                    }
                    consider(&path, meta.len())?;
                }
            }
        }
    }
    Ok(found
        .into_iter()
        .map(|(path, size)| FileReport {
            path,
            status: FileStatus::Extra,
            expected: None,
            actual: Some(FileFacts { size, sha256: None }),
            schema: None,
            rows: None,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diff::ChangedRow;
    use crate::manifest::{ManifestOptions, build_manifest, write_manifest};
    use crate::provenance::{Provenance, Tool};
    use crate::source::{ResolveOptions, resolve};
    use std::fs;

    #[test]
    fn manifest_paths_are_checked() {
        for ok in ["a.csv", "data/a.csv", "a b/c..d.csv", "..a/b"] {
            assert_eq!(check_manifest_path(ok), Ok(()), "{ok}");
        }
        for bad in [
            "",
            "../x",
            "a/../../x",
            "/etc/x",
            "a\\b",
            "a\0b",
            "C:/x",
            "a//b",
            "./a",
            "a/.",
        ] {
            assert!(check_manifest_path(bad).is_err(), "{bad:?}");
        }
    }

    fn make(dir: &Path) -> PathBuf {
        fs::create_dir_all(dir.join("data")).unwrap();
        fs::write(dir.join("data/a.csv"), "id,v\n1,x\n2,y\n3,z\n").unwrap();
        fs::write(dir.join("data/b.csv"), "id,v\n4,w\n").unwrap();
        let resolved = resolve(
            &[dir.join("data")],
            &ResolveOptions {
                root: Some(dir.to_path_buf()),
                ..Default::default()
            },
        )
        .unwrap();
        let opts = ManifestOptions {
            read: ReadOptions::default(),
            read_rows: true,
            provenance: Provenance::default(),
            file_provenance: Default::default(),
            created_at: 0,
            tool: Tool {
                name: "datavet".into(),
                version: "test".into(),
            },
            parent_sha256: None,
        };
        let (m, side) = build_manifest(&resolved, &opts, &()).unwrap();
        let path = dir.join("m.json");
        write_manifest(&path, m, side.as_ref(), crate::ManifestFormat::Json).unwrap();
        path
    }

    fn run(dir: &Path, m: &Path, allow_extra: bool, follow: bool) -> Result<VerifyReport> {
        verify(
            m,
            &VerifyOptions {
                root: dir.to_path_buf(),
                allow_extra,
                follow_symlinks: follow,
            },
            &(),
        )
    }

    #[test]
    fn verify_end_to_end_in_library() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let m = make(dir);
        let r = run(dir, &m, false, false).unwrap();
        assert!(r.verified, "{r:?}");
        assert_eq!(r.summary.ok, 2);
        assert_eq!(r.sidecar, SidecarStatus::Ok);

        // Edit a row, add an extra file, delete another.
        fs::write(dir.join("data/a.csv"), "id,v\n1,x\n2,Y\n3,z\n").unwrap();
        fs::remove_file(dir.join("data/b.csv")).unwrap();
        fs::write(dir.join("data/c.parquet"), "junk").unwrap();
        fs::write(dir.join("data/notes.txt"), "ignored").unwrap();
        let r = run(dir, &m, false, false).unwrap();
        assert!(!r.verified);
        assert_eq!(
            r.summary,
            Summary {
                ok: 0,
                changed: 1,
                missing: 1,
                extra: 1
            }
        );
        let a = &r.files[0];
        assert_eq!(a.status, FileStatus::Changed);
        let rows = a.rows.as_ref().unwrap();
        assert_eq!(rows.changed, [ChangedRow { old: 1, new: 1 }]);
        assert!(a.schema.as_ref().unwrap().is_empty());
        assert_eq!(r.files[1].status, FileStatus::Missing);
        assert_eq!(r.files[2].path, "data/c.parquet");
        assert_eq!(r.files[2].status, FileStatus::Extra);

        // allow_extra relaxes only extras.
        fs::write(dir.join("data/a.csv"), "id,v\n1,x\n2,y\n3,z\n").unwrap();
        fs::write(dir.join("data/b.csv"), "id,v\n4,w\n").unwrap();
        assert!(!run(dir, &m, false, false).unwrap().verified);
        assert!(run(dir, &m, true, false).unwrap().verified);
    }

    #[test]
    fn sidecar_tampering_fails_and_removes_row_detail() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let m = make(dir);
        let side = dir.join("m.json.rows");
        let mut bytes = fs::read(&side).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 1;
        fs::write(&side, bytes).unwrap();
        fs::write(dir.join("data/a.csv"), "id,v\n1,x\n2,Y\n3,z\n").unwrap();
        let r = run(dir, &m, false, false).unwrap();
        assert_eq!(r.sidecar, SidecarStatus::Changed);
        assert!(!r.verified);
        let rows = r.files[0].rows.as_ref().unwrap();
        assert_eq!(rows.kind, RowDiffKind::Unavailable);
        assert!(rows.reason.as_ref().unwrap().contains("sidecar"));
    }

    #[test]
    fn unsafe_manifests_are_refused() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let m = make(dir);
        let text = fs::read_to_string(&m).unwrap();
        for bad in ["../x.csv", "/etc/passwd", "data/b.csv"] {
            let evil = text.replace("\"data/a.csv\"", &format!("\"{bad}\""));
            fs::write(&m, &evil).unwrap();
            let err = run(dir, &m, false, false).unwrap_err();
            assert!(
                matches!(err, IngestError::UnsafeManifestPath { .. }),
                "{err}"
            );
            assert!(err.to_string().contains(bad), "{err}");
        }
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_are_refused_or_confined() {
        let tmp = tempfile::tempdir().unwrap();
        let outside = tempfile::tempdir().unwrap();
        let dir = tmp.path();
        let m = make(dir);
        // Replace a listed file by a link out of the root.
        let target = outside.path().join("a.csv");
        fs::copy(dir.join("data/a.csv"), &target).unwrap();
        fs::remove_file(dir.join("data/a.csv")).unwrap();
        std::os::unix::fs::symlink(&target, dir.join("data/a.csv")).unwrap();
        let err = run(dir, &m, false, false).unwrap_err();
        assert!(matches!(err, IngestError::Symlink { .. }), "{err}");
        let err = run(dir, &m, false, true).unwrap_err();
        assert!(matches!(err, IngestError::LinkOutsideRoot { .. }), "{err}");
        // A link that stays inside the root is fine when following.
        fs::remove_file(dir.join("data/a.csv")).unwrap();
        fs::copy(&target, dir.join("a-real.csv")).unwrap();
        std::os::unix::fs::symlink(dir.join("a-real.csv"), dir.join("data/a.csv")).unwrap();
        assert!(run(dir, &m, false, true).unwrap().verified);
    }
}
