//! Where a malformed file goes wrong: the row, line and column of the first problem.
//!
//! Polars reports many malformed inputs without a location ("invalid utf-8 sequence",
//! "found more fields than defined in 'Schema'") and quietly pads rows that have too
//! few fields with nulls. [`check_csv`] walks a plain CSV/TSV file once with a small
//! RFC 4180 tokenizer (quotes, `""` escapes, quoted newlines, `\n` or `\r\n`) and
//! reports the first row whose field count differs from the header's, a header that
//! names a column twice, a quoted field that never closes and, when asked, a field
//! whose bytes are not UTF-8. [`jsonl_problem`] finds the first line of a JSON Lines
//! file that is not a JSON object. Both stream the file in 1 MiB reads.
//!
//! Rows are counted like everywhere else in datavet: 0-based data rows, the header
//! not counted, a blank line after the first record counted as a row (polars reads it
//! as a row of nulls); lines and columns are 1-based, as an editor shows them.

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;

use crate::error::IngestError;

/// gzip and zstd magic numbers: compressed files are not checked here.
fn is_compressed(head: &[u8]) -> bool {
    head.starts_with(&[0x1f, 0x8b]) || head.starts_with(&[0x28, 0xb5, 0x2f, 0xfd])
}

fn malformed(path: &Path, at: String, detail: String) -> IngestError {
    IngestError::Malformed {
        path: path.to_path_buf(),
        at,
        detail,
    }
}

/// Tokenizer state for [`check_csv`].
struct Csv<'a> {
    path: &'a Path,
    delimiter: u8,
    has_header: bool,
    check_utf8: bool,
    /// 1-based line of the current byte.
    line: u64,
    /// Line the current record started on.
    record_line: u64,
    /// Records seen so far (the header included).
    records: u64,
    field: Vec<u8>,
    /// Fields completed in the current record.
    fields: usize,
    /// Whether the current record has any byte at all (blank lines are skipped).
    started: bool,
    in_quotes: bool,
    quote_pending: bool,
    quote_line: u64,
    header: Vec<String>,
    expected: Option<usize>,
}

impl Csv<'_> {
    fn row_at(&self) -> String {
        let data_row = if self.has_header {
            self.records.checked_sub(1)
        } else {
            Some(self.records)
        };
        match data_row {
            None => format!("header (line {})", self.record_line),
            Some(r) => format!("row {r} (line {})", self.record_line),
        }
    }

    fn column_at(&self, index: usize) -> String {
        match self.header.get(index) {
            Some(name) if self.records > 0 => format!("column {} '{name}'", index + 1),
            _ => format!("column {}", index + 1),
        }
    }

    fn end_field(&mut self) -> Result<(), IngestError> {
        if (self.check_utf8 || (self.has_header && self.records == 0))
            && let Err(e) = std::str::from_utf8(&self.field)
        {
            return Err(malformed(
                self.path,
                format!("{}, {}", self.row_at(), self.column_at(self.fields)),
                format!(
                    "byte {} of the field is not valid UTF-8 (save the file as UTF-8)",
                    e.valid_up_to() + 1
                ),
            ));
        }
        if self.has_header && self.records == 0 {
            let name = String::from_utf8_lossy(&self.field).into_owned();
            if let Some(first) = self.header.iter().position(|h| *h == name) {
                return Err(malformed(
                    self.path,
                    format!("header (line {})", self.record_line),
                    format!(
                        "column name '{name}' is used twice (columns {} and {})",
                        first + 1,
                        self.fields + 1
                    ),
                ));
            }
            self.header.push(name);
        }
        self.fields += 1;
        self.field.clear();
        Ok(())
    }

    fn end_record(&mut self) -> Result<(), IngestError> {
        if !self.started {
            return Ok(());
        }
        self.end_field()?;
        match self.expected {
            None => self.expected = Some(self.fields),
            Some(n) if n != self.fields => {
                let what = if self.has_header {
                    "the header has"
                } else {
                    "the first row has"
                };
                return Err(malformed(
                    self.path,
                    self.row_at(),
                    format!("{} fields but {what} {n}", self.fields),
                ));
            }
            Some(_) => {}
        }
        self.records += 1;
        self.fields = 0;
        self.started = false;
        Ok(())
    }

    fn byte(&mut self, b: u8) -> Result<(), IngestError> {
        if !self.started {
            if b == b'\n' {
                // Polars reads a blank line after the first record as a row of nulls:
                // count it, so row numbers agree with the rows datavet reports.
                if self.records > 0 {
                    self.records += 1;
                }
                self.line += 1;
                return Ok(());
            }
            if b == b'\r' {
                return Ok(());
            }
            self.started = true;
            self.record_line = self.line;
        }
        if self.in_quotes {
            if self.quote_pending {
                self.quote_pending = false;
                if b == b'"' {
                    self.field.push(b);
                    return Ok(());
                }
                self.in_quotes = false;
            } else {
                if b == b'"' {
                    self.quote_pending = true;
                } else {
                    if b == b'\n' {
                        self.line += 1;
                    }
                    self.field.push(b);
                }
                return Ok(());
            }
        }
        match b {
            b'"' if self.field.is_empty() => {
                self.in_quotes = true;
                self.quote_line = self.line;
            }
            b'\n' => {
                self.end_record()?;
                self.line += 1;
            }
            b'\r' => {}
            _ if b == self.delimiter => self.end_field()?,
            _ => self.field.push(b),
        }
        Ok(())
    }

    fn finish(&mut self) -> Result<(), IngestError> {
        if self.in_quotes && !self.quote_pending {
            return Err(malformed(
                self.path,
                format!("{}, {}", self.row_at(), self.column_at(self.fields)),
                format!(
                    "the quoted field opened on line {} is never closed",
                    self.quote_line
                ),
            ));
        }
        self.in_quotes = false;
        self.end_record()
    }
}

