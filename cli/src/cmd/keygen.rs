//! `datavet keygen`: make an ed25519 key pair for signing manifests. The private key
//! file is created owner-only (mode 0600) and never replaced without `--force`; no key
//! is ever printed, only its key id.

use std::io::Write;

use datavet_ingest::IngestError;
use datavet_ingest::sign::{generate, public_key_path};

use super::ExitStatus;
use crate::args::KeygenArgs;

pub fn run(args: KeygenArgs, quiet: bool) -> anyhow::Result<ExitStatus> {
    let KeygenArgs { output, force } = args;
    let public = generate(&output, force).map_err(|e| match e {
        IngestError::AlreadyExists { path } => anyhow::anyhow!(
            "{} already exists; hint: pass --force to replace the key pair \
             (manifests signed with the old key then no longer verify with the new one)",
            path.display()
        ),
        e => e.into(),
    })?;
    if !quiet {
        let _ = writeln!(
            std::io::stderr(),
            "wrote private key {} (owner-only; keep it secret) and public key {} (key id {})",
            output.display(),
            public_key_path(&output).display(),
            public.key_id()
        );
    }
    Ok(ExitStatus::Success)
}
