//! The scan's feature building: bytes → a DataFrame of arbitrary shape →
//! `FeatureParams::build` with a label (and sometimes an id) column.
//!
//! The first byte picks the mode:
//! - even: a frame is generated from the bytes — 0..64 rows, 1..8 columns of integer,
//!   float (with NaN, ±inf, ±1e308, subnormals), boolean, string (numbers-as-text,
//!   `nan`, blanks), categorical, date/datetime/duration, list and fixed-size array
//!   (embeddings), all-null columns; any value may be null;
//! - odd: the rest is a CSV file read through the ingest reader, as `datavet scan`
//!   does, with the last column as the label.
//!
//! Properties beyond "no panic": the matrix has one row per table row, one column
//! per feature, and only finite values (detectors rely on it); labels and ids have one
//! entry per row; `non_finite_report` has one score per row.
#![no_main]

use std::path::Path;
use std::sync::OnceLock;

use datavet_detect::FeatureParams;
use datavet_ingest::{Format, ReadOptions, SourceFile, read_table};
use libfuzzer_sys::fuzz_target;
use polars::prelude::*;

struct Bytes<'a>(&'a [u8]);

impl Bytes<'_> {
    fn byte(&mut self) -> u8 {
        match self.0.split_first() {
            Some((&b, rest)) => {
                self.0 = rest;
                b
            }
            None => 0,
        }
    }
    fn below(&mut self, n: usize) -> usize {
        self.byte() as usize % n.max(1)
    }
    fn u64(&mut self) -> u64 {
        (0..8).fold(0, |acc, _| (acc << 8) | self.byte() as u64)
    }
    fn null(&mut self) -> bool {
        self.byte() < 24
    }
    fn float(&mut self) -> f64 {
        match self.byte() % 16 {
            0 => f64::NAN,
            1 => f64::INFINITY,
            2 => f64::NEG_INFINITY,
            3 => f64::MAX,
            4 => -f64::MAX,
            5 => 1e308,
            6 => -1e308,
            7 => f64::MIN_POSITIVE / 4.0,
            8 => -0.0,
            9 => f64::from_bits(self.u64()),
            b => (self.byte() as f64 - 128.0) / f64::from(b),
        }
    }
    fn text(&mut self) -> String {
        const WORDS: [&str; 12] = [
            "", "a", "b", "cat", "dog", "nan", "inf", "-inf", "1e400", " 3 ", "0x10", "é",
        ];
        match self.byte() % 4 {
            0 => self.float().to_string(),
            1 => (self.byte() as i64 - 100).to_string(),
            _ => WORDS[self.below(WORDS.len())].to_string(),
        }
    }
}

fn opt<T>(b: &mut Bytes<'_>, f: impl FnOnce(&mut Bytes<'_>) -> T) -> Option<T> {
    if b.null() { None } else { Some(f(b)) }
}

fn column(b: &mut Bytes<'_>, name: &str, n: usize) -> Column {
    let name = PlSmallStr::from_str(name);
    let kind = b.below(12);
    let s = match kind {
        0 => {
            let v: Vec<Option<i64>> = (0..n)
                .map(|_| {
                    opt(b, |b| match b.byte() % 4 {
                        0 => i64::MAX,
                        1 => i64::MIN,
                        _ => b.byte() as i64 - 128,
                    })
                })
                .collect();
            Series::new(name, v)
        }
        1 => {
            let v: Vec<Option<f64>> = (0..n).map(|_| opt(b, |b| b.float())).collect();
            Series::new(name, v)
        }
        2 => {
            let v: Vec<Option<bool>> = (0..n).map(|_| opt(b, |b| b.byte() & 1 == 1)).collect();
            Series::new(name, v)
        }
        3 | 4 => {
            let v: Vec<Option<String>> = (0..n).map(|_| opt(b, |b| b.text())).collect();
            Series::new(name, v)
        }
        5 => {
            let v: Vec<Option<String>> = (0..n).map(|_| opt(b, |b| b.text())).collect();
            let s = Series::new(name, v);
            let cat = DataType::from_categories(Categories::global());
            s.cast(&cat).unwrap_or(s)
        }
        6 => {
            let v: Vec<Option<i8>> = (0..n).map(|_| opt(b, |b| b.byte() as i8)).collect();
            Series::new(name, v)
        }
        7 => {
            let v: Vec<Option<i64>> = (0..n)
                .map(|_| opt(b, |b| b.u64() as i64 >> b.below(64)))
                .collect();
            let dtype = match b.below(3) {
                0 => DataType::Date,
                1 => DataType::Datetime(TimeUnit::Milliseconds, None),
                _ => DataType::Duration(TimeUnit::Microseconds),
            };
            let s = Series::new(name, v);
            s.cast(&dtype).unwrap_or(s)
        }
        8 | 9 => {
            let fixed = kind == 9;
            let dim = b.below(5);
            let v: Vec<Option<Series>> = (0..n)
                .map(|_| {
                    opt(b, |b| {
                        let len = if fixed { dim } else { b.below(5) };
                        let xs: Vec<Option<f64>> =
                            (0..len).map(|_| opt(b, |b| b.float())).collect();
                        Series::new(PlSmallStr::EMPTY, xs)
                    })
                })
                .collect();
            let s = Series::new(name, v);
            if fixed {
                let arr = DataType::Array(Box::new(DataType::Float64), dim);
                s.cast(&arr).unwrap_or(s)
            } else {
                s
            }
        }
        10 => Series::full_null(name, n, &DataType::Null),
        _ => {
            let v: Vec<Option<u8>> = (0..n).map(|_| opt(b, |b| b.byte() % 3)).collect();
            Series::new(name, v)
        }
    };
    s.into()
}

