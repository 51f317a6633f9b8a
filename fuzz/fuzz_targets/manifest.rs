//! Everything `datavet verify` parses from untrusted files: the manifest JSON (plain or
//! an in-toto Statement wrapping it), the binary row sidecar, the timestamps and format
//! names inside, and the path checks `verify` applies before it touches the disk.
//!
//! Properties beyond "no panic":
//! - a manifest that parses re-parses from its own JSON and in-toto renderings to the
//!   same value;
//! - a sidecar that parses serialises back to the exact input bytes;
//! - `verify_manifest` against an empty folder returns (error or report) without
//!   panicking, and never reports a listed file as present.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use datavet_ingest::{
    FileStatus, Format, Manifest, RowSidecar, VerifyOptions, check_manifest_path, parse_utc,
    verify_manifest,
};
use libfuzzer_sys::fuzz_target;

/// An empty folder to verify against, and a manifest path inside it.
fn root() -> &'static (tempfile::TempDir, PathBuf) {
    static ROOT: OnceLock<(tempfile::TempDir, PathBuf)> = OnceLock::new();
    ROOT.get_or_init(|| {
        let dir = tempfile::Builder::new()
            .prefix("datavet-fuzz-root")
            .tempdir_in(scratch())
            .expect("temp dir");
        let path = dir.path().join("manifest.json");
        (dir, path)
    })
}

fn scratch() -> &'static Path {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() { shm } else { Path::new("/tmp") }
}

fuzz_target!(|data: &[u8]| {
    let (dir, manifest_path) = root();
    if let Ok(m) = Manifest::from_json(data, manifest_path) {
        for f in &m.files {
            let _ = check_manifest_path(&f.path);
            if let Some(fmt) = Format::from_name(&f.format) {
                assert_eq!(Format::from_name(&fmt.name()), Some(fmt));
            }
        }
        let _ = parse_utc(&m.created_at);
        let again = Manifest::from_json(m.to_json().as_bytes(), manifest_path)
            .expect("a parsed manifest re-parses from its own JSON");
        assert_eq!(again, m, "JSON round trip changed the manifest");
        let again = Manifest::from_json(m.to_in_toto().as_bytes(), manifest_path)
            .expect("a parsed manifest re-parses from its in-toto form");
        assert_eq!(again, m, "in-toto round trip changed the manifest");

        let opts = VerifyOptions {
            root: dir.path().to_path_buf(),
            allow_extra: false,
            follow_symlinks: false,
        };
        if let Ok(report) = verify_manifest(&m, manifest_path, &opts, &()) {
            assert!(report.files.len() >= m.files.len());
            for (r, f) in report.files.iter().zip(&m.files) {
                assert_eq!(r.path, f.path);
                assert_ne!(
                    r.status,
                    FileStatus::Ok,
                    "{} is not in the empty root",
                    f.path
                );
            }
        }
    }
    if let Ok(side) = RowSidecar::from_bytes(data, manifest_path) {
        assert_eq!(
            side.to_bytes(),
            data,
            "sidecar round trip changed the bytes"
        );
        let _ = side.by_path();
    }
});
