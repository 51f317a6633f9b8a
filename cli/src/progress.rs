//! Progress bars on stderr, drawn only when stderr is a terminal and `--quiet` is not
//! given.

use std::io::IsTerminal;
use std::sync::Mutex;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One bar at a time, replaced at each stage.
pub struct Bars {
    enabled: bool,
    bar: Mutex<Option<ProgressBar>>,
}

impl Bars {
    /// Bars for this process: off when quiet or when stderr is not a terminal.
    pub fn new(quiet: bool) -> Bars {
        Bars {
            enabled: !quiet && std::io::stderr().is_terminal(),
            bar: Mutex::new(None),
        }
    }

    fn begin(&self, stage: &str, total: u64) {
        if !self.enabled {
            return;
        }
        let bytes = stage == "hashing";
        let template = if bytes {
            "{prefix:>20} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec} eta {eta}"
        } else {
            "{prefix:>20} [{bar:30}] {human_pos}/{human_len} eta {eta}"
        };
        let style = ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> ");
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr())
            .with_style(style)
            .with_prefix(stage.to_string());
        if let Some(old) = self.bar.lock().expect("progress lock").replace(bar) {
            old.finish_and_clear();
        }
    }

    fn inc(&self, n: u64) {
        if let Some(bar) = self.bar.lock().expect("progress lock").as_ref() {
            bar.inc(n);
        }
    }

    fn end(&self) {
        if let Some(bar) = self.bar.lock().expect("progress lock").take() {
            bar.finish_and_clear();
        }
    }
}

impl datavet_ingest::IngestProgress for Bars {
    fn start(&self, stage: &str, total: u64) {
        self.begin(stage, total);
    }
    fn advance(&self, n: u64) {
        self.inc(n);
    }
    fn finish(&self) {
        self.end();
    }
}

impl datavet_detect::Progress for Bars {
    fn start(&self, stage: &str, total: u64) {
        self.begin(stage, total);
    }
    fn advance(&self, n: u64) {
        self.inc(n);
    }
    fn finish(&self) {
        self.end();
    }
}
