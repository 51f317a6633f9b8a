//! The files pipelines consume: per-row scores (`--scores`), the flagged rows with
//! all their columns (`--export`), and the dataset without them (`--clean`). All
//! written atomically through polars' CSV and Parquet writers.

use std::collections::BTreeSet;
use std::path::Path;

use polars::prelude::{
    Column, CsvWriter, DataFrame, DataType, IdxCa, NamedFrom, ParquetWriter, SerWriter, Series,
};

use crate::atomic::{Staged, stage};
use crate::error::{ReportError, Result};
use crate::model::FlaggedRow;

/// Table formats we write.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TableFormat {
    /// Comma-separated, with a header.
    Csv,
    /// Apache Parquet.
    Parquet,
}

impl TableFormat {
    /// From the output path's extension.
    pub fn from_path(path: &Path) -> Result<TableFormat> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
            .as_deref()
        {
            Some("csv") => Ok(TableFormat::Csv),
            Some("parquet") | Some("pq") => Ok(TableFormat::Parquet),
            _ => Err(ReportError::UnknownFormat {
                path: path.to_path_buf(),
            }),
        }
    }
}

/// Write a frame to `path` atomically in `format`. Nested columns (embeddings) are
/// written as their text form in CSV.
pub fn write_table(path: &Path, df: DataFrame, format: TableFormat) -> Result<()> {
    stage_table(path, df, format)?.persist()
}

/// Stage a table (see [`crate::Staged`]) without renaming it into place yet.
pub fn stage_table(path: &Path, mut df: DataFrame, format: TableFormat) -> Result<Staged> {
    let table_err = |source| ReportError::Table {
        path: path.to_path_buf(),
        source,
    };
    if format == TableFormat::Csv {
        df = flatten_nested(df).map_err(table_err)?;
    }
    stage(path, |w| {
        match format {
            TableFormat::Csv => CsvWriter::new(w).finish(&mut df),
            TableFormat::Parquet => ParquetWriter::new(w).finish(&mut df).map(|_| ()),
        }
        .map_err(table_err)
    })
}

/// CSV cannot hold lists: render list/array cells as `[a, b, c]` strings.
fn flatten_nested(df: DataFrame) -> polars::error::PolarsResult<DataFrame> {
    let n = df.height();
    let columns = df
        .columns()
        .iter()
        .map(|c| {
            if c.dtype().is_list() || c.dtype().is_array() {
                let list = c.cast(&DataType::List(Box::new(DataType::Float64)))?;
                let ca = list.list()?;
                let mut out: Vec<Option<String>> = Vec::with_capacity(n);
                for item in ca.amortized_iter() {
                    out.push(match item {
                        Some(s) => {
                            let vals: Vec<String> = s
                                .as_ref()
                                .f64()?
                                .iter()
                                .map(|v| v.map_or("null".to_string(), |v| v.to_string()))
                                .collect();
                            Some(format!("[{}]", vals.join(", ")))
                        }
                        None => None,
                    });
                }
                Ok(Column::from(Series::new(c.name().clone(), out)))
            } else {
                Ok(c.clone())
            }
        })
        .collect::<polars::error::PolarsResult<Vec<Column>>>()?;
    DataFrame::new(n, columns)
}

/// A name not already used by the dataset: `name`, else `datavet_name`, else
/// `datavet_name_2`, ...
pub fn free_name(existing: &BTreeSet<String>, name: &str) -> String {
    if !existing.contains(name) {
        return name.to_string();
    }
    let base = format!("datavet_{name}");
    if !existing.contains(&base) {
        return base;
    }
    (2..)
        .map(|i| format!("{base}_{i}"))
        .find(|c| !existing.contains(c))
        .expect("some suffix is free")
}

fn check_rows(rows: &[FlaggedRow], height: usize) -> Result<()> {
    match rows.iter().find(|r| r.row >= height) {
        Some(r) => Err(ReportError::RowOutOfRange {
            row: r.row,
            rows: height,
        }),
        None => Ok(()),
    }
}

