//! File fingerprints: streaming SHA-256 (FIPS 180-4) of each file's bytes.
//!
//! Each file is read in fixed 1 MiB chunks — never whole into memory — and fed to
//! `sha2`, which uses the CPU's SHA extensions when present. Files are hashed in
//! parallel with rayon (one file per task: SHA-256 itself is sequential). The digest
//! is the lowercase hex string `sha256sum` prints.
//!
//! A file that changes while it is hashed (its length or modification time differ
//! before and after, or fewer or more bytes are read than its length) is an error
//! rather than a digest of bytes that never existed together.

use std::fs::{File, Metadata};
use std::io::{ErrorKind, Read};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use rayon::prelude::*;
use sha2::{Digest, Sha256};

use crate::error::{IngestError, Result};

/// Size of each read.
const CHUNK: usize = 1 << 20;

/// Where long-running work (hashing, row fingerprinting) reports progress. The CLI
/// implements it with indicatif; `()` ignores everything.
pub trait IngestProgress: Sync {
    /// A new stage starts with `total` units of work (bytes or rows).
    fn start(&self, stage: &str, total: u64);
    /// `n` more units are done.
    fn advance(&self, n: u64);
    /// The current stage is done.
    fn finish(&self);
}

impl IngestProgress for () {
    fn start(&self, _stage: &str, _total: u64) {}
    fn advance(&self, _n: u64) {}
    fn finish(&self) {}
}

/// Size and SHA-256 of a file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileDigest {
    /// Bytes hashed.
    pub size: u64,
    /// Lowercase hex SHA-256, as `sha256sum` prints it.
    pub sha256: String,
}

/// Lowercase hex SHA-256 of a byte slice.
///
/// ```
/// assert_eq!(
///     datavet_ingest::sha256_hex(b"abc"),
///     "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
/// );
/// ```
pub fn sha256_hex(bytes: &[u8]) -> String {
    hex::encode(Sha256::digest(bytes))
}

/// Hash one file, streaming it in 1 MiB reads; `progress.advance` is called with the
/// bytes of each read.
pub fn hash_file(path: &Path, progress: &dyn IngestProgress) -> Result<FileDigest> {
    hash_file_checked(path, progress, &|| {})
}

/// [`hash_file`] with a hook run between the last read and the final `stat` (tests use
/// it to change the file at the worst moment).
fn hash_file_checked(
    path: &Path,
    progress: &dyn IngestProgress,
    after_read: &dyn Fn(),
) -> Result<FileDigest> {
    let mut file = File::open(path).map_err(|e| IngestError::io("open", path, e))?;
    let before = file
        .metadata()
        .map_err(|e| IngestError::io("stat", path, e))?;
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; CHUNK];
    let mut size = 0u64;
    loop {
        let n = match file.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == ErrorKind::Interrupted => continue,
            Err(e) => return Err(IngestError::io("read", path, e)),
        };
        hasher.update(&buf[..n]);
        size += n as u64;
        progress.advance(n as u64);
    }
    after_read();
    let after = std::fs::metadata(path).map_err(|e| IngestError::io("stat", path, e))?;
    if size != before.len() || stamp(&before) != stamp(&after) {
        return Err(IngestError::ChangedWhileReading {
            path: path.to_path_buf(),
        });
    }
    Ok(FileDigest {
        size,
        sha256: hex::encode(hasher.finalize()),
    })
}

/// Length, modification time and (on Unix) inode change time: what must not move while
/// a file is read. The change time cannot be set back by `touch`, so a same-size
/// rewrite with its old modification time restored is caught too.
pub(crate) type Stamp = (u64, Option<SystemTime>, i64, i64);

/// The [`Stamp`] of file metadata.
pub(crate) fn stamp(meta: &Metadata) -> Stamp {
    #[cfg(unix)]
    let changed = {
        use std::os::unix::fs::MetadataExt;
        (meta.ctime(), meta.ctime_nsec())
    };
    #[cfg(not(unix))]
    let changed = (0, 0);
    (meta.len(), meta.modified().ok(), changed.0, changed.1)
}

/// The [`Stamp`] of a path.
pub(crate) fn stamp_path(path: &Path) -> Result<Stamp> {
    std::fs::metadata(path)
        .map(|m| stamp(&m))
        .map_err(|e| IngestError::io("stat", path, e))
}

