//! Progress bars on stderr (indicatif), shown only when stderr is a terminal and
//! `--quiet` is not given.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// One bar at a time, replaced at each stage.
pub struct Bars {
    enabled: bool,
    current: Mutex<Option<ProgressBar>>,
}

impl Bars {
    /// Bars on stderr when it is a terminal and not `quiet`.
    pub fn new(quiet: bool) -> Bars {
        Bars {
            enabled: !quiet && std::io::stderr().is_terminal(),
            current: Mutex::new(None),
        }
    }

    fn start(&self, stage: &str, total: u64) {
        if !self.enabled {
            return;
        }
        let bar = ProgressBar::with_draw_target(Some(total), ProgressDrawTarget::stderr());
        bar.set_style(
            ProgressStyle::with_template("{msg:>22} [{bar:30}] {percent:>3}% {elapsed_precise}")
                .expect("valid template")
                .progress_chars("=> "),
        );
        bar.set_message(stage.to_string());
        bar.enable_steady_tick(Duration::from_millis(200));
        if let Some(old) = self.current.lock().expect("bar lock").replace(bar) {
            old.finish_and_clear();
        }
    }

    fn advance(&self, n: u64) {
        if let Some(bar) = self.current.lock().expect("bar lock").as_ref() {
            bar.inc(n);
        }
    }

    fn finish(&self) {
        if let Some(bar) = self.current.lock().expect("bar lock").take() {
            bar.finish_and_clear();
        }
    }
}

impl datavet_detect::Progress for Bars {
    fn start(&self, stage: &str, total: u64) {
        Bars::start(self, stage, total);
    }
    fn advance(&self, n: u64) {
        Bars::advance(self, n);
    }
    fn finish(&self) {
        Bars::finish(self);
    }
}

impl datavet_ingest::IngestProgress for Bars {
    fn start(&self, stage: &str, total: u64) {
        Bars::start(self, stage, total);
    }
    fn advance(&self, n: u64) {
        Bars::advance(self, n);
    }
    fn finish(&self) {
        Bars::finish(self);
    }
}
