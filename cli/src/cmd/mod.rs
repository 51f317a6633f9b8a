//! One module per subcommand; each returns the process outcome.

pub mod export;
pub mod scan;

use std::io::Write;

/// How a command ended when it did not fail.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExitStatus {
    /// Nothing at or above the gate (exit 0).
    Clean,
    /// Findings at or above the gate, or a verification mismatch (exit 1).
    Findings,
}

/// Write to stdout; a closed pipe (e.g. `| head`) is not an error.
pub fn write_stdout(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => Ok(other?),
    }
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
    progress: &crate::progress::Bars,
) -> anyhow::Result<(datavet_ingest::Dataset, Vec<datavet_report::InputFile>)> {
    let opts = read_options(read)?;
    let dataset = datavet_ingest::Dataset::load(data, &opts)?;
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
    Ok((dataset, inputs))
}
