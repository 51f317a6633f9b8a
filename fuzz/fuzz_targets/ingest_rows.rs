//! CSV / TSV / JSON Lines bytes → the ingest reader (`read_table`, with its
//! re-read-on-type-mismatch fallback, BOM stripping and compression sniffing) → the
//! canonical row encoding (`row_digests`, `encode_row`, `merkle_root`).
//!
//! The first input byte picks the format and reader options; the rest is the file.
//! The bytes are written to a file in `/dev/shm` (the reader takes files), so this is
//! exactly the path `datavet scan` / `manifest` take.
//!
//! Properties beyond "no panic": one digest per row; each digest is the SHA-256 of
//! `encode_row` for that row; digests are deterministic.
#![no_main]

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use datavet_ingest::{
    Format, ReadOptions, SourceFile, encode_row, merkle_root, read_table, row_digests, sha256_hex,
};
use libfuzzer_sys::fuzz_target;

fn dir() -> &'static tempfile::TempDir {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() { shm } else { Path::new("/tmp") };
        tempfile::Builder::new()
            .prefix("datavet-fuzz-ingest")
            .tempdir_in(base)
            .expect("temp dir")
    })
}

fn hex(d: &[u8; 32]) -> String {
    d.iter().map(|b| format!("{b:02x}")).collect()
}

/// libfuzzer-sys installs a panic hook that aborts at once, which would also abort on
/// the polars panics `read_table` catches and turns into errors. Put back the
/// standard hook: a panic that escapes still aborts (libfuzzer-sys catches it at the
/// top of the target), and is reported with its message.
fn unwind_to_our_boundaries() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| drop(std::panic::take_hook()));
}

fuzz_target!(|data: &[u8]| {
    unwind_to_our_boundaries();
    let Some((&sel, body)) = data.split_first() else {
        return;
    };
    let (name, format) = match sel & 3 {
        0 => ("in.csv", Format::CSV),
        1 => ("in.tsv", Format::TSV),
        2 => ("in.jsonl", Format::JsonLines),
        _ => ("in.csv", Format::CSV.with_delimiter(b';')),
    };
    let opts = ReadOptions {
        has_header: sel & 4 == 0,
        delimiter: None,
        // Small windows exercise the "re-read inferring from every row" fallback.
        infer_schema_rows: match (sel >> 3) & 3 {
            0 => 10_000,
            1 => 1,
            2 => 2,
            _ => 5,
        },
    };
    let path: PathBuf = dir().path().join(name);
    std::fs::write(&path, body).expect("write input");
    let file = SourceFile {
        path,
        rel: name.to_string(),
        format,
    };
    let Ok(df) = read_table(&file, &opts) else {
        return;
    };
    let Ok(digests) = row_digests(&df, &()) else {
        return;
    };
    assert_eq!(digests.len(), df.height());
    let again = row_digests(&df, &()).expect("second fingerprint");
    assert_eq!(again, digests, "row digests are not deterministic");
    let _ = merkle_root(&digests);
    for row in (0..df.height()).take(8) {
        let bytes = encode_row(&df, row).expect("encode_row fails where row_digests worked");
        assert_eq!(sha256_hex(&bytes), hex(&digests[row]), "row {row}");
    }
});
