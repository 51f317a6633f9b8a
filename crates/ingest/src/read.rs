//! Reading files into polars data frames, and whole datasets into one frame.
//!
//! CSV/TSV: a header row by default, `"`-quoted fields (with `""` escapes and embedded
//! newlines), `\n` or `\r\n` line ends, a UTF-8 byte-order mark is dropped, empty
//! fields are null, gzip/zstd compression is detected from the bytes. Column types are
//! inferred from the first [`ReadOptions::infer_schema_rows`] rows; if a later value
//! does not fit the inferred type the file is read again inferring from every row, so a
//! mixed column becomes a string column instead of failing. A row with more or fewer
//! fields than the header, a repeated column name, a quote that never closes and bytes
//! that are not UTF-8 are errors that name the row, line and column (`diagnose.rs`);
//! so is a JSON Lines line that is not a JSON object.

use std::fs::File;
use std::num::NonZeroUsize;
use std::panic::AssertUnwindSafe;
use std::path::PathBuf;
use std::sync::atomic::{AtomicUsize, Ordering};

use polars::prelude::*;
use rayon::prelude::*;

use crate::diagnose;
use crate::error::{IngestError, Result};
use crate::format::Format;
use crate::source::{ResolveOptions, SourceFile, resolve};

/// How to read tabular files.
#[derive(Debug, Clone)]
pub struct ReadOptions {
    /// CSV/TSV files start with a header row (default `true`). Without one, columns
    /// are named `column_1`, `column_2`, ….
    pub has_header: bool,
    /// Delimiter overriding the one implied by the extension (CSV/TSV only).
    pub delimiter: Option<u8>,
    /// Rows used to infer column types of CSV/TSV and JSON Lines (default 10 000).
    pub infer_schema_rows: usize,
}

impl Default for ReadOptions {
    fn default() -> Self {
        ReadOptions {
            has_header: true,
            delimiter: None,
            infer_schema_rows: 10_000,
        }
    }
}

/// Reads in progress inside [`read_table`]'s panic guard.
static GUARDED_READS: AtomicUsize = AtomicUsize::new(0);

/// Whether a table read is in progress under the panic guard: a panic hook can stay
/// quiet then, as the panic becomes an ordinary [`IngestError::Read`].
pub fn reading_under_guard() -> bool {
    GUARDED_READS.load(Ordering::SeqCst) > 0
}

/// Read one file into a data frame.
///
/// Polars panics on some malformed input (e.g. a JSON Lines integer beyond 64 bits);
/// such a panic is caught here and returned as [`IngestError::Read`].
pub fn read_table(file: &SourceFile, opts: &ReadOptions) -> Result<DataFrame> {
    GUARDED_READS.fetch_add(1, Ordering::SeqCst);
    let result = std::panic::catch_unwind(AssertUnwindSafe(|| read_table_unguarded(file, opts)));
    GUARDED_READS.fetch_sub(1, Ordering::SeqCst);
    result.unwrap_or_else(|panic| {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_default();
        Err(IngestError::Read {
            path: file.path.clone(),
            source: PolarsError::ComputeError(
                format!("the reader gave up on malformed input: {what}").into(),
            ),
        })
    })
}

fn read_table_unguarded(file: &SourceFile, opts: &ReadOptions) -> Result<DataFrame> {
    let format = match opts.delimiter {
        Some(d) => file.format.with_delimiter(d),
        None => file.format,
    };
    let err = |source| IngestError::Read {
        path: file.path.clone(),
        source,
    };
    let mut df = match format {
        Format::Csv { delimiter, .. } => {
            let df = match read_csv(file, delimiter, opts, Some(opts.infer_schema_rows.max(1))) {
                Ok(df) => df,
                // A value later in the file did not fit the inferred type: infer from
                // every row instead.
                Err(IngestError::Read { .. }) => match read_csv(file, delimiter, opts, None) {
                    Ok(df) => df,
                    Err(e @ IngestError::Read { .. }) => {
                        diagnose::check_csv(&file.path, delimiter, opts.has_header, true)?;
                        return Err(e);
                    }
                    Err(e) => return Err(e),
                },
                Err(e) => return Err(e),
            };
            // Polars pads a row with too few fields with nulls and renames a repeated
            // column name to `name_duplicated_N` (and reads a header that is not UTF-8
            // lossily): refuse these, saying where. A short
            // row always leaves the last column null, so clean files cost no extra pass.
            let last_has_nulls = df.columns().last().is_some_and(|c| c.null_count() > 0);
            let renamed = df
                .get_column_names()
                .iter()
                .any(|n| n.contains("_duplicated_") || n.contains('\u{fffd}'));
            if last_has_nulls || renamed {
                diagnose::check_csv(&file.path, delimiter, opts.has_header, false)?;
            }
            df
        }
        Format::Parquet => ParquetReader::new(open(file)?).finish().map_err(err)?,
        Format::Ipc => IpcReader::new(open(file)?).finish().map_err(err)?,
        // An empty JSON Lines file is an empty table (polars cannot infer a schema).
        Format::JsonLines if is_empty_file(file)? => DataFrame::empty(),
        Format::JsonLines => {
            let rows = NonZeroUsize::new(opts.infer_schema_rows.max(1));
            match read_jsonl(file, rows) {
                Ok(df) => df,
                Err(IngestError::Read { .. }) => match read_jsonl(file, None) {
                    Ok(df) => df,
                    Err(e @ IngestError::Read { .. }) => {
                        return Err(diagnose::jsonl_problem(&file.path).unwrap_or(e));
                    }
                    Err(e) => return Err(e),
                },
                Err(e) => return Err(e),
            }
        }
    };
    strip_bom(&mut df).map_err(err)?;
    Ok(df)
}

