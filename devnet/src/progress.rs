//! Progress on long steps: an `indicatif` bar or spinner on a terminal; on a pipe or in CI
//! (no terminal to redraw), a plain line every few seconds instead, so logs stay readable.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};

/// The bar on screen, if any: [`say`] prints above it instead of through it.
static ACTIVE: Mutex<Option<(u64, ProgressBar)>> = Mutex::new(None);
static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Prints a line of devnet output (to stderr, above the progress bar if one is drawn).
pub fn say(line: String) {
    match ACTIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()).as_ref() {
        Some((_, bar)) => bar.println(line),
        None => eprintln!("{line}"),
    }
}

/// `say!("...", args)`: [`say`] with `format!` arguments.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => { $crate::progress::say(format!($($arg)*)) };
}

/// How often the plain form prints.
const PLAIN_EVERY: Duration = Duration::from_secs(5);

pub struct Progress {
    id: u64,
    bar: Option<ProgressBar>,
    label: String,
    total: Option<u64>,
    state: Mutex<(u64, Instant, String)>,
}

/// A bar over `total` steps.
pub fn bar(total: u64, label: &str) -> Progress {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("[devnet] {prefix} [{bar:30}] {pos}/{len} {elapsed} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> "),
        );
        bar.set_prefix(label.to_string());
        bar
    });
    Progress::new(bar, label, Some(total))
}

/// A spinner for a wait of unknown length.
pub fn spinner(label: &str) -> Progress {
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new_spinner();
        bar.set_style(
            ProgressStyle::with_template("[devnet] {spinner} {prefix} {elapsed} {wide_msg}")
                .unwrap_or_else(|_| ProgressStyle::default_spinner()),
        );
        bar.set_prefix(label.to_string());
        bar.enable_steady_tick(Duration::from_millis(120));
        bar
    });
    Progress::new(bar, label, None)
}

impl Progress {
    fn new(bar: Option<ProgressBar>, label: &str, total: Option<u64>) -> Self {
        let id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(bar) = &bar {
            *ACTIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner()) = Some((id, bar.clone()));
        }
        Self { id, bar, label: label.to_string(), total, state: Mutex::new((0, Instant::now(), String::new())) }
    }

    pub fn inc(&self, steps: u64) {
        match &self.bar {
            Some(bar) => bar.inc(steps),
            None => {
                let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                state.0 += steps;
                self.maybe_print(&mut state);
            }
        }
    }

    pub fn set_message(&self, message: String) {
        match &self.bar {
            Some(bar) => bar.set_message(message),
            None => {
                let mut state = self.state.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
                state.2 = message;
                self.maybe_print(&mut state);
            }
        }
    }

    /// A line above the bar (or just a line).
    pub fn println(&self, line: String) {
        match &self.bar {
            Some(bar) => bar.println(line),
            None => eprintln!("{line}"),
        }
    }

    /// Sets the message shown beside the bar (plain mode: printed at most every 5 s).
    pub fn stage(&self, message: &str) {
        self.set_message(message.to_string());
    }

    pub fn finish_and_clear(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            let mut active = ACTIVE.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
            if active.as_ref().is_some_and(|(id, _)| *id == self.id) {
                *active = None;
            }
        }
    }

    fn maybe_print(&self, state: &mut (u64, Instant, String)) {
        if state.1.elapsed() < PLAIN_EVERY {
            return;
        }
        state.1 = Instant::now();
        let position = match self.total {
            Some(total) => format!(" {}/{total}", state.0),
            None => String::new(),
        };
        eprintln!("[devnet] {}{position}: {}", self.label, state.2);
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish_and_clear();
    }
}
