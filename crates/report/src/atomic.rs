//! Atomic output: write to a temporary file beside the target, then rename, so an
//! interrupted or failed run never leaves a partial file.

use std::io::{BufWriter, Write};
use std::path::Path;

use crate::error::{ReportError, Result};

/// An output written to a temporary file beside its target, not yet renamed into
/// place. Dropping it removes the temporary file, so a run that fails after staging
/// some outputs leaves none of them behind.
#[derive(Debug)]
pub struct Staged {
    tmp: tempfile::NamedTempFile,
    path: std::path::PathBuf,
}

impl Staged {
    /// Rename into place.
    pub fn persist(self) -> Result<()> {
        let path = self.path;
        self.tmp.persist(&path).map_err(|e| ReportError::Write {
            path: path.clone(),
            source: e.error,
        })?;
        Ok(())
    }
}

/// Write `path` atomically with `fill`. On any error the temporary file is removed
/// and `path` is untouched.
pub fn write_atomic<F>(path: &Path, fill: F) -> Result<()>
where
    F: FnOnce(&mut BufWriter<&std::fs::File>) -> Result<()>,
{
    stage(path, fill)?.persist()
}

/// Write the content of `path` to a temporary file beside it; [`Staged::persist`]
/// renames it into place.
pub fn stage<F>(path: &Path, fill: F) -> Result<Staged>
where
    F: FnOnce(&mut BufWriter<&std::fs::File>) -> Result<()>,
{
    let io = |source| ReportError::Write {
        path: path.to_path_buf(),
        source,
    };
    let dir = match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p,
        _ => Path::new("."),
    };
    let mut builder = tempfile::Builder::new();
    builder.prefix(".datavet-").suffix(".tmp");
    // Like any new file: 0o666 less the umask (tempfile's default is owner-only, which
    // would leave reports and exports unreadable to the rest of a team).
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        builder.permissions(std::fs::Permissions::from_mode(0o666));
    }
    let tmp = builder.tempfile_in(dir).map_err(io)?;
    {
        let mut w = BufWriter::new(tmp.as_file());
        fill(&mut w)?;
        w.flush().map_err(io)?;
    }
    tmp.as_file().sync_all().map_err(io)?;
    Ok(Staged {
        tmp,
        path: path.to_path_buf(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.csv");
        let err = write_atomic(&out, |w| {
            w.write_all(b"partial").unwrap();
            Err(ReportError::UnknownFormat { path: out.clone() })
        });
        assert!(err.is_err());
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn dropped_stage_leaves_nothing_behind() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.txt");
        let staged = stage(&out, |w| {
            w.write_all(b"x").unwrap();
            Ok(())
        })
        .unwrap();
        drop(staged);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
    }

    #[test]
    fn success_writes_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.txt");
        write_atomic(&out, |w| {
            w.write_all(b"hello").map_err(|source| ReportError::Write {
                path: out.clone(),
                source,
            })
        })
        .unwrap();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), "hello");
    }

    #[cfg(unix)]
    #[test]
    fn outputs_get_the_permissions_of_any_new_file_not_owner_only() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("out.json");
        write_atomic(&path, |w| {
            w.write_all(b"{}").map_err(|source| ReportError::Write {
                path: path.clone(),
                source,
            })
        })
        .unwrap();
        let plain = dir.path().join("plain");
        std::fs::write(&plain, b"").unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&path), mode(&plain), "{:o}", mode(&path));
    }
}
