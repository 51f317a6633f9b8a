//! Test helpers in the style of ripgrep's `tests/util.rs`: a [`Dir`] (a temporary
//! directory with file helpers) and a [`TestCommand`] (the `datavet` binary run in
//! that directory).

#![allow(dead_code)]

use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (for fixtures).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// A temporary directory, removed when dropped.
pub struct Dir {
    tmp: tempfile::TempDir,
}

impl Dir {
    /// A new, empty directory.
    pub fn new() -> Dir {
        Dir {
            tmp: tempfile::Builder::new()
                .prefix("datavet-e2e-")
                .tempdir()
                .expect("create temp dir"),
        }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        self.tmp.path()
    }

    /// A path inside it.
    pub fn join(&self, rel: impl AsRef<Path>) -> PathBuf {
        self.path().join(rel)
    }

    /// Write a file (creating parent folders).
    pub fn create(&self, rel: impl AsRef<Path>, contents: impl AsRef<[u8]>) -> PathBuf {
        let path = self.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create parent dirs");
        }
        std::fs::write(&path, contents).expect("write file");
        path
    }

    /// Read a file as text.
    pub fn read(&self, rel: impl AsRef<Path>) -> String {
        std::fs::read_to_string(self.join(rel)).expect("read file")
    }

    /// Read a file as bytes.
    pub fn read_bytes(&self, rel: impl AsRef<Path>) -> Vec<u8> {
        std::fs::read(self.join(rel)).expect("read file")
    }

    /// Remove a file.
    pub fn remove(&self, rel: impl AsRef<Path>) {
        std::fs::remove_file(self.join(rel)).expect("remove file");
    }

    /// Copy a folder of the repository (e.g. `fixtures/provenance`) to `rel`.
    pub fn copy_fixture(&self, fixture: &str, rel: impl AsRef<Path>) {
        copy_tree(&repo_root().join(fixture), &self.join(rel));
    }

    /// Copy a committed fixture file (relative to the repository root) into the dir,
    /// under its own file name.
    pub fn fixture(&self, rel: &str) -> PathBuf {
        let src = repo_root().join(rel);
        let dst = self.join(Path::new(rel).file_name().expect("a file name"));
        std::fs::copy(&src, &dst).unwrap_or_else(|e| panic!("copy {}: {e}", src.display()));
        dst
    }

    /// Names of the entries in the dir, sorted.
    pub fn listing(&self) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(self.path())
            .expect("read dir")
            .map(|e| {
                e.expect("dir entry")
                    .file_name()
                    .to_string_lossy()
                    .into_owned()
            })
            .collect();
        names.sort();
        names
    }

    /// Run `datavet ARGS` here with colour off, whatever the exit status.
    pub fn run(&self, args: &[&str]) -> Run {
        Run(self.command().args(args).env("NO_COLOR", "1").output())
    }

    /// A command running `datavet` in this directory.
    pub fn command(&self) -> TestCommand {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_datavet"));
        cmd.current_dir(self.path());
        cmd.env_remove("SOURCE_DATE_EPOCH");
        TestCommand { cmd }
    }
}

/// Copy the folder `from` to `to`, recursively.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create dir");
    for entry in std::fs::read_dir(from).expect("read fixture dir") {
        let entry = entry.expect("dir entry");
        let target = to.join(entry.file_name());
        if entry.file_type().expect("file type").is_dir() {
            copy_tree(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), &target).expect("copy fixture file");
        }
    }
}

/// The `datavet` binary with arguments, run in a [`Dir`].
pub struct TestCommand {
    cmd: Command,
}

impl TestCommand {
    /// Add arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut TestCommand
    where
        I: IntoIterator<Item = S>,
        S: AsRef<OsStr>,
    {
        self.cmd.args(args);
        self
    }

    /// Set an environment variable.
    pub fn env(&mut self, key: &str, value: &str) -> &mut TestCommand {
        self.cmd.env(key, value);
        self
    }

    /// Run and return the output, whatever the exit status.
    pub fn output(&mut self) -> Output {
        self.cmd.output().expect("run datavet")
    }

    /// Run, expect exit status `code`, return the output.
    pub fn expect_code(&mut self, code: i32) -> Output {
        let out = self.output();
        assert_eq!(
            out.status.code(),
            Some(code),
            "{:?} exited with {:?}, expected {code}\n--- stdout\n{}\n--- stderr\n{}",
            self.cmd,
            out.status.code(),
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr),
        );
        out
    }

    /// Run, expect success, return stdout.
    pub fn stdout(&mut self) -> String {
        String::from_utf8(self.expect_code(0).stdout).expect("utf-8 stdout")
    }
}

/// stdout of an output as text.
pub fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// stderr of an output as text.
pub fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

/// Parse JSON text.
pub fn json(text: &str) -> serde_json::Value {
    serde_json::from_str(text).expect("valid JSON")
}

/// A finished run of [`Dir::run`].
pub struct Run(pub Output);

impl Run {
    /// The exit code.
    pub fn code(&self) -> i32 {
        self.0.status.code().expect("exit code")
    }

    /// stdout as text.
    pub fn stdout(&self) -> String {
        stdout(&self.0)
    }

    /// stderr as text.
    pub fn stderr(&self) -> String {
        stderr(&self.0)
    }

    /// Assert the exit code, showing the output when it differs.
    pub fn expect_code(self, code: i32) -> Run {
        assert_eq!(
            self.code(),
            code,
            "stdout:\n{}\nstderr:\n{}",
            self.stdout(),
            self.stderr()
        );
        self
    }
}
