//! Resolving inputs into an ordered list of data files.
//!
//! An input is a file, a folder (walked recursively) or a glob of shards
//! (`data/train-*.parquet`). Every file gets a path relative to one root, written with
//! `/` separators, and the list is sorted by that relative path, so the same inputs
//! always give the same files in the same order on every machine.
//!
//! Folder walks and globs skip hidden entries (names starting with `.`) and files whose
//! format is unknown; a file named explicitly must have a known format. Symbolic links
//! are followed only when [`ResolveOptions::follow_symlinks`] is set, and are otherwise
//! an error, never silently skipped.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::error::{IngestError, Result};
use crate::format::Format;

/// One data file to read, hash or fingerprint.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceFile {
    /// Where to open it (the input as given, joined with the walked sub-path).
    pub path: PathBuf,
    /// Path relative to the root, `/`-separated, without `.` or `..`.
    pub rel: String,
    /// Its format.
    pub format: Format,
}

/// What one input covers, relative to the root: used when verifying to find files
/// that were added since a manifest was made.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase", tag = "kind", content = "path")]
pub enum Coverage {
    /// A single file.
    File(String),
    /// A folder and everything below it (`""` is the root itself).
    Folder(String),
    /// A glob pattern, relative to the root.
    Glob(String),
}

/// How to resolve inputs.
#[derive(Debug, Clone)]
pub struct ResolveOptions {
    /// The folder relative paths are taken from. `None`: the deepest folder that
    /// contains every input (a folder input is its own root).
    pub root: Option<PathBuf>,
    /// Follow symbolic links instead of refusing them.
    pub follow_symlinks: bool,
    /// Delimiter overriding the one implied by CSV/TSV extensions.
    pub delimiter: Option<u8>,
    /// Files never to include (e.g. the manifest being written and its sidecar).
    pub exclude: Vec<PathBuf>,
}

impl Default for ResolveOptions {
    fn default() -> Self {
        ResolveOptions {
            root: None,
            follow_symlinks: true,
            delimiter: None,
            exclude: Vec::new(),
        }
    }
}

/// Resolved inputs: the root, the files in order, and what the inputs cover.
#[derive(Debug, Clone)]
pub struct Resolved {
    /// Absolute, lexically normalised root.
    pub root: PathBuf,
    /// Files sorted by relative path, without duplicates.
    pub files: Vec<SourceFile>,
    /// One entry per input.
    pub coverage: Vec<Coverage>,
}

/// Resolve inputs with default options (root inferred, symlinks followed).
///
/// ```no_run
/// # fn main() -> datavet_ingest::Result<()> {
/// let files = datavet_ingest::resolve_inputs(&["data/".into(), "extra/*.parquet".into()])?;
/// for f in &files {
///     let _ = (&f.path, &f.rel, f.format);
/// }
/// # Ok(()) }
/// ```
pub fn resolve_inputs(inputs: &[PathBuf]) -> Result<Vec<SourceFile>> {
    Ok(resolve(inputs, &ResolveOptions::default())?.files)
}

/// Resolve inputs into sorted files relative to one root.
pub fn resolve(inputs: &[PathBuf], opts: &ResolveOptions) -> Result<Resolved> {
    let kinds: Vec<Input> = inputs.iter().map(|p| classify(p)).collect::<Result<_>>()?;
    let root = match &opts.root {
        Some(r) => normalize(r)?,
        None => common_root(&kinds)?,
    };
    let exclude: Vec<PathBuf> = opts
        .exclude
        .iter()
        .map(|p| normalize(p))
        .collect::<Result<_>>()?;

    let mut files: BTreeMap<String, SourceFile> = BTreeMap::new();
    let mut coverage = Vec::with_capacity(kinds.len());
    for input in &kinds {
        let mut found = Vec::new();
        match input {
            Input::File(path) => {
                let format = Format::from_path(path)
                    .ok_or_else(|| IngestError::UnknownFormat { path: path.clone() })?;
                check_symlink(path, opts.follow_symlinks)?;
                check_regular(path)?;
                found.push((path.clone(), format));
                coverage.push(Coverage::File(relative(path, &root)?));
            }
            Input::Folder(dir) => {
                found.extend(walk_folder(dir, opts.follow_symlinks)?);
                coverage.push(Coverage::Folder(relative(dir, &root)?));
            }
            Input::Glob { pattern, base } => {
                found.extend(expand_glob(pattern, opts.follow_symlinks)?);
                let rel_base = relative(base, &root)?;
                let tail = glob_tail(pattern, base);
                coverage.push(Coverage::Glob(if rel_base.is_empty() {
                    tail
                } else {
                    format!("{rel_base}/{tail}")
                }));
            }
        }
        let mut any = false;
        for (path, format) in found {
            if exclude.contains(&normalize(&path)?) {
                continue;
            }
            any = true;
            let rel = relative(&path, &root)?;
            let format = match opts.delimiter {
                Some(d) => format.with_delimiter(d),
                None => format,
            };
            files
                .entry(rel.clone())
                .or_insert(SourceFile { path, rel, format });
        }
        if !any && !matches!(input, Input::File(_)) {
            return Err(IngestError::NoFiles {
                input: input.display(),
            });
        }
    }
    coverage.sort();
    coverage.dedup();
    Ok(Resolved {
        root,
        files: files.into_values().collect(),
        coverage,
    })
}