/// Check a plain CSV/TSV file's structure; `Ok(())` when it is fine, was compressed
/// (not checked) or could not be opened (the reader reports that). With `check_utf8`
/// every field's bytes are checked too, so call it that way once a reader has failed.
pub(crate) fn check_csv(
    path: &Path,
    delimiter: u8,
    has_header: bool,
    check_utf8: bool,
) -> Result<(), IngestError> {
    let Ok(file) = File::open(path) else {
        return Ok(());
    };
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut state = Csv {
        path,
        delimiter,
        has_header,
        check_utf8,
        line: 1,
        record_line: 1,
        records: 0,
        field: Vec::new(),
        fields: 0,
        started: false,
        in_quotes: false,
        quote_pending: false,
        quote_line: 1,
        header: Vec::new(),
        expected: None,
    };
    let mut first = true;
    loop {
        let buf = match reader.fill_buf() {
            Ok([]) => break,
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(_) => return Ok(()),
        };
        let total = buf.len();
        let mut chunk = buf;
        if first {
            if is_compressed(chunk) {
                return Ok(());
            }
            chunk = chunk.strip_prefix(b"\xef\xbb\xbf").unwrap_or(chunk);
            first = false;
        }
        for &b in chunk {
            state.byte(b)?;
        }
        reader.consume(total);
    }
    state.finish()
}

/// The first line of a JSON Lines file that is not a JSON object, as an error; `None`
/// when every line parses (or the file cannot be read: the reader reports that).
pub(crate) fn jsonl_problem(path: &Path) -> Option<IngestError> {
    let file = File::open(path).ok()?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut head = [0u8; 4];
    let n = reader.get_mut().read(&mut head).ok()?;
    if is_compressed(&head[..n]) {
        return None;
    }
    let file = File::open(path).ok()?;
    let mut reader = BufReader::with_capacity(1 << 20, file);
    let mut line = Vec::new();
    let mut number = 0u64;
    loop {
        line.clear();
        match reader.read_until(b'\n', &mut line) {
            Ok(0) => return None,
            Ok(_) => {}
            Err(_) => return None,
        }
        number += 1;
        let text = line.strip_prefix(b"\xef\xbb\xbf").unwrap_or(&line);
        if text.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<serde_json::Value>(text) {
            Ok(serde_json::Value::Object(_)) => {}
            Ok(other) => {
                let kind = match other {
                    serde_json::Value::Array(_) => "an array",
                    serde_json::Value::String(_) => "a string",
                    serde_json::Value::Number(_) => "a number",
                    serde_json::Value::Bool(_) => "a boolean",
                    _ => "null",
                };
                return Some(malformed(
                    path,
                    format!("line {number}"),
                    format!("expected a JSON object, found {kind}"),
                ));
            }
            Err(e) => {
                let msg = e.to_string();
                let msg = match msg.find(" at line ") {
                    Some(at) => msg[..at].to_string(),
                    None => msg,
                };
                return Some(malformed(
                    path,
                    format!("line {number}, column {}", e.column()),
                    msg,
                ));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn csv(text: &[u8], utf8: bool) -> Option<String> {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("t.csv");
        std::fs::write(&p, text).unwrap();
        check_csv(&p, b',', true, utf8).err().map(|e| e.to_string())
    }

    #[test]
    fn good_csv_passes() {
        let ok: &[u8] = b"\xef\xbb\xbfa,b\r\n1,\"x,\"\"y\"\"\nz\"\r\n\n2,\r\n3,4";
        assert_eq!(csv(ok, true), None);
        assert_eq!(csv(b"", true), None);
        assert_eq!(csv(b"a,b\n", true), None);
    }

    #[test]
    fn problems_are_located() {
        let e = csv(b"a,b,c\n1,2,3\n\"x\ny\",2,3\n4,5\n", false).unwrap();
        assert!(
            e.contains("row 2 (line 5)") && e.contains("2 fields but the header has 3"),
            "{e}"
        );
        let e = csv(b"a,b\n1,2\n\n3\n", false).unwrap();
        assert!(e.contains("row 2 (line 4)"), "{e}");
        let e = csv(b"a,b\n1,2,3\n", false).unwrap();
        assert!(e.contains("row 0 (line 2)"), "{e}");
        let e = csv(b"a,b,a\n1,2,3\n", false).unwrap();
        assert!(e.contains("'a' is used twice (columns 1 and 3)"), "{e}");
        let e = csv(b"a,b\n1,2\n3,\xff\xfe\n", true).unwrap();
        assert!(
            e.contains("row 1 (line 3), column 2 'b'") && e.contains("UTF-8"),
            "{e}"
        );
        assert_eq!(csv(b"a,b\n1,2\n3,\xff\xfe\n", false), None);
        let e = csv(b"a,b\n1,\"open\n2,3\n", false).unwrap();
        assert!(e.contains("opened on line 2 is never closed"), "{e}");
    }

    #[test]
    fn jsonl_lines_are_located() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("t.jsonl");
        std::fs::write(&p, "{\"a\":1}\n\n{\"a\":2\n").unwrap();
        let e = jsonl_problem(&p).unwrap().to_string();
        assert!(e.contains("line 3, column"), "{e}");
        std::fs::write(&p, "{\"a\":1}\n[1]\n").unwrap();
        let e = jsonl_problem(&p).unwrap().to_string();
        assert!(e.contains("line 2") && e.contains("an array"), "{e}");
        std::fs::write(&p, "{\"a\":1}\n").unwrap();
        assert!(jsonl_problem(&p).is_none());
    }
}