/// The flagged rows with all their original columns plus `row`, `score`,
/// `severity`, `issues` and `reason` (prefixed if the dataset has those names),
/// in report order (most suspicious first).
pub fn export_frame(data: &DataFrame, rows: &[FlaggedRow]) -> Result<DataFrame> {
    check_rows(rows, data.height())?;
    let idx = IdxCa::new(
        "idx".into(),
        rows.iter().map(|r| r.row as u32).collect::<Vec<_>>(),
    );
    let err = |source| ReportError::Table {
        path: "<export>".into(),
        source,
    };
    let mut out = data.take(&idx).map_err(err)?;
    let existing: BTreeSet<String> = data
        .columns()
        .iter()
        .map(|c| c.name().to_string())
        .collect();
    let extra: Vec<Column> = vec![
        Series::new(
            free_name(&existing, "row").into(),
            rows.iter().map(|r| r.row as u64).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            free_name(&existing, "score").into(),
            rows.iter().map(|r| r.score).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            free_name(&existing, "severity").into(),
            rows.iter().map(|r| r.severity.clone()).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            free_name(&existing, "issues").into(),
            rows.iter().map(FlaggedRow::kinds).collect::<Vec<_>>(),
        )
        .into(),
        Series::new(
            free_name(&existing, "reason").into(),
            rows.iter()
                .map(|r| r.reason().to_string())
                .collect::<Vec<_>>(),
        )
        .into(),
    ];
    out.hstack_mut(&extra).map_err(err)?;
    Ok(out)
}

/// The dataset without the flagged rows, in input order.
pub fn clean_frame(data: &DataFrame, rows: &[FlaggedRow]) -> Result<DataFrame> {
    check_rows(rows, data.height())?;
    let mut keep = vec![true; data.height()];
    for r in rows {
        keep[r.row] = false;
    }
    let mask = polars::prelude::BooleanChunked::new("keep".into(), keep);
    data.filter(&mask).map_err(|source| ReportError::Table {
        path: "<clean>".into(),
        source,
    })
}

/// One line per input row: `row`, `id` (if given), `score`, then one column per
/// detector score.
pub fn scores_frame(
    ids: Option<&[String]>,
    combined: &[f64],
    detectors: &[(String, Vec<f64>)],
) -> Result<DataFrame> {
    let n = combined.len();
    let round = |v: &f64| crate::model::round(*v);
    let mut cols: Vec<Column> =
        vec![Series::new("row".into(), (0..n as u64).collect::<Vec<_>>()).into()];
    if let Some(ids) = ids {
        cols.push(Series::new("id".into(), ids.to_vec()).into());
    }
    cols.push(
        Series::new(
            "score".into(),
            combined.iter().map(round).collect::<Vec<_>>(),
        )
        .into(),
    );
    for (name, scores) in detectors {
        cols.push(Series::new(name.into(), scores.iter().map(round).collect::<Vec<_>>()).into());
    }
    DataFrame::new(n, cols).map_err(|source| ReportError::Table {
        path: "<scores>".into(),
        source,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn flagged(row: usize, score: f64) -> FlaggedRow {
        FlaggedRow {
            row,
            id: None,
            score,
            severity: "high".into(),
            issues: vec![crate::model::RowIssue {
                kind: "label_error".into(),
                score,
                severity: "high".into(),
                reason: format!("reason {row}"),
                recommendation: String::new(),
                evidence: serde_json::Value::Null,
            }],
        }
    }

    fn data() -> DataFrame {
        DataFrame::new(
            3,
            vec![
                Series::new("x".into(), &[1.0, 2.0, 3.0]).into(),
                Series::new("score".into(), &["a", "b", "c"]).into(),
            ],
        )
        .unwrap()
    }

    #[test]
    fn export_keeps_columns_and_renames_collisions() {
        let out = export_frame(&data(), &[flagged(2, 0.9), flagged(0, 0.7)]).unwrap();
        let names: Vec<String> = out.columns().iter().map(|c| c.name().to_string()).collect();
        assert_eq!(
            names,
            vec![
                "x",
                "score",
                "row",
                "datavet_score",
                "severity",
                "issues",
                "reason"
            ]
        );
        let x: Vec<Option<f64>> = out.column("x").unwrap().f64().unwrap().iter().collect();
        assert_eq!(x, vec![Some(3.0), Some(1.0)]);
    }

    #[test]
    fn clean_drops_flagged_rows_in_order() {
        let out = clean_frame(&data(), &[flagged(1, 0.9)]).unwrap();
        let x: Vec<Option<f64>> = out.column("x").unwrap().f64().unwrap().iter().collect();
        assert_eq!(x, vec![Some(1.0), Some(3.0)]);
    }

    #[test]
    fn out_of_range_rows_are_refused() {
        let err = export_frame(&data(), &[flagged(7, 0.9)]).unwrap_err();
        assert_eq!(
            err.to_string(),
            "report names row 7 but the data has 3 rows"
        );
    }

    #[test]
    fn csv_round_trip_and_format_from_extension() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("o.csv");
        write_table(&path, data(), TableFormat::from_path(&path).unwrap()).unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(text, "x,score\n1.0,a\n2.0,b\n3.0,c\n");
        assert!(TableFormat::from_path(Path::new("o.txt")).is_err());
    }
}
