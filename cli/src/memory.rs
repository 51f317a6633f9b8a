//! The `--max-memory` guard: refuse a scan that would not fit, before reading and
//! again before the detectors start, instead of swapping or being killed part-way.

use anyhow::{Result, bail};
use datavet_ingest::{Compression, Format, SourceFile};

/// A memory limit in bytes, from `--max-memory`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    /// At most this many bytes.
    Bytes(u64),
    /// No limit (`--max-memory none`).
    None,
}

/// Parse `512M`, `4G`, `1.5GiB`, `2000000000` (bytes) or `none`. Suffixes are
/// binary (K = 1024); a trailing `B` or `iB` is accepted.
pub fn parse_limit(text: &str) -> Result<Limit, String> {
    let t = text.trim();
    if t.eq_ignore_ascii_case("none") {
        return Ok(Limit::None);
    }
    let upper = t.to_ascii_uppercase();
    let unit_at = upper
        .find(|c: char| c.is_ascii_alphabetic())
        .unwrap_or(upper.len());
    let (number, unit) = upper.split_at(unit_at);
    let scale: u64 = match unit.trim_end_matches("IB").trim_end_matches('B') {
        "" => 1,
        "K" => 1 << 10,
        "M" => 1 << 20,
        "G" => 1 << 30,
        "T" => 1 << 40,
        _ => {
            return Err(format!(
                "unknown unit in '{text}' (use K, M, G or T, or 'none')"
            ));
        }
    };
    let value: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("expected a size such as 512M, 4G or 'none', got '{text}'"))?;
    if !(value.is_finite() && value > 0.0) {
        return Err(format!("the limit must be a positive size, got '{text}'"));
    }
    Ok(Limit::Bytes((value * scale as f64) as u64))
}

/// The limit to apply: the flag's, else the memory the system says is available
/// (`MemAvailable` on Linux), else none.
pub fn effective(flag: Option<Limit>) -> (Limit, &'static str) {
    match flag {
        Some(limit) => (limit, "--max-memory"),
        None => match available() {
            Some(bytes) => (Limit::Bytes(bytes), "the memory available"),
            None => (Limit::None, "no limit"),
        },
    }
}

/// `MemAvailable`, lowered to the room left under a cgroup v2 limit (containers see
/// the host's `/proc/meminfo`).
fn available() -> Option<u64> {
    let info = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = info.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    let host = kib * 1024;
    let read = |name: &str| -> Option<u64> {
        std::fs::read_to_string(format!("/sys/fs/cgroup/{name}"))
            .ok()?
            .trim()
            .parse()
            .ok()
    };
    let room =
        read("memory.max").map(|max| max.saturating_sub(read("memory.current").unwrap_or(0)));
    Some(room.map_or(host, |r| r.min(host)))
}

/// Peak memory of reading `files` into one table, from their sizes: measured
/// (docs/performance.md) at about 35 MB plus 2.3× the bytes for plain CSV and JSON
/// Lines (2.1× on a 275 MB CSV of 5-decimal values, 2.3× on a 241 MB one of shorter
/// quoted values, which parse into more values per byte), 2.2× for Parquet and Arrow IPC, and 6× the compressed bytes for gzip/zstd
/// CSV.
pub fn read_bytes(files: &[SourceFile]) -> u64 {
    const BASE: f64 = 35.0 * 1024.0 * 1024.0;
    (BASE
        + files
            .iter()
            .map(|f| {
                let size = std::fs::metadata(&f.path).map(|m| m.len()).unwrap_or(0) as f64;
                let factor = match f.format {
                    Format::Csv {
                        compression: Compression::None,
                        ..
                    }
                    | Format::JsonLines => 2.3,
                    Format::Csv { .. } => 6.0,
                    Format::Parquet | Format::Ipc => 2.2,
                };
                size * factor
            })
            .sum::<f64>()) as u64
}

/// Fail when `needed` bytes exceed the limit, saying what was estimated and how to
/// get under it.
pub fn check(needed: u64, limit: (Limit, &str), what: &str) -> Result<()> {
    if let (Limit::Bytes(max), source) = limit
        && needed > max
    {
        bail!(
            "{what} needs about {} of memory, more than the {} allowed by {source}; hint: scan a \
             sample of the rows or fewer columns (--features), split the data and scan each \
             part, or raise --max-memory (none turns the check off)",
            human(needed),
            human(max)
        );
    }
    Ok(())
}

/// `1.5 GB`-style size for messages (binary units).
pub fn human(bytes: u64) -> String {
    let b = bytes as f64;
    let (value, unit) = if b >= (1u64 << 30) as f64 {
        (b / (1u64 << 30) as f64, "GB")
    } else if b >= (1u64 << 20) as f64 {
        (b / (1u64 << 20) as f64, "MB")
    } else {
        (b / 1024.0, "KB")
    };
    format!("{value:.1} {unit}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes_parse_with_binary_units() {
        assert_eq!(parse_limit("512M"), Ok(Limit::Bytes(512 << 20)));
        assert_eq!(parse_limit("4g"), Ok(Limit::Bytes(4 << 30)));
        assert_eq!(parse_limit("1.5GiB"), Ok(Limit::Bytes(3 << 29)));
        assert_eq!(parse_limit("2KB"), Ok(Limit::Bytes(2048)));
        assert_eq!(parse_limit("1000"), Ok(Limit::Bytes(1000)));
        assert_eq!(parse_limit("None"), Ok(Limit::None));
        for bad in ["", "G", "-1G", "0", "4X", "lots", "nanG"] {
            assert!(parse_limit(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn check_passes_under_the_limit_and_explains_over_it() {
        let limit = (Limit::Bytes(1 << 30), "--max-memory");
        assert!(check(1 << 29, limit, "x").is_ok());
        let err = check(3 << 30, limit, "scanning d.csv")
            .unwrap_err()
            .to_string();
        assert!(
            err.starts_with("scanning d.csv needs about 3.0 GB of memory, more than the 1.0 GB")
        );
        assert!(err.contains("; hint: "));
        assert!(check(u64::MAX, (Limit::None, "no limit"), "x").is_ok());
    }
}
