//! `datavet export`: flagged rows (or the clean rest) from a saved report, after
//! checking that the data is exactly what the report was made from.

use anyhow::{Context, Result, bail};
use datavet_report::{
    FlaggedRow, ScanReport, TableFormat, clean_frame, export_frame, parse_severity, write_table,
};

use super::{ExitStatus, InputChange, load_and_fingerprint};
use crate::args::{ExportArgs, MinSeverity};
use crate::progress::Bars;

/// Run the export.
pub fn run(args: &ExportArgs, bars: &Bars) -> Result<ExitStatus> {
    let format = TableFormat::from_path(&args.output)?;
    if args.data.iter().any(|d| d == &args.output) {
        bail!("output {} would overwrite an input", args.output.display());
    }
    super::check_output(&args.output)?;
    let text = std::fs::read_to_string(&args.report)
        .with_context(|| format!("failed to read report {}", args.report.display()))?;
    let report = ScanReport::from_json(&args.report, &text)?;
    let (dataset, inputs) = load_and_fingerprint(&args.data, &args.read, bars)?;
    check_fingerprints(&report, &inputs)?;

    let min = args.min_severity.map(|m| match m {
        MinSeverity::Critical => datavet_detect::Severity::Critical,
        MinSeverity::High => datavet_detect::Severity::High,
        MinSeverity::Medium => datavet_detect::Severity::Medium,
        MinSeverity::Low => datavet_detect::Severity::Low,
    });
    if let Some(kinds) = &args.kind {
        for k in kinds {
            if !datavet_detect::IssueKind::ALL
                .iter()
                .any(|x| x.as_str() == k)
            {
                bail!("unknown issue kind '{k}' (see the report's summary.by_kind)");
            }
        }
    }
    let rows: Vec<FlaggedRow> = report
        .rows
        .iter()
        .filter(|r| min.is_none_or(|m| parse_severity(&r.severity).is_some_and(|s| s >= m)))
        .filter(|r| {
            args.kind
                .as_ref()
                .is_none_or(|kinds| r.issues.iter().any(|i| kinds.contains(&i.kind)))
        })
        .cloned()
        .collect();
    let df = if args.clean {
        clean_frame(&dataset.frame, &rows)?
    } else {
        export_frame(&dataset.frame, &rows)?
    };
    write_table(&args.output, df, format)?;
    Ok(ExitStatus::Success)
}

fn check_fingerprints(report: &ScanReport, inputs: &[datavet_report::InputFile]) -> Result<()> {
    match super::input_change(&report.inputs, inputs) {
        None => Ok(()),
        Some(InputChange::Count { then, now }) => bail!(
            "the data has {now} file(s) but the report was made from {then}; \
             hint: pass the same files the scan read"
        ),
        Some(InputChange::File { then, now }) => bail!(
            "{} does not match the report: sha256 {} but the report was made from {} ({}); \
             hint: re-run `datavet scan` on the current data",
            now.path,
            now.sha256,
            then.sha256,
            then.path
        ),
    }
}