/// Every data file below `dir` (hidden entries and unknown formats skipped), in
/// sorted order. Symlinks are an error unless `follow_symlinks`.
pub(crate) fn walk_folder(dir: &Path, follow_symlinks: bool) -> Result<Vec<(PathBuf, Format)>> {
    let mut out = Vec::new();
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(follow_symlinks)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !is_hidden(e.file_name()));
    for entry in walker {
        let entry = entry.map_err(|e| {
            let path = e.path().unwrap_or(dir).to_path_buf();
            let source = e
                .into_io_error()
                .unwrap_or_else(|| std::io::Error::other("filesystem loop"));
            IngestError::io("walk", path, source)
        })?;
        let ft = entry.file_type();
        if ft.is_dir() {
            continue;
        }
        if ft.is_symlink() && link_matters(entry.path()) {
            // Only reached when links are not followed.
            return Err(IngestError::Symlink {
                path: entry.into_path(),
            });
        }
        let Some(format) = Format::from_path(entry.path()) else {
            continue;
        };
        if ft.is_file() {
            out.push((entry.into_path(), format));
        }
    }
    Ok(out)
}

fn expand_glob(pattern: &str, follow_symlinks: bool) -> Result<Vec<(PathBuf, Format)>> {
    let options = glob::MatchOptions {
        case_sensitive: true,
        require_literal_separator: true,
        require_literal_leading_dot: true,
    };
    let paths = glob::glob_with(pattern, options).map_err(|source| IngestError::BadGlob {
        pattern: pattern.to_string(),
        source,
    })?;
    let mut out = Vec::new();
    for entry in paths {
        let path = entry.map_err(|e| {
            let path = e.path().to_path_buf();
            IngestError::io("read", path, e.into())
        })?;
        let Some(format) = Format::from_path(&path) else {
            continue;
        };
        let meta =
            std::fs::symlink_metadata(&path).map_err(|e| IngestError::io("stat", &path, e))?;
        if meta.file_type().is_symlink() {
            if !follow_symlinks {
                return Err(IngestError::Symlink { path });
            }
            if !path.is_file() {
                continue;
            }
        } else if !meta.is_file() {
            continue;
        }
        out.push((path, format));
    }
    out.sort_by(|a, b| a.0.cmp(&b.0));
    Ok(out)
}

fn check_symlink(path: &Path, follow: bool) -> Result<()> {
    let meta = std::fs::symlink_metadata(path).map_err(|e| IngestError::io("stat", path, e))?;
    if meta.file_type().is_symlink() && !follow {
        return Err(IngestError::Symlink {
            path: path.to_path_buf(),
        });
    }
    Ok(())
}

/// Whether an unfollowed symbolic link could hide data: it has a data file's name, or
/// leads to a folder, or leads nowhere that can be checked (broken, or a loop).
/// Links to other files are skipped like any other non-data file.
pub(crate) fn link_matters(path: &Path) -> bool {
    Format::from_path(path).is_some() || std::fs::metadata(path).ok().is_none_or(|m| m.is_dir())
}

/// Refuse a FIFO, socket or device: reading one could block forever or never end.
pub(crate) fn check_regular(path: &Path) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|e| IngestError::io("stat", path, e))?;
    if meta.is_file() {
        return Ok(());
    }
    let what = if meta.is_dir() {
        "it is a folder, not a file"
    } else {
        "it is not a regular file (a FIFO, socket or device)"
    };
    Err(IngestError::io("open", path, std::io::Error::other(what)))
}

pub(crate) fn is_hidden(name: &std::ffi::OsStr) -> bool {
    name.as_encoded_bytes().first() == Some(&b'.')
}

