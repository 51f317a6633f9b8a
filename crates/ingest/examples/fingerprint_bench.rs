//! Row-fingerprint throughput on one file: times reading it and fingerprinting its
//! rows separately, and prints rows per second. Used by `bench/hash.sh`.
//!
//! ```sh
//! cargo run --release -p datavet-ingest --example fingerprint_bench -- FILE [REPEATS]
//! ```
#![allow(clippy::print_stdout)]

use std::time::Instant;

use datavet_ingest::{ReadOptions, merkle_root, read_table, resolve_inputs, row_digests};

/// User + system CPU time of this process (Linux `/proc/self/stat`, in clock ticks of
/// 1/100 s), or `None` elsewhere.
fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    let after = &stat[stat.rfind(')')? + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / 100.0)
}

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

    let threads = rayon::current_num_threads();
    let (mut best, mut best_cpu) = (f64::INFINITY, f64::INFINITY);
    for _ in 0..repeats.max(1) {
        let (t, cpu) = (Instant::now(), cpu_seconds());
        let digests = row_digests(&df, &())?;
        let root = merkle_root(&digests);
        best = best.min(t.elapsed().as_secs_f64());
        if let (Some(a), Some(b)) = (cpu, cpu_seconds()) {
            best_cpu = best_cpu.min(b - a);
        }
        std::hint::black_box(root);
    }
    println!(
        "fingerprint {rows} rows in {best:.3} s wall (best of {repeats}): {:.0} rows/s on {threads} threads",
        rows as f64 / best,
    );
    if best_cpu.is_finite() && best_cpu > 0.0 {
        // On a busy machine wall time understates: CPU time shows what the work costs.
        println!(
            "            {best_cpu:.3} s of CPU: {:.0} rows/s per CPU-second, {:.0} rows/s if {threads} cores were free",
            rows as f64 / best_cpu,
            rows as f64 / best_cpu * threads as f64,
        );
    }
    Ok(())
}
