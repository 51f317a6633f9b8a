//! `datavet scan`: features, detectors, the report and the output files.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};
use datavet_detect::{FeatureParams, ScanParams, Severity, registry, run_scan};
use datavet_report::{
    ScanReport, Settings, Staged, TableFormat, TextOptions, clean_frame, export_frame,
    scores_frame, stage, stage_table,
};

use super::{ExitStatus, load_and_fingerprint, load_and_fingerprint_checked, write_stdout};
use crate::args::{ColorChoice, FailOn, ScanArgs};
use crate::memory;
use crate::progress::Bars;

const MB: f64 = 1024.0 * 1024.0;
use crate::settings::{ScanSettings, fail_on_str};

/// Whether the report fails the gate.
pub fn gate_fails(max_severity: &str, fail_on: FailOn) -> bool {
    let gate = match fail_on {
        FailOn::Never => return false,
        FailOn::Critical => Severity::Critical,
        FailOn::High => Severity::High,
        FailOn::Medium => Severity::Medium,
        FailOn::Low => Severity::Low,
    };
    datavet_report::parse_severity(max_severity).is_some_and(|s| s >= gate)
}

/// Run the scan.
pub fn run(args: &ScanArgs, quiet: bool, bars: &Bars) -> Result<ExitStatus> {
    let settings = ScanSettings::resolve(args)?;
    if let Some(threads) = settings.threads {
        rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build_global()
            .context("failed to start the thread pool")?;
    }
    for out in [&args.json, &args.scores, &args.export, &args.clean]
        .into_iter()
        .flatten()
    {
        if args.data.iter().any(|d| d == out) {
            anyhow::bail!("output {} would overwrite an input", out.display());
        }
        super::check_output(out)?;
    }
    // Check output formats before the work, so a typo fails fast.
    for out in [&args.export, &args.clean].into_iter().flatten() {
        TableFormat::from_path(out)?;
    }
    let limit = memory::effective(args.max_memory);
    let mut read_estimate = 0;
    let mut marks = Vec::new();
    let (dataset, inputs) =
        load_and_fingerprint_checked(&settings.data, &args.read, bars, |files| {
            read_estimate = memory::read_bytes(files);
            if files.is_empty() {
                return Ok(());
            }
            let what = format!("reading {}", super::files_name(files));
            memory::check(read_estimate, limit, &what)
        })?;
    marks.extend(args.timings.then(|| ("read", peak_rss())));
    let data_name = super::data_name(&dataset);
    let features = FeatureParams::default()
        .label(settings.label.clone())
        .id(settings.id.clone())
        .include(settings.features.clone())
        .ignore(settings.ignore.clone())
        .check()?
        // The detectors need only the feature matrix: the table is freed column by
        // column as it is encoded (at 1M rows × 32 columns it is as large as the
        // matrix), and read again for --export/--clean.
        .build_owned(dataset.frame)
        .with_context(|| format!("cannot scan {data_name}"))?;
    marks.extend(args.timings.then(|| ("features", peak_rss())));
    let params = ScanParams::default()
        .k(settings.k)
        .seed(settings.seed)
        .max_flag_rate(settings.max_flag_rate)
        .check()?;
    let detectors = registry(&settings.detectors)?;
    let (n, d) = (features.matrix.n_rows(), features.matrix.n_features());
    let scan_estimate = datavet_detect::memory::scan_bytes(n, d, params.k());
    memory::check(
        scan_estimate,
        limit,
        &format!("scanning {data_name} ({n} rows × {d} features)"),
    )?;
    let scan = run_scan(&features, &params, &detectors, bars)?;
    marks.extend(args.timings.then(|| ("detectors", peak_rss())));
    if args.timings {
        let mut err = std::io::stderr().lock();
        for (stage, took) in &scan.timings {
            let _ = writeln!(err, "timing: {stage:<24} {:>9.3} s", took.as_secs_f64());
        }
        let _ = writeln!(
            err,
            "memory: estimated peak of reading {:>9.1} MB, of the scan {:>9.1} MB",
            read_estimate as f64 / MB,
            scan_estimate as f64 / MB
        );
        for (stage, peak) in &marks {
            if let Some(kb) = peak {
                let _ = writeln!(
                    err,
                    "memory: peak after {stage:<12} {:>9.1} MB",
                    *kb as f64 / 1024.0
                );
            }
        }
    }
    let report = ScanReport::new(
        env!("CARGO_PKG_VERSION"),
        inputs,
        Settings {
            label: settings.label.clone(),
            id: settings.id.clone(),
            features: settings.features.clone(),
            ignore: settings.ignore.clone(),
            seed: settings.seed,
            k: params.k(),
            max_flag_rate: settings.max_flag_rate,
            fail_on: fail_on_str(settings.fail_on).to_string(),
        },
        &features,
        &scan,
    );
    // The feature matrix (as large as the data) is not needed for the outputs: free
    // it before they are written and before --export/--clean read the data again.
    let ids = features.ids;
    drop(features.matrix);
    let failed = gate_fails(&report.summary.max_severity, settings.fail_on);

    // Stage every output first; rename them into place only when all are written.
    let mut staged: Vec<Staged> = Vec::new();
    if let Some(path) = &args.json {
        staged.push(stage(path, |w| report.write_json(w, path))?);
    }
    if let Some(path) = &args.scores {
        let detectors: Vec<(String, Vec<f64>)> = scan
            .detectors
            .iter()
            .map(|d| (d.name.to_string(), d.scores.clone()))
            .collect();
        let df = scores_frame(ids.as_deref(), &scan.combined, &detectors)?;
        staged.push(stage_table(path, df, TableFormat::Csv)?);
    }
    let frame = if args.export.is_some() || args.clean.is_some() {
        Some(reread(&settings.data, args, &report.inputs, bars)?)
    } else {
        None
    };
    if let (Some(path), Some(frame)) = (&args.export, &frame) {
        let df = export_frame(frame, &report.rows)?;
        staged.push(stage_table(path, df, TableFormat::from_path(path)?)?);
    }
    if let (Some(path), Some(frame)) = (&args.clean, &frame) {
        let df = clean_frame(frame, &report.rows)?;
        staged.push(stage_table(path, df, TableFormat::from_path(path)?)?);
    }
    for s in staged {
        s.persist()?;
    }

    if !quiet {
        let color = match args.color {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                std::io::stdout().is_terminal() && std::env::var_os("NO_COLOR").is_none()
            }
        };
        let text = datavet_report::render(
            &report,
            &TextOptions {
                color,
                top: args.top,
            },
            failed,
        );
        write_stdout(&text)?;
    }
    Ok(if failed {
        ExitStatus::Failure
    } else {
        ExitStatus::Success
    })
}

/// Read the data again for `--export`/`--clean`, refusing if any file changed since
/// it was scanned (the rows flagged would no longer be the rows written).
fn reread(
    data: &[std::path::PathBuf],
    args: &ScanArgs,
    scanned: &[datavet_report::InputFile],
    bars: &Bars,
) -> Result<polars::prelude::DataFrame> {
    let (dataset, inputs) = load_and_fingerprint(data, &args.read, bars)?;
    if let Some(change) = super::input_change(scanned, &inputs) {
        let changed = match change {
            super::InputChange::File { now, .. } => now.path.clone(),
            super::InputChange::Count { .. } => "the input files".to_string(),
        };
        anyhow::bail!(
            "{changed} changed during the scan; nothing was written (run the scan again)"
        );
    }
    Ok(dataset.frame)
}

/// Peak resident set size of this process so far, in KiB (`VmHWM` on Linux; `None`
/// elsewhere). Only for `--timings`.
fn peak_rss() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    line.split_whitespace().nth(1)?.parse().ok()
}