/// One input, classified.
enum Input {
    File(PathBuf),
    Folder(PathBuf),
    Glob { pattern: String, base: PathBuf },
}

impl Input {
    fn display(&self) -> String {
        match self {
            Input::File(p) | Input::Folder(p) => p.display().to_string(),
            Input::Glob { pattern, .. } => format!("glob '{pattern}'"),
        }
    }

    /// The folder this input lives in (for inferring a common root).
    fn base(&self) -> Option<&Path> {
        match self {
            Input::File(p) => p.parent(),
            Input::Folder(p) => Some(p),
            Input::Glob { base, .. } => Some(base),
        }
    }
}

fn classify(path: &Path) -> Result<Input> {
    if std::fs::symlink_metadata(path).is_ok() {
        return Ok(if path.is_dir() {
            Input::Folder(path.to_path_buf())
        } else {
            Input::File(path.to_path_buf())
        });
    }
    let text = path.to_str().ok_or_else(|| IngestError::NonUtf8Path {
        path: path.to_path_buf(),
    })?;
    if text.contains(['*', '?', '[']) {
        // The literal folder before the first component with a metacharacter.
        let mut base = PathBuf::new();
        for comp in path.components() {
            let s = comp.as_os_str().to_string_lossy();
            if s.contains(['*', '?', '[']) {
                break;
            }
            base.push(comp);
        }
        if base.as_os_str().is_empty() {
            base.push(".");
        }
        return Ok(Input::Glob {
            pattern: text.to_string(),
            base,
        });
    }
    Err(IngestError::NotFound {
        path: path.to_path_buf(),
    })
}

/// The pattern's components after its literal base, joined with `/`.
fn glob_tail(pattern: &str, base: &Path) -> String {
    let pat = Path::new(pattern);
    let skip = if base == Path::new(".") && !pat.starts_with(".") {
        0
    } else {
        base.components().count()
    };
    pat.components()
        .skip(skip)
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect::<Vec<_>>()
        .join("/")
}

fn common_root(inputs: &[Input]) -> Result<PathBuf> {
    let mut root: Option<PathBuf> = None;
    for input in inputs {
        let base = match input.base() {
            Some(b) if !b.as_os_str().is_empty() => normalize(b)?,
            _ => normalize(Path::new("."))?,
        };
        root = Some(match root {
            None => base,
            Some(r) => {
                let mut common = PathBuf::new();
                for (a, b) in r.components().zip(base.components()) {
                    if a != b {
                        break;
                    }
                    common.push(a);
                }
                common
            }
        });
    }
    match root {
        Some(r) => Ok(r),
        None => normalize(Path::new(".")),
    }
}

/// Absolute path with `.` and `..` removed lexically (symlinks are not resolved).
pub(crate) fn normalize(path: &Path) -> Result<PathBuf> {
    let abs = std::path::absolute(path).map_err(|e| IngestError::io("resolve", path, e))?;
    let mut out = PathBuf::new();
    for comp in abs.components() {
        match comp {
            Component::ParentDir => {
                out.pop();
            }
            Component::CurDir => {}
            other => out.push(other),
        }
    }
    Ok(out)
}

