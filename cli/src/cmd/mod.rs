//! One file per subcommand; each returns an [`ExitStatus`]. Errors become exit
//! status 2 with a one-line `error:` message (and a `hint:` where one helps).

mod export;
mod keygen;
mod manifest;
mod scan;
mod verify;

use std::io::Write;
use std::process::ExitCode;

use datavet_ingest::IngestError;

use crate::args::{Cli, Command};
use crate::progress::Bars;

/// How the process ends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Clean: everything verified, nothing at or above the gate.
    Success,
    /// Findings: a mismatch, or issues at or above the gate.
    Failure,
    /// The command could not do its job.
    Error,
}

impl From<ExitStatus> for ExitCode {
    fn from(status: ExitStatus) -> ExitCode {
        match status {
            ExitStatus::Success => ExitCode::from(0),
            ExitStatus::Failure => ExitCode::from(1),
            ExitStatus::Error => ExitCode::from(2),
        }
    }
}

/// Run the chosen subcommand.
pub fn run(cli: Cli) -> anyhow::Result<ExitStatus> {
    let Cli { command, quiet } = cli;
    let bars = Bars::new(quiet);
    match command {
        Command::Manifest(args) => manifest::run(args, quiet, &bars),
        Command::Verify(args) => verify::run(args, &bars),
        Command::Scan(args) => scan::run(&args, quiet, &bars),
        Command::Export(args) => export::run(&args, &bars),
        Command::Keygen(args) => keygen::run(args, quiet),
    }
}

/// Write data to stdout. A closed pipe (`datavet … | head`) is not an error: output
/// simply stops.
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(e.into()),
        _ => Ok(()),
    }
}

/// Print `error: …` (the whole cause chain on one line) and a hint when one helps.
pub fn report_error(err: &anyhow::Error) {
    // Polars and TOML messages can span lines: squash every run of whitespace so the
    // error stays one line.
    let chain: Vec<String> = err
        .chain()
        .map(|c| {
            c.to_string()
                .split_whitespace()
                .collect::<Vec<_>>()
                .join(" ")
        })
        .collect();
    // Some causes repeat their source's text ("incomplete deflate stream: incomplete
    // deflate stream"): keep each text once.
    let mut chain = chain;
    chain.dedup_by(|next, prev| prev.ends_with(next.as_str()));
    let mut message = chain.join(": ");
    // A message may carry its own hint after "; hint: ".
    let own_hint = message.find("; hint: ").map(|at| {
        let h = message[at + "; hint: ".len()..].to_string();
        message.truncate(at);
        h
    });
    let mut stderr = std::io::stderr().lock();
    let _ = writeln!(stderr, "error: {message}");
    if let Some(hint) = own_hint.as_deref().or(hint(err)) {
        let _ = writeln!(stderr, "hint: {hint}");
    }
}

fn hint(err: &anyhow::Error) -> Option<&'static str> {
    let ingest = err.chain().find_map(|c| c.downcast_ref::<IngestError>())?;
    Some(match ingest {
        IngestError::Symlink { .. } => {
            "pass --follow-symlinks to follow links whose targets stay inside the root"
        }
        IngestError::OutsideRoot { .. } => {
            "pass --root DIR with a folder that contains every input (and the same --root to verify)"
        }
        IngestError::UnknownFormat { .. } => {
            "rename the file with a data extension, or pass its folder to skip unknown files"
        }
        IngestError::SchemaMismatch { .. } => {
            "every file of one dataset needs the same columns and types; pass the files separately"
        }
        IngestError::UnsafeManifestPath { .. } | IngestError::LinkOutsideRoot { .. } => {
            "the manifest may have been tampered with; do not trust this data until it is explained"
        }
        IngestError::ChangedWhileReading { .. } => "wait until the file is no longer being written",
        _ => return None,
    })
}

/// Refuse an output path that is a folder before any work is done: renaming a finished
/// file over a folder fails only at the end, after other outputs may have been written.
pub fn check_output(path: &std::path::Path) -> anyhow::Result<()> {
    if path.is_dir() {
        anyhow::bail!("output {} is a folder; give a file name", path.display());
    }
    Ok(())
}