fn is_empty_file(file: &SourceFile) -> Result<bool> {
    let meta = std::fs::metadata(&file.path).map_err(|e| IngestError::io("stat", &file.path, e))?;
    Ok(meta.len() == 0)
}

fn open(file: &SourceFile) -> Result<File> {
    File::open(&file.path).map_err(|e| IngestError::io("open", &file.path, e))
}

fn read_csv(
    file: &SourceFile,
    delimiter: u8,
    opts: &ReadOptions,
    infer: Option<usize>,
) -> Result<DataFrame> {
    let handle = open(file)?;
    CsvReadOptions::default()
        .with_has_header(opts.has_header)
        .with_infer_schema_length(infer)
        .with_rechunk(true)
        .with_raise_if_empty(false)
        .map_parse_options(|p| p.with_separator(delimiter))
        .into_reader_with_file_handle(handle)
        .finish()
        .map_err(|source| IngestError::Read {
            path: file.path.clone(),
            source,
        })
}

fn read_jsonl(file: &SourceFile, infer: Option<NonZeroUsize>) -> Result<DataFrame> {
    JsonReader::new(open(file)?)
        .with_json_format(JsonFormat::JsonLines)
        .infer_schema_len(infer)
        .finish()
        .map_err(|source| IngestError::Read {
            path: file.path.clone(),
            source,
        })
}

/// Drop a UTF-8 byte-order mark that a reader left at the start of the first column
/// name.
fn strip_bom(df: &mut DataFrame) -> PolarsResult<()> {
    let Some(first) = df.columns().first().map(|c| c.name().clone()) else {
        return Ok(());
    };
    if let Some(stripped) = first.strip_prefix('\u{feff}') {
        let stripped = PlSmallStr::from_str(stripped);
        df.rename(first.as_str(), stripped)?;
    }
    Ok(())
}

/// A dataset: one or more files with one schema, read into a single frame.
///
/// Rows are in sorted file order (by relative path), then in each file's row order;
/// `file_rows[i]` rows came from `files[i]`.
#[derive(Debug, Clone)]
pub struct Dataset {
    /// The files, sorted by relative path.
    pub files: Vec<SourceFile>,
    /// All rows of all files.
    pub frame: DataFrame,
    /// Number of rows read from each file, parallel to `files`.
    pub file_rows: Vec<usize>,
    /// Size and times of each file before it was read, for [`Dataset::check_unchanged`].
    stamps: Vec<crate::hash::Stamp>,
}

impl Dataset {
    /// Resolve `inputs` (files, folders, globs) and read them into one frame.
    pub fn load(inputs: &[PathBuf], opts: &ReadOptions) -> Result<Dataset> {
        Dataset::from_files(Dataset::resolve(inputs, opts)?, opts)
    }

    /// The files [`Dataset::load`] would read for `inputs`, in its order, without
    /// reading them (e.g. to size them up first).
    pub fn resolve(inputs: &[PathBuf], opts: &ReadOptions) -> Result<Vec<SourceFile>> {
        let resolve_opts = ResolveOptions {
            delimiter: opts.delimiter,
            ..ResolveOptions::default()
        };
        Ok(resolve(inputs, &resolve_opts)?.files)
    }

