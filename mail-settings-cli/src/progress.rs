//! Progress on a terminal, plain lines elsewhere.
//!
//! - `collect --once` and the running collector: on a terminal (stderr), one `indicatif` bar
//!   per account (messages done of the run's total, megabytes); when stderr is not a terminal
//!   (a pipe, a file, a test), one plain line per account when its run ends, with no escape
//!   code and no carriage return.
//! - `check`: a spinner with the elapsed time while the check runs, on a terminal only; it is
//!   cleared before the report is printed.

use crate::output::cell;
use indicatif::{MultiProgress, ProgressBar, ProgressDrawTarget, ProgressStyle};
use mail_settings_core::collector::{Progress, ProgressListener};
use mail_settings_core::model::RecordId;
use std::collections::HashMap;
use std::io::{IsTerminal, Write};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// Whether progress may draw (stderr is a terminal).
pub fn on_terminal() -> bool {
    std::io::stderr().is_terminal()
}

/// The collector's progress: bars on a terminal, plain lines otherwise.
pub fn collect_listener() -> Arc<dyn ProgressListener> {
    if on_terminal() {
        Arc::new(Bars::new(ProgressDrawTarget::stderr()))
    } else {
        Arc::new(PlainLines::new(Box::new(std::io::stderr())))
    }
}

/// One bar per account, drawn by indicatif.
struct Bars {
    multi: MultiProgress,
    bars: Mutex<HashMap<RecordId, ProgressBar>>,
}

impl std::fmt::Debug for Bars {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Bars")
    }
}

impl Bars {
    fn new(target: ProgressDrawTarget) -> Self {
        Self {
            multi: MultiProgress::with_draw_target(target),
            bars: Mutex::new(HashMap::new()),
        }
    }
}

fn bar_style() -> ProgressStyle {
    ProgressStyle::with_template("{prefix:40} [{bar:30}] {pos:>6}/{len:<6} messages {msg}")
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .progress_chars("=> ")
}

impl ProgressListener for Bars {
    fn on_progress(&self, p: &Progress) {
        let mut bars = self.bars.lock().unwrap_or_else(PoisonError::into_inner);
        let bar = bars.entry(p.account_id).or_insert_with(|| {
            let bar = self.multi.add(ProgressBar::new(p.total));
            bar.set_style(bar_style());
            bar.set_prefix(cell(&p.account_name, 40));
            bar
        });
        bar.set_length(p.total);
        bar.set_position(p.done);
        bar.set_message(format!("{:.1} MB", p.bytes as f64 / 1e6));
        if p.done >= p.total {
            bar.finish();
            bars.remove(&p.account_id);
        }
    }
}

/// One plain line per account when its run ends: for pipes, files and tests.
struct PlainLines {
    out: Mutex<Box<dyn Write + Send>>,
    /// Per account, the counts of its last line.
    printed: Mutex<std::collections::HashMap<i64, (u64, u64, u64)>>,
}

impl std::fmt::Debug for PlainLines {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PlainLines")
    }
}

impl PlainLines {
    fn new(out: Box<dyn Write + Send>) -> Self {
        Self {
            out: Mutex::new(out),
            printed: Mutex::new(std::collections::HashMap::new()),
        }
    }
}

/// The plain line for a finished run.
fn plain_line(p: &Progress) -> String {
    format!(
        "{}: {}/{} {}, {:.1} MB",
        cell(&p.account_name, 40),
        p.done,
        p.total,
        if p.total == 1 { "message" } else { "messages" },
        p.bytes as f64 / 1e6
    )
}

impl ProgressListener for PlainLines {
    fn on_progress(&self, p: &Progress) {
        // An account's run reports its end once per folder (and a folder with nothing new
        // reports 0/0): a line only when the account's totals moved since its last line.
        if p.done >= p.total {
            let mut printed = self.printed.lock().unwrap_or_else(PoisonError::into_inner);
            if printed.get(&p.account_id) == Some(&(p.done, p.total, p.bytes)) {
                return;
            }
            printed.insert(p.account_id, (p.done, p.total, p.bytes));
            let mut out = self.out.lock().unwrap_or_else(PoisonError::into_inner);
            let _ = writeln!(out, "{}", plain_line(p));
            let _ = out.flush();
        }
    }
}

/// A spinner while a check runs, on a terminal only; [`Spinner::done`] clears it.
#[derive(Debug)]
pub struct Spinner(Option<ProgressBar>);

impl Spinner {
    /// Starts the spinner with `what` beside it (nothing when stderr is not a terminal).
    pub fn start(what: &str) -> Self {
        if !on_terminal() {
            return Self(None);
        }
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("{spinner} {msg} ({elapsed})")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_message(cell(what, 60));
        bar.enable_steady_tick(Duration::from_millis(120));
        Self(Some(bar))
    }

    /// Clears the spinner.
    pub fn done(self) {
        if let Some(bar) = self.0 {
            bar.finish_and_clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Clone, Default)]
    struct Sink(Arc<Mutex<Vec<u8>>>);
    impl Write for Sink {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    fn progress(done: u64, total: u64) -> Progress {
        Progress {
            account_id: 7,
            account_name: "Helpdesk \u{1b}[31mIMAP".into(),
            done,
            total,
            bytes: 1_500_000,
            total_bytes: 3_000_000,
        }
    }

    #[test]
    fn plain_lines_print_one_line_per_finished_run_without_escapes() {
        let sink = Sink::default();
        let plain = PlainLines::new(Box::new(sink.clone()));
        plain.on_progress(&progress(0, 2));
        plain.on_progress(&progress(1, 2));
        assert!(sink.0.lock().unwrap().is_empty(), "nothing before the end");
        plain.on_progress(&progress(2, 2));
        let text = String::from_utf8(sink.0.lock().unwrap().clone()).unwrap();
        assert_eq!(text, "Helpdesk \\x1b[31mIMAP: 2/2 messages, 1.5 MB\n");
        assert!(!text.contains('\u{1b}') && !text.contains('\r'));
    }

    #[test]
    fn bars_drawn_to_a_hidden_target_track_each_account() {
        let bars = Bars::new(ProgressDrawTarget::hidden());
        bars.on_progress(&progress(0, 2));
        bars.on_progress(&progress(1, 2));
        {
            let map = bars.bars.lock().unwrap();
            let bar = map.get(&7).unwrap();
            assert_eq!((bar.position(), bar.length()), (1, Some(2)));
        }
        bars.on_progress(&progress(2, 2));
        assert!(
            bars.bars.lock().unwrap().is_empty(),
            "a finished bar is let go"
        );
    }
}
