//! `datavet`: vet training data before a model is trained on it.

mod args;
mod cmd;
mod progress;
mod settings;

use std::process::ExitCode;

use clap::Parser;

fn main() -> ExitCode {
    let cli = args::Cli::parse();
    match cmd::run(cli) {
        Ok(status) => status.into(),
        Err(err) => {
            cmd::report_error(&err);
            cmd::ExitStatus::Error.into()
        }
    }
}
