//! The `datavet` binary: parse arguments, run one subcommand, map the outcome to an
//! exit code (0 clean, 1 findings at or above the gate, 2 error).

mod args;
mod cmd;
mod progress;
mod settings;

use std::io::Write;
use std::process::ExitCode;

use clap::Parser;

use crate::args::{Cli, Command};
use crate::cmd::ExitStatus;

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    let result = match &cli.command {
        Command::Scan(args) => cmd::scan::run(args),
        Command::Export(args) => cmd::export::run(args),
    };
    match result {
        Ok(ExitStatus::Clean) => ExitCode::SUCCESS,
        Ok(ExitStatus::Findings) => ExitCode::from(1),
        Err(err) => {
            let _ = writeln!(std::io::stderr().lock(), "{}", one_line(&err));
            ExitCode::from(2)
        }
    }
}

/// `error: <context>: <cause>: <cause>` on one line; a `hint:` the message carries
/// after `; hint:` goes on a second line.
fn one_line(err: &anyhow::Error) -> String {
    let chain: Vec<String> = err
        .chain()
        .map(|c| c.to_string().replace('\n', " "))
        .collect();
    let mut msg = chain.join(": ");
    let hint = msg.find("; hint: ").map(|at| {
        let h = msg[at + 8..].to_string();
        msg.truncate(at);
        h
    });
    match hint {
        Some(h) => format!("error: {msg}\nhint: {h}"),
        None => format!("error: {msg}"),
    }
}
