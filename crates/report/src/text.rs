//! The human report: what was scanned, dataset findings, counts per issue kind, the
//! most suspicious rows with a one-line reason, and the verdict against the gate.

use std::fmt::Write;

use anstyle::{AnsiColor, Style};

use crate::model::ScanReport;

/// How to render the text report.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TextOptions {
    /// Use ANSI colour (only when stdout is a terminal).
    pub color: bool,
    /// How many rows to list in the table.
    pub top: usize,
}

impl Default for TextOptions {
    fn default() -> Self {
        TextOptions {
            color: false,
            top: 20,
        }
    }
}

fn severity_style(sev: &str) -> Style {
    let color = match sev {
        "critical" => AnsiColor::BrightRed,
        "high" => AnsiColor::Red,
        "medium" => AnsiColor::Yellow,
        _ => AnsiColor::Cyan,
    };
    Style::new().fg_color(Some(color.into())).bold()
}

fn paint(opts: &TextOptions, style: Style, text: &str) -> String {
    if opts.color {
        format!("{style}{text}{style:#}")
    } else {
        text.to_string()
    }
}

fn truncate(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut t: String = s.chars().take(max.saturating_sub(1)).collect();
        t.push('…');
        t
    }
}

/// Render the report as text. `gate` is the `--fail-on` level and `failed` whether
/// the run fails it (the caller decides; the text only states it).
pub fn render(report: &ScanReport, opts: &TextOptions, failed: bool) -> String {
    let mut out = String::new();
    let bold = Style::new().bold();
    let d = &report.dataset;
    let _ = writeln!(
        out,
        "{} {} — {} file(s), {} rows, {} feature column(s) → {} features",
        paint(opts, bold, "datavet scan"),
        report.tool.version,
        report.inputs.len(),
        d.rows,
        d.columns_used.len(),
        d.features
    );
    out.push('\n');
    let _ = writeln!(out, "{}", paint(opts, bold, "Inputs"));
    for f in &report.inputs {
        let _ = writeln!(
            out,
            "  {}  {} rows  {} bytes  sha256:{}",
            f.path, f.rows, f.size, f.sha256
        );
    }
    match &report.settings.label {
        Some(label) => {
            let _ = write!(out, "  label '{label}':");
            if let Some(dist) = &d.label_distribution {
                let total: usize = dist.values().sum::<usize>().max(1);
                for (class, count) in dist {
                    let _ = write!(
                        out,
                        " {class} {count} ({:.1}%)",
                        100.0 * *count as f64 / total as f64
                    );
                }
            }
            if d.missing_labels > 0 {
                let _ = write!(out, "; {} missing", d.missing_labels);
            }
            out.push('\n');
        }
        None => {
            let _ = writeln!(out, "  no label column: label checks skipped");
        }
    }
    if let Some(id) = &report.settings.id {
        let _ = writeln!(out, "  id column '{id}'");
    }
    if !d.columns_skipped.is_empty() {
        let skipped: Vec<String> = d
            .columns_skipped
            .iter()
            .map(|s| format!("{} ({})", s.column, s.reason))
            .collect();
        let _ = writeln!(out, "  columns not used: {}", skipped.join(", "));
    }
    // One line per reason, naming the checks it skipped, in first-seen order.
    let mut by_reason: Vec<(&str, Vec<&str>)> = Vec::new();
    for s in &report.skipped_checks {
        match by_reason.iter_mut().find(|(r, _)| *r == s.reason) {
            Some((_, checks)) => checks.push(&s.check),
            None => by_reason.push((&s.reason, vec![&s.check])),
        }
    }
    for (reason, checks) in by_reason {
        let _ = writeln!(out, "  checks skipped: {} — {}", checks.join(", "), reason);
    }

    out.push('\n');
    let _ = writeln!(out, "{}", paint(opts, bold, "Dataset findings"));
    if report.findings.is_empty() {
        let _ = writeln!(out, "  none");
    }
    for f in &report.findings {
        let tag = format!("[{}]", f.severity.to_uppercase());
        let _ = writeln!(
            out,
            "  {} {}: {}",
            paint(opts, severity_style(&f.severity), &tag),
            f.category,
            f.finding
        );
        let _ = writeln!(out, "      → {}", f.recommendation);
    }

    out.push('\n');
    let _ = writeln!(out, "{}", paint(opts, bold, "Issues by kind (rows)"));
    if report.summary.by_kind.is_empty() {
        let _ = writeln!(out, "  none");
    }
    let mut kinds: Vec<(&String, &usize)> = report.summary.by_kind.iter().collect();
    kinds.sort_by(|a, b| b.1.cmp(a.1).then(a.0.cmp(b.0)));
    for (kind, count) in kinds {
        let _ = writeln!(out, "  {kind:<28} {count:>7}");
    }

    if !report.rows.is_empty() {
        out.push('\n');
        let shown = report.rows.len().min(opts.top);
        let _ = writeln!(
            out,
            "{}",
            paint(
                opts,
                bold,
                &format!("Most suspicious rows ({shown} of {})", report.rows.len())
            )
        );
        let has_id = report.settings.id.is_some();
        let _ = write!(out, "  {:>7}  ", "row");
        if has_id {
            let _ = write!(out, "{:<12}  ", "id");
        }
        let _ = writeln!(
            out,
            "{:>5}  {:<8}  {:<30}  reason",
            "score", "severity", "issues"
        );
        for r in report.rows.iter().take(shown) {
            let _ = write!(out, "  {:>7}  ", r.row);
            if has_id {
                let id = truncate(r.id.as_deref().unwrap_or(""), 12);
                let _ = write!(out, "{id:<12}  ");
            }
            let sev = format!("{:<8}", r.severity);
            let _ = writeln!(
                out,
                "{:>5.3}  {}  {:<30}  {}",
                r.score,
                paint(opts, severity_style(&r.severity), &sev),
                truncate(&r.kinds(), 30),
                r.reason()
            );
        }
        if let Some(top) = report.rows.first().and_then(|r| r.issues.first()) {
            let _ = writeln!(out, "      → {}", top.recommendation);
        }
    }

    out.push('\n');
    let s = &report.summary;
    let by_sev: Vec<String> = ["critical", "high", "medium", "low"]
        .iter()
        .filter_map(|k| s.by_severity.get(*k).map(|c| format!("{c} {k}")))
        .collect();
    let verdict = if failed {
        paint(
            opts,
            severity_style("critical"),
            &format!("FAIL (findings at or above '{}')", report.settings.fail_on),
        )
    } else {
        format!("pass (gate: {})", report.settings.fail_on)
    };
    let _ = writeln!(
        out,
        "{} {} of {} rows flagged{}; {}",
        paint(opts, bold, "Result:"),
        s.flagged_rows,
        d.rows,
        if by_sev.is_empty() {
            String::new()
        } else {
            format!(" ({})", by_sev.join(", "))
        },
        verdict
    );
    out
}
