//! File formats, recognised by extension.
//!
//! | extension                         | format                          |
//! |-----------------------------------|---------------------------------|
//! | `.csv`, `.csv.gz`, `.csv.zst`     | CSV, `,`-delimited              |
//! | `.tsv`, `.tsv.gz`, `.tsv.zst`     | CSV, tab-delimited              |
//! | `.parquet`, `.pq`                 | Apache Parquet                  |
//! | `.jsonl`, `.ndjson`               | JSON Lines, one object per line |
//! | `.arrow`, `.feather`, `.ipc`      | Arrow IPC file (Feather v2)     |
//!
//! Matching ignores ASCII case. A delimiter given by the user
//! ([`ReadOptions::delimiter`](crate::ReadOptions)) overrides the one implied by the
//! extension.

use std::fmt;
use std::path::Path;

use serde::{Deserialize, Serialize};

/// Compression of a text file, implied by its last extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Compression {
    /// Plain, uncompressed bytes.
    None,
    /// gzip (`.gz`).
    Gzip,
    /// Zstandard (`.zst`).
    Zstd,
}

/// A tabular file format datavet can read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Format {
    /// Delimited text: CSV (`,`) or TSV (`\t`), possibly compressed.
    Csv {
        /// Field delimiter byte.
        delimiter: u8,
        /// Compression of the file's bytes.
        compression: Compression,
    },
    /// Apache Parquet.
    Parquet,
    /// JSON Lines (one JSON object per line).
    JsonLines,
    /// Arrow IPC file format (also called Feather v2).
    Ipc,
}

impl Format {
    /// Plain CSV with a comma delimiter.
    pub const CSV: Format = Format::Csv {
        delimiter: b',',
        compression: Compression::None,
    };

    /// Plain TSV.
    pub const TSV: Format = Format::Csv {
        delimiter: b'\t',
        compression: Compression::None,
    };

    /// The format implied by a path's extension, or `None` when it is not one datavet
    /// reads.
    ///
    /// ```
    /// use datavet_ingest::{Compression, Format};
    /// assert_eq!(Format::from_path("a/b.TSV".as_ref()), Some(Format::TSV));
    /// assert_eq!(
    ///     Format::from_path("x.csv.gz".as_ref()),
    ///     Some(Format::Csv { delimiter: b',', compression: Compression::Gzip })
    /// );
    /// assert_eq!(Format::from_path("notes.txt".as_ref()), None);
    /// ```
    pub fn from_path(path: &Path) -> Option<Format> {
        let name = path.file_name()?.to_str()?.to_ascii_lowercase();
        let (stem, compression) = if let Some(s) = name.strip_suffix(".gz") {
            (s, Compression::Gzip)
        } else if let Some(s) = name.strip_suffix(".zst") {
            (s, Compression::Zstd)
        } else {
            (name.as_str(), Compression::None)
        };
        let ext = Path::new(stem).extension()?.to_str()?;
        let format = match ext {
            "csv" => Format::Csv {
                delimiter: b',',
                compression,
            },
            "tsv" | "tab" => Format::Csv {
                delimiter: b'\t',
                compression,
            },
            _ if compression != Compression::None => return None,
            "parquet" | "pq" => Format::Parquet,
            "jsonl" | "ndjson" => Format::JsonLines,
            "arrow" | "feather" | "ipc" => Format::Ipc,
            _ => return None,
        };
        Some(format)
    }

    /// The same format with another delimiter, when it is delimited text; other
    /// formats are returned unchanged.
    pub fn with_delimiter(self, delimiter: u8) -> Format {
        match self {
            Format::Csv { compression, .. } => Format::Csv {
                delimiter,
                compression,
            },
            other => other,
        }
    }

    /// Stable short name used in manifests: `csv`, `tsv`, `csv+gzip`, `tsv+zstd`,
    /// `csv(;)` for other delimiters, `parquet`, `jsonl`, `ipc`.
    pub fn name(&self) -> String {
        match *self {
            Format::Csv {
                delimiter,
                compression,
            } => {
                let base = match delimiter {
                    b',' => "csv".to_string(),
                    b'\t' => "tsv".to_string(),
                    d => format!("csv({})", d.escape_ascii()),
                };
                match compression {
                    Compression::None => base,
                    Compression::Gzip => format!("{base}+gzip"),
                    Compression::Zstd => format!("{base}+zstd"),
                }
            }
            Format::Parquet => "parquet".to_string(),
            Format::JsonLines => "jsonl".to_string(),
            Format::Ipc => "ipc".to_string(),
        }
    }