/// Reading options from the shared flags.
pub fn read_options(read: &crate::args::ReadArgs) -> anyhow::Result<datavet_ingest::ReadOptions> {
    let delimiter = match read.delimiter {
        Some(c) if c.is_ascii() => Some(c as u8),
        Some(c) => anyhow::bail!("--delimiter must be a single ASCII character, got '{c}'"),
        None => None,
    };
    Ok(datavet_ingest::ReadOptions {
        has_header: !read.no_header,
        delimiter,
        ..Default::default()
    })
}

/// Load the data and fingerprint every file.
pub fn load_and_fingerprint(
    data: &[std::path::PathBuf],
    read: &crate::args::ReadArgs,
    progress: &Bars,
) -> anyhow::Result<(datavet_ingest::Dataset, Vec<datavet_report::InputFile>)> {
    load_and_fingerprint_checked(data, read, progress, |_| Ok(()))
}

/// [`load_and_fingerprint`], with `before_read` looking at the resolved files before
/// any is read (the scan's memory guard).
pub fn load_and_fingerprint_checked(
    data: &[std::path::PathBuf],
    read: &crate::args::ReadArgs,
    progress: &Bars,
    before_read: impl FnOnce(&[datavet_ingest::SourceFile]) -> anyhow::Result<()>,
) -> anyhow::Result<(datavet_ingest::Dataset, Vec<datavet_report::InputFile>)> {
    let opts = read_options(read)?;
    let files = datavet_ingest::Dataset::resolve(data, &opts)?;
    before_read(&files)?;
    let dataset = datavet_ingest::Dataset::from_files(files, &opts)?;
    if dataset.n_rows() == 0 {
        let names: Vec<String> = dataset
            .files
            .iter()
            .map(|f| f.path.display().to_string())
            .collect();
        let what = if dataset.frame.width() == 0 {
            "is empty (no header, no rows)"
        } else {
            "has a header but no data rows"
        };
        anyhow::bail!("{} {what}; there is nothing to scan", names.join(", "));
    }
    if dataset.n_rows() == 1 {
        anyhow::bail!(
            "{} has only 1 data row; a scan compares rows with each other and needs at least 2",
            data_name(&dataset)
        );
    }
    let paths: Vec<std::path::PathBuf> = dataset.files.iter().map(|f| f.path.clone()).collect();
    let digests = datavet_ingest::hash_files(&paths, progress);
    let mut inputs = Vec::with_capacity(paths.len());
    for ((file, digest), rows) in dataset.files.iter().zip(digests).zip(&dataset.file_rows) {
        let digest = digest?;
        inputs.push(datavet_report::InputFile {
            path: file.path.to_string_lossy().replace('\\', "/"),
            size: digest.size,
            sha256: digest.sha256,
            rows: *rows,
        });
    }
    // The digests must be of the bytes the rows were read from.
    dataset.check_unchanged()?;
    Ok((dataset, inputs))
}

/// What a scan read, for error messages: the file, or the first file and how many more.
pub fn data_name(dataset: &datavet_ingest::Dataset) -> String {
    files_name(&dataset.files)
}

/// The first difference between the files a report was made from (`then`) and the
/// files read now, by SHA-256 in order.
pub enum InputChange<'a> {
    /// A different number of files.
    Count { then: usize, now: usize },
    /// This file's bytes differ.
    File {
        then: &'a datavet_report::InputFile,
        now: &'a datavet_report::InputFile,
    },
}

/// See [`InputChange`]; `None` when every file matches.
pub fn input_change<'a>(
    then: &'a [datavet_report::InputFile],
    now: &'a [datavet_report::InputFile],
) -> Option<InputChange<'a>> {
    if then.len() != now.len() {
        return Some(InputChange::Count {
            then: then.len(),
            now: now.len(),
        });
    }
    then.iter()
        .zip(now)
        .find(|(a, b)| a.sha256 != b.sha256)
        .map(|(then, now)| InputChange::File { then, now })
}

/// [`data_name`] of files not read yet.
pub fn files_name(files: &[datavet_ingest::SourceFile]) -> String {
    match files {
        [one] => one.path.display().to_string(),
        [first, rest @ ..] => format!("{} (and {} more files)", first.path.display(), rest.len()),
        [] => "the data".to_string(),
    }
}
