//! `datavet manifest`: fingerprint files and rows, record provenance, write the
//! manifest and its row sidecar atomically.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context, bail};
use datavet_ingest::sign::{sign, signature_path};
use datavet_ingest::{
    ManifestFormat, ManifestOptions, PrivateKey, ProvenanceSpec, ReadOptions, ResolveOptions, Tool,
    build_manifest, hash_file, parse_utc, resolve, sidecar_path, write_manifest,
};

use super::{ExitStatus, write_stdout};
use crate::args::{ManifestArgs, ManifestFormatArg};
use crate::progress::Bars;

/// Settings for one run, from flags, the provenance file and the environment.
struct Settings {
    paths: Vec<PathBuf>,
    output: Option<PathBuf>,
    root: PathBuf,
    format: ManifestFormat,
    sidecar: bool,
    options: ManifestOptions,
    follow_symlinks: bool,
    sign_key: Option<PrivateKey>,
}

impl Settings {
    fn resolve(args: ManifestArgs) -> anyhow::Result<Settings> {
        // Destructure every field so a new flag cannot be silently ignored.
        let ManifestArgs {
            paths,
            output,
            root,
            format,
            no_rows,
            hash_only,
            provenance,
            source_uri,
            license,
            collection_method,
            description,
            owner,
            created_at,
            parent,
            follow_symlinks,
            delimiter,
            no_header,
            sign,
        } = args;
        // Load the key first: a bad key file fails before any hashing.
        let sign_key = sign.as_deref().map(PrivateKey::load).transpose()?;
        let output = output.filter(|o| o.as_os_str() != "-");
        if sign.is_some() && output.is_none() {
            bail!(
                "--sign needs -o FILE: the signature is written next to the manifest, to FILE.sig"
            );
        }
        let root = match (root, &output) {
            (Some(r), _) => r,
            (None, Some(o)) => match o.parent() {
                Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                _ => PathBuf::from("."),
            },
            (None, None) => PathBuf::from("."),
        };
        let spec = match &provenance {
            Some(path) => load_spec(path)?,
            None => ProvenanceSpec::default(),
        };
        let flags = datavet_ingest::Provenance {
            source_uri,
            license,
            collection_method,
            description,
            owner,
        };
        let created_at = created_at_time(created_at.as_deref())?;
        let parent_sha256 = match &parent {
            Some(p) => Some(
                hash_file(p, &())
                    .with_context(|| format!("failed to hash parent manifest {}", p.display()))?
                    .sha256,
            ),
            None => None,
        };
        Ok(Settings {
            paths,
            sidecar: output.is_some() && !no_rows && !hash_only,
            output,
            root,
            format: match format {
                ManifestFormatArg::Json => ManifestFormat::Json,
                ManifestFormatArg::InToto => ManifestFormat::InToto,
            },
            options: ManifestOptions {
                read: ReadOptions {
                    has_header: !no_header,
                    delimiter,
                    ..ReadOptions::default()
                },
                read_rows: !hash_only,
                provenance: spec.dataset.merged(&flags),
                file_provenance: spec.files,
                created_at,
                tool: Tool {
                    name: "datavet".to_string(),
                    version: env!("CARGO_PKG_VERSION").to_string(),
                },
                parent_sha256,
            },
            follow_symlinks,
            sign_key,
        })
    }
}

fn load_spec(path: &Path) -> anyhow::Result<ProvenanceSpec> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("failed to read provenance file {}", path.display()))?;
    let spec = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        serde_json::from_str(&text).map_err(anyhow::Error::from)
    } else {
        // TOML's own message draws the line over several lines: say line and column.
        toml::from_str(&text).map_err(|e| match e.span() {
            Some(span) => {
                let before = &text[..span.start.min(text.len())];
                let line = before.matches('\n').count() + 1;
                let column = before.len() - before.rfind('\n').map_or(0, |i| i + 1) + 1;
                anyhow::anyhow!("line {line}, column {column}: {}", e.message())
            }
            None => anyhow::anyhow!("{}", e.message()),
        })
    };
    spec.with_context(|| format!("failed to parse provenance file {}", path.display()))
}

/// `--created-at`, else `SOURCE_DATE_EPOCH`, else now.
fn created_at_time(flag: Option<&str>) -> anyhow::Result<i64> {
    if let Some(text) = flag {
        return parse_utc(text).with_context(|| {
            format!("--created-at '{text}' is neither RFC 3339 UTC (2024-05-01T12:00:00Z) nor Unix seconds")
        });
    }
    if let Ok(text) = std::env::var("SOURCE_DATE_EPOCH") {
        return text.trim().parse::<i64>().with_context(|| {
            format!("SOURCE_DATE_EPOCH='{text}' is not a whole number of seconds")
        });
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .context("the system clock is before 1970")?;
    Ok(now.as_secs() as i64)
}

pub fn run(args: ManifestArgs, quiet: bool, bars: &Bars) -> anyhow::Result<ExitStatus> {
    let settings = Settings::resolve(args)?;
    if let Some(out) = &settings.output {
        super::check_output(out)?;
        super::check_output(&sidecar_path(out))?;
    }
    let mut exclude = Vec::new();
    if let Some(out) = &settings.output {
        exclude.push(out.clone());
        exclude.push(sidecar_path(out));
    }
    let resolved = resolve(
        &settings.paths,
        &ResolveOptions {
            root: Some(settings.root.clone()),
            follow_symlinks: settings.follow_symlinks,
            delimiter: settings.options.read.delimiter,
            exclude,
        },
    )?;
    if resolved.files.is_empty() {
        bail!("no data files among the inputs");
    }
    let (manifest, rows) = build_manifest(&resolved, &settings.options, bars)?;
    let n_files = manifest.files.len();
    let bytes: u64 = manifest.files.iter().map(|f| f.size).sum();
    let n_rows: Option<u64> = manifest.files.iter().map(|f| f.rows).sum();

    let Some(output) = &settings.output else {
        write_stdout(&manifest.render(settings.format))?;
        return Ok(ExitStatus::Success);
    };
    let sidecar = if settings.sidecar {
        rows.as_ref()
    } else {
        None
    };
    let written = write_manifest(output, manifest, sidecar, settings.format)?;
    // Sign exactly the bytes just written (rendering is deterministic), never a
    // re-read of the file, which someone could have swapped in between.
    let signed = match &settings.sign_key {
        Some(key) => {
            let bytes = written.render(settings.format);
            Some((sign(key, output, bytes.as_bytes(), settings.format)?, key))
        }
        None => None,
    };
    if !quiet {
        let mut line = format!(
            "wrote {} ({} file{}, {} bytes",
            output.display(),
            n_files,
            if n_files == 1 { "" } else { "s" },
            bytes
        );
        if let Some(n) = n_rows {
            line.push_str(&format!(", {n} rows"));
        }
        line.push(')');
        if let Some(side) = &written.rows_sidecar {
            line.push_str(&format!(" and {}", side.path));
        }
        if let Some((sig, key)) = &signed {
            line.push_str(&format!(
                ", signed with key {} in {}",
                key.public_key().key_id(),
                sig.display()
            ));
        }
        let _ = writeln!(std::io::stderr(), "{line}");
    }
    if signed.is_none() && signature_path(output).exists() {
        let _ = writeln!(
            std::io::stderr(),
            "warning: {} is an older signature that no longer matches; sign again with \
             --sign KEY or delete it",
            signature_path(output).display()
        );
    }
    Ok(ExitStatus::Success)
}