    /// Parse a name written by [`Format::name`]; `None` for anything else.
    ///
    /// ```
    /// use datavet_ingest::Format;
    /// for f in [Format::CSV, Format::TSV, Format::CSV.with_delimiter(b'|'), Format::Parquet] {
    ///     assert_eq!(Format::from_name(&f.name()), Some(f));
    /// }
    /// ```
    pub fn from_name(name: &str) -> Option<Format> {
        let (base, compression) = if let Some(b) = name.strip_suffix("+gzip") {
            (b, Compression::Gzip)
        } else if let Some(b) = name.strip_suffix("+zstd") {
            (b, Compression::Zstd)
        } else {
            (name, Compression::None)
        };
        let delimiter = match base {
            "csv" => b',',
            "tsv" => b'\t',
            "parquet" | "jsonl" | "ipc" if compression != Compression::None => return None,
            "parquet" => return Some(Format::Parquet),
            "jsonl" => return Some(Format::JsonLines),
            "ipc" => return Some(Format::Ipc),
            other => {
                let inner = other.strip_prefix("csv(")?.strip_suffix(')')?;
                let bytes = unescape_ascii(inner)?;
                match bytes[..] {
                    [d] => d,
                    _ => return None,
                }
            }
        };
        Some(Format::Csv {
            delimiter,
            compression,
        })
    }

    /// Whether this is delimited text (CSV/TSV).
    pub fn is_delimited(&self) -> bool {
        matches!(self, Format::Csv { .. })
    }
}

/// Undo `u8::escape_ascii` for the forms it produces (`\t`, `\xNN`, `\\`, …).
fn unescape_ascii(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    let mut bytes = text.bytes();
    while let Some(b) = bytes.next() {
        if b != b'\\' {
            out.push(b);
            continue;
        }
        out.push(match bytes.next()? {
            b't' => b'\t',
            b'r' => b'\r',
            b'n' => b'\n',
            b'x' => {
                let hex = [bytes.next()?, bytes.next()?];
                u8::from_str_radix(std::str::from_utf8(&hex).ok()?, 16).ok()?
            }
            other => other,
        });
    }
    Some(out)
}

impl fmt::Display for Format {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt_of(name: &str) -> Option<Format> {
        Format::from_path(Path::new(name))
    }

    #[test]
    fn extensions() {
        assert_eq!(fmt_of("a.csv"), Some(Format::CSV));
        assert_eq!(fmt_of("dir.x/a.tsv"), Some(Format::TSV));
        assert_eq!(fmt_of("a.parquet"), Some(Format::Parquet));
        assert_eq!(fmt_of("a.PQ"), Some(Format::Parquet));
        assert_eq!(fmt_of("a.jsonl"), Some(Format::JsonLines));
        assert_eq!(fmt_of("a.ndjson"), Some(Format::JsonLines));
        assert_eq!(fmt_of("a.arrow"), Some(Format::Ipc));
        assert_eq!(fmt_of("a.feather"), Some(Format::Ipc));
        assert_eq!(fmt_of("a.ipc"), Some(Format::Ipc));
        assert_eq!(
            fmt_of("a.tsv.zst"),
            Some(Format::Csv {
                delimiter: b'\t',
                compression: Compression::Zstd
            })
        );
        assert_eq!(fmt_of("a.parquet.gz"), None);
        assert_eq!(fmt_of("a.gz"), None);
        assert_eq!(fmt_of("csv"), None);
        assert_eq!(fmt_of("a.json"), None);
    }

    #[test]
    fn names() {
        assert_eq!(Format::CSV.name(), "csv");
        assert_eq!(Format::TSV.name(), "tsv");
        assert_eq!(Format::CSV.with_delimiter(b';').name(), "csv(;)");
        assert_eq!(
            Format::Csv {
                delimiter: b',',
                compression: Compression::Gzip
            }
            .to_string(),
            "csv+gzip"
        );
        assert_eq!(Format::Parquet.with_delimiter(b';'), Format::Parquet);
        for d in [b';', b'|', b'+', b')', 0x01, b'\\', b'\'', 0xff] {
            let f = Format::Csv {
                delimiter: d,
                compression: Compression::Zstd,
            };
            assert_eq!(Format::from_name(&f.name()), Some(f), "{}", f.name());
        }
        assert_eq!(Format::from_name("parquet+gzip"), None);
        assert_eq!(Format::from_name("csv(ab)"), None);
        assert_eq!(Format::from_name("xml"), None);
    }
}