fn generated(b: &mut Bytes<'_>) -> Option<(DataFrame, Option<String>, Option<String>)> {
    let n = b.below(65);
    let n_cols = 1 + b.below(8);
    let columns: Vec<Column> = (0..n_cols)
        .map(|j| column(b, &format!("c{j}"), n))
        .collect();
    let df = DataFrame::new(n, columns).ok()?;
    let pick = |b: &mut Bytes<'_>| match b.below(n_cols + 2) {
        j if j < n_cols => Some(format!("c{j}")),
        j if j == n_cols => Some("absent".to_string()),
        _ => None,
    };
    let label = pick(b);
    let id = if b.byte() & 1 == 1 { pick(b) } else { None };
    Some((df, label, id))
}

fn csv(body: &[u8]) -> Option<(DataFrame, Option<String>, Option<String>)> {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let dir = DIR.get_or_init(|| {
        let shm = Path::new("/dev/shm");
        let base = if shm.is_dir() { shm } else { Path::new("/tmp") };
        tempfile::Builder::new()
            .prefix("datavet-fuzz-features")
            .tempdir_in(base)
            .expect("temp dir")
    });
    let path = dir.path().join("in.csv");
    std::fs::write(&path, body).expect("write input");
    let file = SourceFile {
        path,
        rel: "in.csv".to_string(),
        format: Format::CSV,
    };
    let df = read_table(&file, &ReadOptions::default()).ok()?;
    let label = df.columns().last().map(|c| c.name().to_string());
    Some((df, label, None))
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
    let Some((&sel, rest)) = data.split_first() else {
        return;
    };
    let mut b = Bytes(rest);
    let made = if sel & 1 == 0 {
        generated(&mut b)
    } else {
        csv(rest)
    };
    let Some((df, label, id)) = made else {
        return;
    };
    let levels = 2 + (sel as usize >> 1) % 24;
    let Ok(params) = FeatureParams::default()
        .label(label)
        .id(id)
        .max_onehot_levels(levels)
        .check()
    else {
        return;
    };
    let Ok(set) = params.build(&df) else {
        return;
    };
    let n = df.height();
    let x = &set.matrix.x;
    assert_eq!(x.nrows(), n, "one matrix row per table row");
    assert_eq!(
        x.ncols(),
        set.matrix.features.len(),
        "one column per feature"
    );
    assert!(
        x.iter().all(|v| v.is_finite()),
        "feature matrix has non-finite values"
    );
    if let Some(labels) = &set.labels {
        assert_eq!(labels.codes.len(), n);
        assert_eq!(
            labels.counts().iter().sum::<usize>(),
            n - labels.codes.iter().filter(|c| c.is_none()).count()
        );
        for row in 0..n {
            let _ = labels.name(row);
        }
    }
    if let Some(ids) = &set.ids {
        assert_eq!(ids.len(), n);
    }
    for f in &set.matrix.features {
        let _ = f.raw_value(1.0);
    }
    let report = set.non_finite_report();
    assert_eq!(report.scores.len(), n);
});
