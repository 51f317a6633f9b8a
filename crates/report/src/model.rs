//! The scan report: one serde model, written as JSON (`--json`) and read back by
//! `datavet export`. Versioned by [`SCHEMA`]; documented field by field in
//! `docs/report.md`.

use std::collections::BTreeMap;
use std::path::Path;

use datavet_detect::{DatasetFinding, FeatureSet, ScanOutput, Severity};
use serde::{Deserialize, Serialize};

use crate::error::{ReportError, Result};

/// Schema identifier of the JSON report.
pub const SCHEMA: &str = "datavet.scan/v1";

/// One input file, fingerprinted so a report can be tied to data and manifests.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct InputFile {
    /// Path as given on the command line (or found under a given folder).
    pub path: String,
    /// Size in bytes.
    pub size: u64,
    /// SHA-256 of the file's bytes, lower-case hex.
    pub sha256: String,
    /// Rows read from it.
    pub rows: usize,
}

/// The settings a scan ran with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// Label column.
    pub label: Option<String>,
    /// Id column.
    pub id: Option<String>,
    /// Columns explicitly chosen as features, if any.
    pub features: Option<Vec<String>>,
    /// Columns explicitly ignored.
    pub ignore: Vec<String>,
    /// Seed.
    pub seed: u64,
    /// Neighbours per row.
    pub k: usize,
    /// Flag budget.
    pub max_flag_rate: Option<f64>,
    /// Gate: the lowest severity that fails the run, or "never".
    pub fail_on: String,
}

/// What the scan saw of the table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DatasetSummary {
    /// Rows scanned.
    pub rows: usize,
    /// Source columns used as features.
    pub columns_used: Vec<String>,
    /// Source columns left out, with the reason.
    pub columns_skipped: Vec<SkippedColumn>,
    /// Width of the feature matrix.
    pub features: usize,
    /// Rows per class, when a label column was given (sorted by class).
    pub label_distribution: Option<BTreeMap<String, usize>>,
    /// Rows whose label is missing.
    pub missing_labels: usize,
}

/// A column left out of the features.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedColumn {
    /// Column name.
    pub column: String,
    /// Why.
    pub reason: String,
}

/// A detector that ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DetectorSummary {
    /// Detector name (also the column name in `--scores`).
    pub name: String,
    /// Family used for score combination.
    pub family: String,
    /// Whether its scores entered the combined score: false for detectors whose
    /// issues only corroborate. Reports written before this field existed read as
    /// false.
    #[serde(default)]
    pub ranks: bool,
    /// Rows it flagged.
    pub flagged: usize,
}

/// A check that did not run.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SkippedCheck {
    /// Detector name.
    pub check: String,
    /// Why.
    pub reason: String,
}

/// A dataset-level finding (category / severity / finding / recommendation).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    /// Category.
    pub category: String,
    /// Severity.
    pub severity: String,
    /// What was found.
    pub finding: String,
    /// What to do.
    pub recommendation: String,
}

impl From<&DatasetFinding> for Finding {
    fn from(f: &DatasetFinding) -> Self {
        Finding {
            category: f.category.clone(),
            severity: f.severity.as_str().to_string(),
            finding: f.finding.clone(),
            recommendation: f.recommendation.clone(),
        }
    }
}

/// One issue in a flagged row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RowIssue {
    /// Issue kind (snake_case).
    pub kind: String,
    /// Score in [0, 1].
    pub score: f64,
    /// Severity of this issue alone.
    pub severity: String,
    /// One plain sentence.
    pub reason: String,
    /// What to do about it.
    pub recommendation: String,
    /// Structured evidence (shape depends on `evidence.type`).
    pub evidence: serde_json::Value,
}

/// A flagged row.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FlaggedRow {
    /// 0-based position in the input (files in sorted order, then row order).
    pub row: usize,
    /// Value of the id column, when one was given.
    pub id: Option<String>,
    /// Combined suspicion score in [0, 1].
    pub score: f64,
    /// Row severity.
    pub severity: String,
    /// Issues, strongest first.
    pub issues: Vec<RowIssue>,
}

impl FlaggedRow {
    /// The issue kinds, `;`-separated.
    pub fn kinds(&self) -> String {
        let kinds: Vec<&str> = self.issues.iter().map(|i| i.kind.as_str()).collect();
        kinds.join(";")
    }

    /// The strongest issue's reason.
    pub fn reason(&self) -> &str {
        self.issues.first().map(|i| i.reason.as_str()).unwrap_or("")
    }
}

/// Counts for the summary.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Summary {
    /// Rows flagged.
    pub flagged_rows: usize,
    /// Flagged rows per row severity.
    pub by_severity: BTreeMap<String, usize>,
    /// Rows per issue kind (a row counts once per kind it has).
    pub by_kind: BTreeMap<String, usize>,
    /// The highest severity of any finding or row, or "none".
    pub max_severity: String,
}

/// The tool that wrote the report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tool {
    /// "datavet".
    pub name: String,
    /// Its version.
    pub version: String,
}

/// The full scan report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ScanReport {
    /// [`SCHEMA`].
    pub schema: String,
    /// Who wrote it.
    pub tool: Tool,
    /// Input files with fingerprints.
    pub inputs: Vec<InputFile>,
    /// Settings used.
    pub settings: Settings,
    /// The table as scanned.
    pub dataset: DatasetSummary,
    /// Detectors that ran.
    pub detectors: Vec<DetectorSummary>,
    /// Checks skipped, with the reason.
    pub skipped_checks: Vec<SkippedCheck>,
    /// Dataset-level findings, most severe first.
    pub findings: Vec<Finding>,
    /// Counts.
    pub summary: Summary,
    /// Every flagged row, most suspicious first.
    pub rows: Vec<FlaggedRow>,
}

