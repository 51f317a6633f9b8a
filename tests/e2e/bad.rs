//! The bad-input corpus (`fixtures/bad/`, indexed by `fixtures/bad/index.tsv`): every
//! case runs through the binary and must not panic, must exit as the index says, and
//! on error must print one `error:` line (plus at most a `hint:` line) naming the file
//! and leave no output file behind. Every case runs; failures are reported together,
//! by case name.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::util::{Dir, copy_tree, repo_root};

/// One line of the index.
struct Case {
    name: String,
    generated: bool,
    args: Vec<String>,
    exit: i32,
    must: Vec<String>,
}

fn index() -> Vec<Case> {
    let text = std::fs::read_to_string(repo_root().join("fixtures/bad/index.tsv"))
        .expect("read fixtures/bad/index.tsv");
    let mut cases = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.starts_with('#') || line.trim().is_empty() {
            continue;
        }
        let cols: Vec<&str> = line.split('\t').collect();
        assert_eq!(cols.len(), 5, "index.tsv line {}: {line:?}", i + 1);
        let (generated, name) = match cols[0].strip_prefix("gen:") {
            Some(n) => (true, n.to_string()),
            None => (false, cols[0].to_string()),
        };
        cases.push(Case {
            name,
            generated,
            args: cols[1].split(' ').map(str::to_string).collect(),
            exit: cols[2].parse().expect("exit code"),
            must: cols[3].split(';').map(str::to_string).collect(),
        });
    }
    cases
}

/// Whether this process can read a file whose mode is 000 (root can).
fn reads_despite_permissions(dir: &Path) -> bool {
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let p = dir.join(".probe");
        std::fs::write(&p, "x").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
        let readable = std::fs::read(&p).is_ok();
        std::fs::remove_file(&p).unwrap();
        readable
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        true
    }
}

#[cfg(unix)]
fn mkfifo(path: &Path) {
    let ok = Command::new("mkfifo")
        .arg(path)
        .status()
        .is_ok_and(|s| s.success());
    assert!(ok, "mkfifo {}", path.display());
}

const TABLE: &str = "a,b,label\n1,2,x\n3,4,y\n5,6,x\n";

/// Build a manifest of `data/` (two CSVs) in `dir`, as `m.json`.
fn manifest_of_data(dir: &Dir) {
    dir.create("data/train.csv", TABLE);
    dir.create("data/more.csv", TABLE);
    dir.command()
        .args(["manifest", "data", "-o", "m.json", "-q"])
        .expect_code(0);
}

/// Set up a generated case; returns a note when part of the case had to stand in for
/// something this environment cannot do.
fn generate(name: &str, dir: &Dir) -> Option<&'static str> {
    match name {
        "big_cell" => {
            let mut text = String::from("a,b,note,label\n");
            for r in 0..30 {
                let note = if r == 5 {
                    "Z".repeat(10 << 20)
                } else {
                    format!("n{}", r % 3)
                };
                text.push_str(&format!("{r},{},{note},{}\n", r % 7, ["x", "y"][r % 2]));
            }
            dir.create("big_cell.csv", text);
        }
        "wide_10000" | "wide_10000_scan" => {
            let cols = 10_000;
            let mut text: Vec<String> = (0..cols).map(|c| format!("c{c}")).collect();
            text.push("label".into());
            let mut out = text.join(",");
            out.push('\n');
            for r in 0..30usize {
                let row: Vec<String> = (0..cols)
                    .map(|c| ((r * 31 + c * 17) % 10).to_string())
                    .chain([["x", "y"][r % 2].to_string()])
                    .collect();
                out.push_str(&row.join(","));
                out.push('\n');
            }
            dir.create("wide.csv", out);
        }
        #[cfg(unix)]
        "fifo_scan" => mkfifo(&dir.join("pipe.csv")),
        #[cfg(unix)]
        "unreadable_scan" => {
            use std::os::unix::fs::PermissionsExt;
            if reads_despite_permissions(dir.path()) {
                mkfifo(&dir.join("locked.csv"));
                return Some("running as root: a FIFO stands in for the unreadable file");
            }
            let p = dir.create("locked.csv", TABLE);
            std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o000)).unwrap();
        }
        #[cfg(unix)]
        "symlink_loop_manifest" | "symlink_loop_follow" => {
            dir.create("data/train.csv", TABLE);
            std::os::unix::fs::symlink("..", dir.join("data/loop")).unwrap();
        }
        #[cfg(unix)]
        "symlink_loop_verify" => {
            manifest_of_data(dir);
            std::os::unix::fs::symlink(".", dir.join("data/loop")).unwrap();
        }
        "file_replaced_by_folder" => {
            manifest_of_data(dir);
            dir.remove("data/train.csv");
            dir.create("data/train.csv/inner.csv", TABLE);
        }
        #[cfg(unix)]
        "fifo_verify" => {
            manifest_of_data(dir);
            dir.remove("data/train.csv");
            mkfifo(&dir.join("data/train.csv"));
        }
        #[cfg(unix)]
        "unreadable_verify" => {
            use std::os::unix::fs::PermissionsExt;
            manifest_of_data(dir);
            if reads_despite_permissions(dir.path()) {
                dir.remove("data/train.csv");
                mkfifo(&dir.join("data/train.csv"));
                return Some("running as root: a FIFO stands in for the unreadable file");
            }
            std::fs::set_permissions(
                dir.join("data/train.csv"),
                std::fs::Permissions::from_mode(0o000),
            )
            .unwrap();
        }
        other => panic!("no generator for case gen:{other}"),
    }
    None
}

