//! `datavet verify`: check files against a manifest and report what changed.

use std::fmt::Write as _;
use std::io::Write as _;
use std::path::PathBuf;

use datavet_ingest::sign::verify_signed;
use datavet_ingest::{
    FileReport, FileStatus, IngestError, PublicKey, RowDiffKind, SidecarStatus, VerifyOptions,
    VerifyReport, verify,
};

use super::{ExitStatus, write_stdout};
use crate::args::VerifyArgs;
use crate::progress::Bars;

pub fn run(args: VerifyArgs, bars: &Bars) -> anyhow::Result<ExitStatus> {
    let VerifyArgs {
        manifest,
        root,
        allow_extra,
        follow_symlinks,
        json,
        max_rows,
        key,
    } = args;
    // A bad key file is an error (exit 2) before anything is read.
    let key = key.as_deref().map(PublicKey::load).transpose()?;
    let root = root.unwrap_or_else(|| match manifest.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    });
    let opts = VerifyOptions {
        root,
        allow_extra,
        follow_symlinks,
    };
    let (report, signer) = match &key {
        None => (verify(&manifest, &opts, bars)?, None),
        Some(key) => match verify_signed(&manifest, key, &opts, bars) {
            Ok(signed) => (signed.report, Some(signed.key_id)),
            // A signature that does not check out is a verification failure (exit 1),
            // said in one line; the files are not checked against an untrusted manifest.
            Err(IngestError::Signature { manifest, problem }) => {
                let _ = writeln!(
                    std::io::stderr(),
                    "FAILED: {}: {problem}",
                    manifest.display()
                );
                return Ok(ExitStatus::Failure);
            }
            Err(e) => return Err(e.into()),
        },
    };
    let text = if json {
        let mut value = serde_json::to_value(&report)?;
        if let (Some(id), Some(obj)) = (&signer, value.as_object_mut()) {
            obj.insert(
                "signature".into(),
                serde_json::json!({ "verified": true, "key_id": id }),
            );
        }
        let mut s = serde_json::to_string_pretty(&value)?;
        s.push('\n');
        s
    } else {
        let mut text = String::new();
        if let Some(id) = &signer {
            let _ = writeln!(text, "signed   by key {id} (signature ok)");
        }
        text.push_str(&render_text(&report, max_rows));
        text
    };
    write_stdout(&text)?;
    Ok(if report.verified {
        ExitStatus::Success
    } else {
        ExitStatus::Failure
    })
}

/// One line per file, details under changed files, a summary line last.
fn render_text(report: &VerifyReport, max_rows: usize) -> String {
    let mut out = String::new();
    for file in &report.files {
        let label = match file.status {
            FileStatus::Ok => "ok",
            FileStatus::Changed => "CHANGED",
            FileStatus::Missing => "MISSING",
            FileStatus::Extra if report.allow_extra => "extra",
            FileStatus::Extra => "EXTRA",
        };
        let _ = write!(out, "{label:<8} {}", file.path);
        if file.status == FileStatus::Changed {
            describe_change(&mut out, file, max_rows);
        } else {
            out.push('\n');
        }
    }
    match report.sidecar {
        SidecarStatus::Changed => {
            let _ = writeln!(
                out,
                "CHANGED  row sidecar: it does not match the size and sha256 the manifest records"
            );
        }
        SidecarStatus::Missing => {
            let _ = writeln!(
                out,
                "note     row sidecar is missing; row detail unavailable"
            );
        }
        SidecarStatus::None | SidecarStatus::Ok => {}
    }
    let s = &report.summary;
    let _ = writeln!(
        out,
        "{}: {} ok, {} changed, {} missing, {} extra{}",
        if report.verified {
            "verified"
        } else {
            "FAILED"
        },
        s.ok,
        s.changed,
        s.missing,
        s.extra,
        if s.extra > 0 && report.allow_extra {
            " (allowed)"
        } else {
            ""
        }
    );
    out
}

fn describe_change(out: &mut String, file: &FileReport, max_rows: usize) {
    if let (Some(e), Some(a)) = (&file.expected, &file.actual) {
        if e.size != a.size {
            let _ = writeln!(out, "  (size {} -> {} bytes)", e.size, a.size);
        } else {
            let _ = writeln!(out, "  (same size, sha256 differs)");
        }
    } else {
        out.push('\n');
    }
    if let Some(drift) = &file.schema {
        for c in &drift.added {
            let _ = writeln!(out, "         column added: {} ({})", c.name, c.dtype);
        }
        for c in &drift.removed {
            let _ = writeln!(out, "         column removed: {} ({})", c.name, c.dtype);
        }
        for c in &drift.retyped {
            let _ = writeln!(
                out,
                "         column retyped: {} {} -> {}",
                c.name, c.from, c.to
            );
        }
        if drift.reordered {
            let _ = writeln!(out, "         columns reordered");
        }
    }
    let Some(rows) = &file.rows else { return };
    let counts = match (rows.old_rows, rows.new_rows) {
        (Some(o), Some(n)) if o != n => format!(" ({o} -> {n} rows)"),
        (Some(o), Some(_)) => format!(" ({o} rows)"),
        _ => String::new(),
    };
    match rows.kind {
        RowDiffKind::Identical => {
            let _ = writeln!(
                out,
                "         rows: identical{counts}; only the file's bytes changed"
            );
        }
        RowDiffKind::Reordered => {
            let _ = writeln!(out, "         rows: same rows, reordered{counts}");
        }
        RowDiffKind::Unavailable => {
            let reason = rows.reason.as_deref().unwrap_or("unknown reason");
            let _ = writeln!(out, "         rows: not compared{counts}: {reason}");
        }
        RowDiffKind::Changed => {
            let _ = writeln!(
                out,
                "         rows: {} changed, {} added, {} removed{counts}",
                rows.changed.len(),
                rows.added.len(),
                rows.removed.len()
            );
            let mut lines: Vec<(u64, String)> = Vec::new();
            for c in &rows.changed {
                let text = if c.old == c.new {
                    format!("row {} changed", c.new)
                } else {
                    format!("row {} changed (was row {})", c.new, c.old)
                };
                lines.push((c.new, text));
            }
            lines.extend(rows.added.iter().map(|&r| (r, format!("row {r} added"))));
            lines.extend(
                rows.removed
                    .iter()
                    .map(|&r| (r, format!("row {r} removed (of the manifest's version)"))),
            );
            lines.sort_by_key(|(r, _)| *r);
            let total = lines.len();
            for (_, text) in lines.iter().take(max_rows) {
                let _ = writeln!(out, "           {text}");
            }
            if total > max_rows {
                let _ = writeln!(
                    out,
                    "           ... and {} more (see --json)",
                    total - max_rows
                );
            }
        }
    }
}
