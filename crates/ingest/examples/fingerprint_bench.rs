//! Row-fingerprint throughput on one file: times reading it and fingerprinting its
//! rows separately, and prints rows per second. Used by `bench/hash.sh`.
//!
//! ```sh
//! cargo run --release -p datavet-ingest --example fingerprint_bench -- FILE [REPEATS]
//! ```
#![allow(clippy::print_stdout)]

use std::time::Instant;

use datavet_ingest::{ReadOptions, merkle_root, read_table, resolve_inputs, row_digests};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: fingerprint_bench FILE [REPEATS]")?;
    let repeats: usize = args.next().map(|r| r.parse()).transpose()?.unwrap_or(3);
    let files = resolve_inputs(&[path.into()])?;
    let file = files.first().ok_or("no data file")?;

    let t = Instant::now();
    let df = read_table(file, &ReadOptions::default())?;
    let read_s = t.elapsed().as_secs_f64();
    let rows = df.height();
    println!(
        "read      {} rows x {} columns in {read_s:.3} s ({:.0} rows/s)",
        rows,
        df.width(),
        rows as f64 / read_s
    );

    let mut best = f64::INFINITY;
    for _ in 0..repeats.max(1) {
        let t = Instant::now();
        let digests = row_digests(&df, &())?;
        let root = merkle_root(&digests);
        best = best.min(t.elapsed().as_secs_f64());
        std::hint::black_box(root);
    }
    println!(
        "fingerprint {rows} rows in {best:.3} s (best of {repeats}): {:.0} rows/s on {} threads",
        rows as f64 / best,
        rayon::current_num_threads()
    );
    Ok(())
}
