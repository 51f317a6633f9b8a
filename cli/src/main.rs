//! `datavet`: vet training data before a model is trained on it.

mod args;
mod cmd;
mod memory;
mod progress;
mod settings;

use std::process::ExitCode;

use clap::Parser;

/// mimalloc instead of the system allocator: glibc's malloc keeps freed multi-megabyte
/// column buffers in its arenas (its mmap threshold grows with the first large free),
/// which at 1M rows × 32 columns held the scan's peak memory 190 MB above what was
/// live; mimalloc returns them.
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // Polars panics on some malformed files; the ingest crate catches those and turns
    // them into ordinary one-line errors, so the default hook's "thread … panicked"
    // report must not reach stderr then. Any other panic is a bug: reported as usual.
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if !datavet_ingest::reading_under_guard() {
            default_hook(info);
        }
    }));
    let cli = args::Cli::parse();
    match cmd::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            cmd::report_error(&err);
            cmd::ExitStatus::Error.into()
        }
    }
}