impl ScanReport {
    /// Assemble the report from a scan.
    pub fn new(
        tool_version: &str,
        inputs: Vec<InputFile>,
        settings: Settings,
        features: &FeatureSet,
        scan: &ScanOutput,
    ) -> ScanReport {
        let ids = features.ids.as_ref();
        let rows: Vec<FlaggedRow> = scan
            .flagged
            .iter()
            .map(|r| FlaggedRow {
                row: r.row,
                id: ids.map(|ids| ids[r.row].clone()),
                score: round(r.score),
                severity: r.severity.as_str().to_string(),
                issues: r
                    .issues
                    .iter()
                    .map(|i| RowIssue {
                        kind: i.kind.as_str().to_string(),
                        score: round(i.score),
                        severity: datavet_detect::scoring::severity(i.kind, i.score)
                            .as_str()
                            .to_string(),
                        reason: i.reason.clone(),
                        recommendation: datavet_detect::scoring::recommendation(i.kind).to_string(),
                        evidence: serde_json::to_value(&i.evidence)
                            .unwrap_or(serde_json::Value::Null),
                    })
                    .collect(),
            })
            .collect();
        let mut by_severity: BTreeMap<String, usize> = BTreeMap::new();
        let mut by_kind: BTreeMap<String, usize> = BTreeMap::new();
        for r in &rows {
            *by_severity.entry(r.severity.clone()).or_default() += 1;
            let mut kinds: Vec<&str> = r.issues.iter().map(|i| i.kind.as_str()).collect();
            kinds.sort_unstable();
            kinds.dedup();
            for k in kinds {
                *by_kind.entry(k.to_string()).or_default() += 1;
            }
        }
        let max_severity = scan
            .flagged
            .iter()
            .map(|r| r.severity)
            .chain(scan.findings.iter().map(|f| f.severity))
            .max()
            .map_or("none", Severity::as_str)
            .to_string();
        let (label_distribution, missing_labels) = match &features.labels {
            Some(l) => {
                let counts = l.counts();
                let dist = l.classes.iter().cloned().zip(counts).collect();
                (Some(dist), l.codes.iter().filter(|c| c.is_none()).count())
            }
            None => (None, 0),
        };
        ScanReport {
            schema: SCHEMA.to_string(),
            tool: Tool {
                name: "datavet".to_string(),
                version: tool_version.to_string(),
            },
            inputs,
            settings,
            dataset: DatasetSummary {
                rows: features.matrix.n_rows(),
                columns_used: features.columns_used.clone(),
                columns_skipped: features
                    .skipped
                    .iter()
                    .map(|s| SkippedColumn {
                        column: s.column.clone(),
                        reason: s.reason.clone(),
                    })
                    .collect(),
                features: features.matrix.n_features(),
                label_distribution,
                missing_labels,
            },
            detectors: scan
                .detectors
                .iter()
                .map(|d| DetectorSummary {
                    name: d.name.to_string(),
                    family: d.family.to_string(),
                    ranks: d.ranks,
                    flagged: d.flagged,
                })
                .collect(),
            skipped_checks: scan
                .skipped
                .iter()
                .map(|s| SkippedCheck {
                    check: s.check.to_string(),
                    reason: s.reason.clone(),
                })
                .collect(),
            findings: scan.findings.iter().map(Finding::from).collect(),
            summary: Summary {
                flagged_rows: rows.len(),
                by_severity,
                by_kind,
                max_severity,
            },
            rows,
        }
    }

    /// Write [`ScanReport::to_json`]'s text to `w` without holding it in memory
    /// (with 10 000s of flagged rows the text runs to tens of MB); `path` names the
    /// destination in errors.
    pub fn write_json<W: std::io::Write>(&self, w: &mut W, path: &Path) -> Result<()> {
        let io = |source| ReportError::Write {
            path: path.to_path_buf(),
            source,
        };
        serde_json::to_writer_pretty(&mut *w, self).map_err(|e| io(e.into()))?;
        w.write_all(b"\n").map_err(io)
    }

    /// Serialize as pretty JSON with a trailing newline.
    pub fn to_json(&self) -> String {
        let mut buf = Vec::new();
        self.write_json(&mut buf, Path::new("-"))
            .expect("writing to memory cannot fail");
        String::from_utf8(buf).expect("serde_json writes UTF-8")
    }

    /// Parse a saved report, checking its schema.
    pub fn from_json(path: &Path, text: &str) -> Result<ScanReport> {
        let value: serde_json::Value =
            serde_json::from_str(text).map_err(|source| ReportError::Parse {
                path: path.to_path_buf(),
                source,
            })?;
        let found = value.get("schema").and_then(|v| v.as_str()).unwrap_or("");
        if found != SCHEMA {
            return Err(ReportError::Schema {
                path: path.to_path_buf(),
                found: found.to_string(),
                expected: SCHEMA,
            });
        }
        serde_json::from_value(value).map_err(|source| ReportError::Parse {
            path: path.to_path_buf(),
            source,
        })
    }
}

/// Round to 6 decimals so reports are stable and readable.
pub fn round(x: f64) -> f64 {
    (x * 1e6).round() / 1e6
}

/// Parse a severity name.
pub fn parse_severity(s: &str) -> Option<Severity> {
    match s {
        "low" => Some(Severity::Low),
        "medium" => Some(Severity::Medium),
        "high" => Some(Severity::High),
        "critical" => Some(Severity::Critical),
        _ => None,
    }
}