/// Every path below `root` with its size and modification time (symlinks not followed).
fn snapshot(root: &Path) -> BTreeMap<PathBuf, (u64, Option<std::time::SystemTime>)> {
    let mut out = BTreeMap::new();
    // Unreadable folders (a case's own doing) are skipped, not walked.
    for entry in walkdir::WalkDir::new(root)
        .min_depth(1)
        .into_iter()
        .flatten()
    {
        let meta = std::fs::symlink_metadata(entry.path()).unwrap();
        out.insert(entry.into_path(), (meta.len(), meta.modified().ok()));
    }
    out
}

/// Run one case; `Err` describes what went wrong.
fn run_case(case: &Case) -> Result<Option<&'static str>, String> {
    let dir = Dir::new();
    let mut note = None;
    if case.generated {
        note = generate(&case.name, &dir);
    } else {
        let src = repo_root().join("fixtures/bad").join(&case.name);
        if !src.is_dir() {
            return Err(format!("fixture folder {} is missing", src.display()));
        }
        copy_tree(&src, dir.path());
    }
    let mut args = case.args.clone();
    match args[0].as_str() {
        "scan" => args.extend(
            [
                "--json", "out.json", "--export", "f.csv", "--clean", "c.csv",
            ]
            .map(String::from),
        ),
        "manifest" if !args.iter().any(|a| a == "-o") => {
            args.extend(["-o", "out.m.json"].map(String::from))
        }
        _ => {}
    }
    let before = snapshot(dir.path());
    let out = dir
        .command()
        .args(&args)
        .env("RUST_BACKTRACE", "1")
        .output();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let show = || {
        format!(
            "datavet {}\n--- stdout\n{stdout}--- stderr\n{stderr}",
            args.join(" ")
        )
    };
    let code = out.status.code();
    if code == Some(101) || stderr.contains("panicked") || stderr.contains("RUST_BACKTRACE") {
        return Err(format!("panicked\n{}", show()));
    }
    if code != Some(case.exit) {
        return Err(format!("exit {code:?}, expected {}\n{}", case.exit, show()));
    }
    let haystack = if case.exit == 2 {
        let lines: Vec<&str> = stderr.lines().collect();
        let shape_ok = match lines.as_slice() {
            [e] => e.starts_with("error: "),
            [e, h] => e.starts_with("error: ") && h.starts_with("hint: "),
            _ => false,
        };
        if !shape_ok {
            return Err(format!(
                "stderr is not one `error:` line (+ optional `hint:`)\n{}",
                show()
            ));
        }
        let after = snapshot(dir.path());
        if after != before {
            let new: Vec<_> = after
                .keys()
                .filter(|k| before.get(*k) != after.get(*k))
                .collect();
            return Err(format!(
                "files created or changed on error: {new:?}\n{}",
                show()
            ));
        }
        lines[0].to_string()
    } else {
        format!("{stdout}{stderr}")
    };
    for m in &case.must {
        if !haystack.contains(m.as_str()) {
            return Err(format!("output does not contain {m:?}\n{}", show()));
        }
    }
    Ok(note)
}

#[test]
#[allow(clippy::print_stderr)] // notes on stand-ins, shown with --nocapture
fn bad_input_corpus() {
    let cases = index();
    assert!(cases.len() >= 40, "only {} cases", cases.len());
    // Every committed folder has an index line, and every line its folder.
    let listed: Vec<&str> = cases
        .iter()
        .filter(|c| !c.generated)
        .map(|c| c.name.as_str())
        .collect();
    for entry in std::fs::read_dir(repo_root().join("fixtures/bad")).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_dir() {
            let name = entry.file_name().to_string_lossy().into_owned();
            assert!(
                listed.contains(&name.as_str()),
                "fixtures/bad/{name} is not in index.tsv"
            );
        }
    }
    let only = std::env::var("DATAVET_BAD_CASE").ok();
    let mut failures = Vec::new();
    let mut ran = 0;
    for case in &cases {
        if only.as_deref().is_some_and(|o| o != case.name) {
            continue;
        }
        #[cfg(not(unix))]
        if case.generated
            && !matches!(
                case.name.as_str(),
                "big_cell" | "wide_10000" | "wide_10000_scan" | "file_replaced_by_folder"
            )
        {
            continue;
        }
        ran += 1;
        match run_case(case) {
            Ok(Some(note)) => eprintln!("case {}: ok ({note})", case.name),
            Ok(None) => {}
            Err(why) => failures.push(format!("=== case {}: {why}", case.name)),
        }
    }
    assert!(ran > 0, "no case matched DATAVET_BAD_CASE");
    assert!(
        failures.is_empty(),
        "{} of {ran} bad-input cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