/// Hash many files in parallel. Results are in the order of `paths`; one file's error
/// does not stop the others. Progress is one stage, `"hashing"`, counted in bytes.
pub fn hash_files(paths: &[PathBuf], progress: &dyn IngestProgress) -> Vec<Result<FileDigest>> {
    let total: u64 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    progress.start("hashing", total);
    // Largest files first, so a big file does not start last and run alone.
    let mut order: Vec<usize> = (0..paths.len()).collect();
    let sizes: Vec<u64> = paths
        .iter()
        .map(|p| std::fs::metadata(p).map(|m| m.len()).unwrap_or(0))
        .collect();
    order.sort_by(|&a, &b| sizes[b].cmp(&sizes[a]).then(a.cmp(&b)));
    let mut done: Vec<(usize, Result<FileDigest>)> = order
        .par_iter()
        .with_max_len(1)
        .map(|&i| (i, hash_file(&paths[i], progress)))
        .collect();
    progress.finish();
    done.sort_by_key(|(i, _)| *i);
    done.into_iter().map(|(_, r)| r).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU64, Ordering};

    struct Count(AtomicU64);
    impl IngestProgress for Count {
        fn start(&self, _: &str, _: u64) {}
        fn advance(&self, n: u64) {
            self.0.fetch_add(n, Ordering::Relaxed);
        }
        fn finish(&self) {}
    }

    #[test]
    fn known_digests() {
        let tmp = tempfile::tempdir().unwrap();
        let abc = tmp.path().join("abc");
        std::fs::write(&abc, b"abc").unwrap();
        let empty = tmp.path().join("empty");
        std::fs::write(&empty, b"").unwrap();
        let d = hash_file(&abc, &()).unwrap();
        assert_eq!(
            d.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(d.size, 3);
        let d = hash_file(&empty, &()).unwrap();
        assert_eq!(
            d.sha256,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
        assert_eq!(d.size, 0);
    }

    #[test]
    fn multi_chunk_file_matches_one_shot_digest_and_reports_progress() {
        let tmp = tempfile::tempdir().unwrap();
        let big = tmp.path().join("big");
        // 2.5 chunks of a non-repeating pattern.
        let bytes: Vec<u8> = (0..(CHUNK * 5 / 2) as u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        std::fs::write(&big, &bytes).unwrap();
        let count = Count(AtomicU64::new(0));
        let d = hash_file(&big, &count).unwrap();
        assert_eq!(d.sha256, sha256_hex(&bytes));
        assert_eq!(count.0.load(Ordering::Relaxed), bytes.len() as u64);
    }

    #[test]
    fn file_changed_while_hashing_is_an_error() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("growing.csv");
        std::fs::write(&p, b"a,b\n1,2\n").unwrap();
        let append = || {
            use std::io::Write;
            let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
            f.write_all(b"3,4\n").unwrap();
        };
        let err = hash_file_checked(&p, &(), &append).unwrap_err();
        assert!(
            matches!(err, IngestError::ChangedWhileReading { .. }),
            "{err}"
        );
        assert!(err.to_string().contains("growing.csv"), "{err}");
        // Unchanged: fine.
        assert!(hash_file_checked(&p, &(), &|| {}).is_ok());
        // Rewritten in place, same size, modification time put back: still caught
        // (the change time moves).
        let mtime = std::fs::metadata(&p).unwrap().modified().unwrap();
        let rewrite = || {
            std::fs::write(&p, b"a,b\n9,9\n3,4\n").unwrap();
            let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
            f.set_modified(mtime).unwrap();
        };
        let err = hash_file_checked(&p, &(), &rewrite).unwrap_err();
        assert!(
            matches!(err, IngestError::ChangedWhileReading { .. }),
            "{err}"
        );
    }

    #[test]
    fn parallel_results_keep_input_order_and_errors() {
        let tmp = tempfile::tempdir().unwrap();
        let mut paths = Vec::new();
        for i in 0..6 {
            let p = tmp.path().join(format!("f{i}"));
            std::fs::write(&p, vec![b'x'; i * 1000]).unwrap();
            paths.push(p);
        }
        paths.insert(2, tmp.path().join("missing"));
        let out = hash_files(&paths, &());
        assert_eq!(out.len(), 7);
        let err = out[2].as_ref().unwrap_err();
        assert!(err.to_string().contains("missing"), "{err}");
        for (p, r) in paths.iter().zip(&out) {
            if let Ok(d) = r {
                assert_eq!(d.sha256, sha256_hex(&std::fs::read(p).unwrap()));
            }
        }
    }
}