    /// Read already-resolved files (in the given order) into one frame. Every file
    /// must have the same column names and types in the same order.
    pub fn from_files(files: Vec<SourceFile>, opts: &ReadOptions) -> Result<Dataset> {
        let frames: Vec<Result<(crate::hash::Stamp, DataFrame)>> = files
            .par_iter()
            .map(|f| Ok((crate::hash::stamp_path(&f.path)?, read_table(f, opts)?)))
            .collect();
        let mut stamps = Vec::with_capacity(files.len());
        let mut frames = frames.into_iter().map(|r| {
            r.map(|(stamp, df)| {
                stamps.push(stamp);
                df
            })
        });
        let mut frame = match frames.next() {
            Some(first) => first?,
            None => DataFrame::empty(),
        };
        let mut file_rows = vec![frame.height()];
        for (i, next) in frames.enumerate() {
            let next = next?;
            let other = &files[i + 1];
            if let Some(detail) = schema_difference(frame.schema(), next.schema()) {
                return Err(IngestError::SchemaMismatch {
                    first: files[0].rel.clone(),
                    other: other.rel.clone(),
                    detail,
                });
            }
            file_rows.push(next.height());
            frame
                .vstack_mut_owned(next)
                .map_err(|source| IngestError::Concat {
                    path: other.rel.clone(),
                    source,
                })?;
        }
        if files.len() > 1 {
            frame.rechunk_mut_par();
        }
        if files.is_empty() {
            file_rows.clear();
        }
        Ok(Dataset {
            files,
            frame,
            file_rows,
            stamps,
        })
    }

    /// Fail with [`IngestError::ChangedWhileReading`] if any file's size, modification
    /// time or change time differs from when it was read. Call it after hashing the
    /// files, so a digest is never reported for bytes other than the rows read.
    pub fn check_unchanged(&self) -> Result<()> {
        for (file, then) in self.files.iter().zip(&self.stamps) {
            if crate::hash::stamp_path(&file.path)? != *then {
                return Err(IngestError::ChangedWhileReading {
                    path: file.path.clone(),
                });
            }
        }
        Ok(())
    }

    /// Total number of rows.
    pub fn n_rows(&self) -> usize {
        self.frame.height()
    }

    /// The file a dataset row came from and its row index within that file.
    pub fn locate(&self, row: usize) -> Option<(&SourceFile, usize)> {
        let mut start = 0;
        for (file, &n) in self.files.iter().zip(&self.file_rows) {
            if row < start + n {
                return Some((file, row - start));
            }
            start += n;
        }
        None
    }
}