/// `path` relative to `root` (both normalised), `/`-separated.
pub(crate) fn relative(path: &Path, root: &Path) -> Result<String> {
    let abs = normalize(path)?;
    let rel = abs
        .strip_prefix(root)
        .map_err(|_| IngestError::OutsideRoot {
            path: path.to_path_buf(),
            root: root.to_path_buf(),
        })?;
    let mut parts = Vec::new();
    for comp in rel.components() {
        let s = comp
            .as_os_str()
            .to_str()
            .ok_or_else(|| IngestError::NonUtf8Path {
                path: path.to_path_buf(),
            })?;
        parts.push(s);
    }
    Ok(parts.join("/"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;

    fn touch(dir: &Path, rel: &str) -> PathBuf {
        let p = dir.join(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(&p, "a\n1\n").unwrap();
        p
    }

    #[test]
    fn folder_walk_is_sorted_and_skips_hidden_and_unknown() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        for rel in [
            "b.csv",
            "a/z.parquet",
            "a/b.tsv",
            "A.jsonl",
            ".hidden.csv",
            ".git/x.csv",
            "notes.txt",
            "c/d/e.feather",
        ] {
            touch(d, rel);
        }
        let r = resolve(&[d.to_path_buf()], &ResolveOptions::default()).unwrap();
        let rels: Vec<&str> = r.files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(
            rels,
            [
                "A.jsonl",
                "a/b.tsv",
                "a/z.parquet",
                "b.csv",
                "c/d/e.feather"
            ]
        );
        assert_eq!(r.files[1].format, Format::TSV);
        assert_eq!(r.coverage, vec![Coverage::Folder(String::new())]);
        assert_eq!(r.root, normalize(d).unwrap());
    }

    #[test]
    fn glob_and_files_share_a_root() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        touch(d, "shards/part-1.csv");
        touch(d, "shards/part-0.csv");
        touch(d, "shards/other.csv");
        touch(d, "shards/.part-2.csv");
        let single = touch(d, "labels.csv");
        let pattern = d.join("shards/part-*.csv");
        let r = resolve(&[pattern, single], &ResolveOptions::default()).unwrap();
        let rels: Vec<&str> = r.files.iter().map(|f| f.rel.as_str()).collect();
        assert_eq!(
            rels,
            ["labels.csv", "shards/part-0.csv", "shards/part-1.csv"]
        );
        assert_eq!(
            r.coverage,
            vec![
                Coverage::File("labels.csv".into()),
                Coverage::Glob("shards/part-*.csv".into())
            ]
        );
    }

    #[test]
    fn explicit_root_and_outside_root() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let f = touch(d, "data/x.csv");
        let opts = ResolveOptions {
            root: Some(d.to_path_buf()),
            ..Default::default()
        };
        let r = resolve(std::slice::from_ref(&f), &opts).unwrap();
        assert_eq!(r.files[0].rel, "data/x.csv");
        let opts = ResolveOptions {
            root: Some(d.join("data/sub")),
            ..Default::default()
        };
        let err = resolve(&[f], &opts).unwrap_err();
        assert!(matches!(err, IngestError::OutsideRoot { .. }), "{err}");
    }

    #[test]
    fn errors_name_the_input() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let missing = d.join("nope.csv");
        let err = resolve_inputs(std::slice::from_ref(&missing)).unwrap_err();
        assert!(err.to_string().contains("nope.csv"), "{err}");
        let txt = d.join("a.txt");
        fs::write(&txt, "x").unwrap();
        let err = resolve_inputs(&[txt]).unwrap_err();
        assert!(matches!(err, IngestError::UnknownFormat { .. }), "{err}");
        let err = resolve_inputs(&[d.join("*.parquet")]).unwrap_err();
        assert!(matches!(err, IngestError::NoFiles { .. }), "{err}");
        fs::create_dir(d.join("empty")).unwrap();
        let err = resolve_inputs(&[d.join("empty")]).unwrap_err();
        assert!(err.to_string().contains("empty"), "{err}");
    }

    #[test]
    fn excluded_files_and_delimiter_override() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        touch(d, "a.csv");
        let m = touch(d, "m.csv");
        let opts = ResolveOptions {
            exclude: vec![m],
            delimiter: Some(b';'),
            ..Default::default()
        };
        let r = resolve(&[d.to_path_buf()], &opts).unwrap();
        assert_eq!(r.files.len(), 1);
        assert_eq!(r.files[0].format, Format::CSV.with_delimiter(b';'));
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_refused_unless_followed() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        let target = touch(d, "outside/t.csv");
        touch(d, "data/a.csv");
        std::os::unix::fs::symlink(&target, d.join("data/link.csv")).unwrap();
        let opts = ResolveOptions {
            follow_symlinks: false,
            ..Default::default()
        };
        let err = resolve(&[d.join("data")], &opts).unwrap_err();
        assert!(matches!(err, IngestError::Symlink { .. }), "{err}");
        // A link to a folder (here a loop) is refused too, not skipped; followed, the
        // loop is an error naming it.
        fs::remove_file(d.join("data/link.csv")).unwrap();
        std::os::unix::fs::symlink("..", d.join("data/loop")).unwrap();
        let err = resolve(&[d.join("data")], &opts).unwrap_err();
        assert!(err.to_string().contains("loop"), "{err}");
        let err = resolve(&[d.join("data")], &ResolveOptions::default()).unwrap_err();
        assert!(err.to_string().contains("loop"), "{err}");
        fs::remove_file(d.join("data/loop")).unwrap();
        std::os::unix::fs::symlink(&target, d.join("data/link.csv")).unwrap();
        let r = resolve(&[d.join("data")], &ResolveOptions::default()).unwrap();
        assert_eq!(r.files.len(), 2);
    }
}