/// How two schemas differ, in words, or `None` when they are equal.
pub(crate) fn schema_difference(a: &Schema, b: &Schema) -> Option<String> {
    for (i, ((na, ta), (nb, tb))) in a.iter().zip(b.iter()).enumerate() {
        if na != nb {
            return Some(format!(
                "column {} is '{na}' in the first and '{nb}' in the other",
                i + 1
            ));
        }
        if ta != tb {
            return Some(format!(
                "column '{na}' is {ta} in the first and {tb} in the other"
            ));
        }
    }
    if a.len() != b.len() {
        return Some(format!(
            "the first has {} columns, the other {}",
            a.len(),
            b.len()
        ));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs;
    use std::path::Path;

    fn src(path: &Path) -> SourceFile {
        SourceFile {
            path: path.to_path_buf(),
            rel: path.file_name().unwrap().to_string_lossy().into_owned(),
            format: Format::from_path(path).unwrap(),
        }
    }

    fn read(path: &Path) -> DataFrame {
        read_table(&src(path), &ReadOptions::default()).unwrap()
    }

    fn strings(df: &DataFrame, col: &str) -> Vec<Option<String>> {
        let c = df.column(col).unwrap().str().unwrap();
        c.iter().map(|v| v.map(str::to_string)).collect()
    }

    fn sample() -> DataFrame {
        df!(
            "id" => [1i64, 2, 3],
            "x" => [0.5f64, -1.25, 3.0],
            "label" => ["a", "b", "a"],
        )
        .unwrap()
    }

    #[test]
    fn csv_with_bom_crlf_and_quotes() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("t.csv");
        fs::write(
            &p,
            b"\xef\xbb\xbfid,text,x\r\n1,\"a, b\",0.5\r\n2,\"say \"\"hi\"\"\",\r\n3,\"two\nlines\",2\r\n",
        )
        .unwrap();
        let df = read(&p);
        assert_eq!(df.get_column_names(), ["id", "text", "x"]);
        assert_eq!(df.height(), 3);
        assert_eq!(df.column("id").unwrap().dtype(), &DataType::Int64);
        assert_eq!(
            strings(&df, "text"),
            [
                Some("a, b".into()),
                Some("say \"hi\"".into()),
                Some("two\nlines".into())
            ]
        );
        let x = df.column("x").unwrap().f64().unwrap().clone();
        assert_eq!(x.get(0), Some(0.5));
        assert_eq!(x.get(1), None);
        assert_eq!(x.get(2), Some(2.0));
    }

    #[test]
    fn empty_csv_is_an_empty_frame() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("empty.csv");
        fs::write(&p, "").unwrap();
        assert_eq!(read(&p).shape(), (0, 0));
        fs::write(&p, "a,b\n").unwrap();
        assert_eq!(read(&p).shape(), (0, 2));
    }

    #[test]
    fn csv_without_header_and_delimiter_override() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("t.csv");
        fs::write(&p, "1;a\n2;b\n").unwrap();
        let opts = ReadOptions {
            has_header: false,
            delimiter: Some(b';'),
            ..Default::default()
        };
        let df = read_table(&src(&p), &opts).unwrap();
        assert_eq!(df.shape(), (2, 2));
        assert_eq!(df.get_column_names(), ["column_1", "column_2"]);
    }

    #[test]
    fn mixed_column_after_inference_window_becomes_string() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("t.csv");
        let mut text = String::from("a,b\n");
        for i in 0..50 {
            text.push_str(&format!("{i},{i}\n"));
        }
        text.push_str("oops,7\n");
        fs::write(&p, text).unwrap();
        let opts = ReadOptions {
            infer_schema_rows: 10,
            ..Default::default()
        };
        let df = read_table(&src(&p), &opts).unwrap();
        assert_eq!(df.height(), 51);
        assert_eq!(df.column("a").unwrap().dtype(), &DataType::String);
        assert_eq!(df.column("b").unwrap().dtype(), &DataType::Int64);
    }

    #[test]
    fn tsv_parquet_jsonl_ipc_read_the_same_rows() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        fs::write(
            d.join("t.tsv"),
            "id\tx\tlabel\n1\t0.5\ta\n2\t-1.25\tb\n3\t3.0\ta\n",
        )
        .unwrap();
        fs::write(
            d.join("t.jsonl"),
            "{\"id\":1,\"x\":0.5,\"label\":\"a\"}\n{\"id\":2,\"x\":-1.25,\"label\":\"b\"}\n\
             {\"id\":3,\"x\":3.0,\"label\":\"a\"}\n",
        )
        .unwrap();
        let mut df = sample();
        ParquetWriter::new(File::create(d.join("t.parquet")).unwrap())
            .finish(&mut df)
            .unwrap();
        IpcWriter::new(File::create(d.join("t.arrow")).unwrap())
            .finish(&mut df)
            .unwrap();
        for name in ["t.tsv", "t.jsonl", "t.parquet", "t.arrow"] {
            let got = read(&d.join(name));
            assert!(got.equals_missing(&df), "{name}: {got}");
        }
    }

    #[test]
    fn gzip_csv() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("t.csv.gz");
        // `printf 'a,b\n1,x\n2,y\n' | gzip -n`
        let gz: &[u8] = &[
            0x1f, 0x8b, 0x08, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x03, 0x4b, 0xd4, 0x49, 0xe2,
            0x32, 0xd4, 0xa9, 0xe0, 0x32, 0xd2, 0xa9, 0xe4, 0x02, 0x00, 0xc2, 0x96, 0x7e, 0x9d,
            0x0c, 0x00, 0x00, 0x00,
        ];
        fs::write(&p, gz).unwrap();
        let df = read(&p);
        assert_eq!(df.shape(), (2, 2));
        assert_eq!(strings(&df, "b"), [Some("x".into()), Some("y".into())]);
    }

    #[test]
    fn bad_input_is_an_error_naming_the_file() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("broken.parquet");
        fs::write(&p, "not parquet").unwrap();
        let err = read_table(&src(&p), &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("broken.parquet"), "{err}");
        let p = tmp.path().join("broken.jsonl");
        fs::write(&p, "{\"a\": 1}\n{oops\n").unwrap();
        let err = read_table(&src(&p), &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().starts_with("failed to read"), "{err}");
    }

    /// Found while fuzzing (`fuzz/`, docs/fuzzing.md): polars panics on these JSON
    /// Lines files; datavet must return an error instead. The first: inferring the type
    /// of an integer beyond 64 bits.
    #[test]
    fn polars_panics_on_json_lines_are_errors() {
        // The second: polars slices past the end of the file when the line at 75% of
        // it is the last one and ends in `}\n` (polars-io ndjson `get_line_stats_json`).
        for name in [
            "jsonl-integer-beyond-64-bits.jsonl",
            "jsonl-line-stats-out-of-bounds.jsonl",
        ] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../../fixtures/fuzz-regressions")
                .join(name);
            for infer_schema_rows in [1, 10_000] {
                let opts = ReadOptions {
                    infer_schema_rows,
                    ..Default::default()
                };
                let err = read_table(&src(&path), &opts).unwrap_err();
                let msg = format!("{err}: {}", std::error::Error::source(&err).unwrap());
                assert!(msg.contains(name), "{msg}");
                assert!(msg.contains("malformed input"), "{msg}");
            }
        }
    }

    #[test]
    fn dataset_concatenates_in_sorted_order() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        fs::create_dir(d.join("shards")).unwrap();
        fs::write(d.join("shards/b.csv"), "id,v\n3,c\n").unwrap();
        fs::write(d.join("shards/a.csv"), "id,v\n1,a\n2,b\n").unwrap();
        let ds = Dataset::load(&[d.join("shards")], &ReadOptions::default()).unwrap();
        assert_eq!(ds.file_rows, [2, 1]);
        assert_eq!(ds.n_rows(), 3);
        assert_eq!(
            strings(&ds.frame, "v"),
            [Some("a".into()), Some("b".into()), Some("c".into())]
        );
        let (f, local) = ds.locate(2).unwrap();
        assert_eq!((f.rel.as_str(), local), ("b.csv", 0));
        assert!(ds.locate(3).is_none());
    }

    #[test]
    fn dataset_notices_a_file_changed_after_reading() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("a.csv");
        fs::write(&p, "id,v\n1,a\n").unwrap();
        let ds = Dataset::load(std::slice::from_ref(&p), &ReadOptions::default()).unwrap();
        ds.check_unchanged().unwrap();
        fs::write(&p, "id,v\n1,a\n2,b\n").unwrap();
        let err = ds.check_unchanged().unwrap_err();
        assert!(
            matches!(err, IngestError::ChangedWhileReading { .. }),
            "{err}"
        );
    }

    #[test]
    fn malformed_csv_and_jsonl_errors_say_where() {
        let tmp = tempfile::tempdir().unwrap();
        let p = tmp.path().join("r.csv");
        fs::write(&p, "a,b,c\n1,2,3\n4,5\n").unwrap();
        let err = read_table(&src(&p), &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("r.csv: row 1 (line 3)"), "{err}");
        fs::write(&p, b"a,b\n1,x\n2,\xe9t\xe9\n").unwrap();
        let err = read_table(&src(&p), &ReadOptions::default()).unwrap_err();
        assert!(
            err.to_string().contains("row 1 (line 3), column 2 'b'"),
            "{err}"
        );
        fs::write(&p, b"a,t\xeate\n1,2\n3,4\n").unwrap();
        let err = read_table(&src(&p), &ReadOptions::default()).unwrap_err();
        assert!(
            err.to_string().contains("header (line 1), column 2"),
            "{err}"
        );
        fs::write(&p, "a,b,a\n1,2,3\n").unwrap();
        let err = read_table(&src(&p), &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("'a' is used twice"), "{err}");
        // Short rows (which polars pads with nulls) are refused; a null last cell is not.
        fs::write(&p, "a,b,c\n1,2,3\n4,5\n").unwrap();
        let err = read_table(&src(&p), &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("row 1 (line 3)"), "{err}");
        fs::write(&p, "a,b,c\n1,2,3\n4,5,\n").unwrap();
        assert_eq!(
            read_table(&src(&p), &ReadOptions::default())
                .unwrap()
                .height(),
            2
        );
        let p = tmp.path().join("j.jsonl");
        fs::write(&p, "{\"a\":1}\n{\"a\":2}\n{oops\n").unwrap();
        let err = read_table(&src(&p), &ReadOptions::default()).unwrap_err();
        assert!(
            err.to_string().contains("j.jsonl: line 3, column 2"),
            "{err}"
        );
    }

    #[test]
    fn dataset_schema_mismatch_names_both_files() {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path();
        fs::write(d.join("a.csv"), "id,v\n1,a\n").unwrap();
        fs::write(d.join("b.csv"), "id,w\n1,a\n").unwrap();
        let err = Dataset::load(&[d.to_path_buf()], &ReadOptions::default()).unwrap_err();
        let msg = err.to_string();
        assert!(
            msg.contains("a.csv") && msg.contains("b.csv") && msg.contains("'w'"),
            "{msg}"
        );
        fs::write(d.join("b.csv"), "id,v\nx,a\n").unwrap();
        let err = Dataset::load(&[d.to_path_buf()], &ReadOptions::default()).unwrap_err();
        assert!(err.to_string().contains("column 'id'"), "{err}");
    }
}
