//! Live progress of a build (pbulk-rs extension; the `-v` lines stay as
//! the reference prints them): a one-line status kept at the bottom of the
//! terminal when stdout is one, and a JSON snapshot replaced atomically
//! whenever a build starts or ends when `PBULK_STATUS_FILE` names a file
//! (a few milliseconds each, next to builds of seconds to hours). The build phase names `${loc}/status.json`; a pbulk-build started
//! by other scripts writes nothing extra.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{self, Write};
use std::path::PathBuf;
use std::time::{Instant, SystemTime};

use super::jobs::Jobs;
use super::sched::{Scheduler, State};
use crate::cli::{Error, Result};
use crate::fsutil;

/// Environment variable naming the JSON snapshot to keep.
pub const STATUS_FILE_ENV: &str = "PBULK_STATUS_FILE";

pub struct Status {
    file: Option<PathBuf>,
    /// Terminal width, when stdout is a terminal.
    tty: Option<usize>,
    start: Instant,
    start_unix: u64,
    /// Jobs being built and when they started (Unix seconds).
    running: BTreeMap<u32, u64>,
    /// Builds finished by this run (not replayed from the logs).
    finished: u64,
    line_shown: bool,
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(SystemTime::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// The width of the terminal on stdout, if stdout is one.
fn terminal_width() -> Option<usize> {
    // SAFETY: isatty and TIOCGWINSZ on fd 1 with a winsize of the right type.
    unsafe {
        if libc::isatty(1) != 1 {
            return None;
        }
        let mut ws: libc::winsize = std::mem::zeroed();
        if libc::ioctl(1, libc::TIOCGWINSZ, &mut ws) == 0 && ws.ws_col > 0 {
            Some(usize::from(ws.ws_col))
        } else {
            Some(80)
        }
    }
}

fn json_str(out: &mut String, s: &str) {
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// `1h05m`, `12m`, `40s`.
fn span(secs: u64) -> String {
    match secs {
        s if s >= 3600 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        s if s >= 60 => format!("{}m", s / 60),
        s => format!("{s}s"),
    }
}

impl Status {
    /// What the environment asks for: the snapshot file, and whether
    /// stdout is a terminal.
    pub fn from_env() -> Status {
        let dumb = std::env::var_os("TERM").is_some_and(|t| t == "dumb");
        Status {
            file: std::env::var_os(STATUS_FILE_ENV)
                .filter(|f| !f.is_empty())
                .map(PathBuf::from),
            tty: terminal_width().filter(|_| !dumb),
            start: Instant::now(),
            start_unix: unix_now(),
            running: BTreeMap::new(),
            finished: 0,
            line_shown: false,
        }
    }

    /// Take the status line off the screen before a `-v` line is printed.
    pub fn clear_line(&mut self) {
        if self.line_shown {
            let mut out = io::stdout().lock();
            let _ = out.write_all(b"\r\x1b[K");
            let _ = out.flush();
            self.line_shown = false;
        }
    }

    pub fn started(&mut self, job: u32, jobs: &Jobs, sched: &Scheduler) -> Result<()> {
        self.running.insert(job, unix_now());
        self.update(jobs, sched, false)
    }

    /// A build ended with a result, or was lost and will start again.
    pub fn ended(&mut self, job: u32, counted: bool, jobs: &Jobs, sched: &Scheduler) -> Result<()> {
        self.running.remove(&job);
        if counted {
            self.finished += 1;
        }
        self.update(jobs, sched, false)
    }

    /// The build is over: the last snapshot, and the terminal line gone.
    pub fn done(&mut self, jobs: &Jobs, sched: &Scheduler) -> Result<()> {
        self.running.clear();
        self.update(jobs, sched, true)?;
        self.clear_line();
        Ok(())
    }

    /// Packages built per hour by this run, and the seconds left at that
    /// rate, once something has been built.
    fn pace(&self, sched: &Scheduler) -> (f64, Option<u64>) {
        let secs = self.start.elapsed().as_secs_f64();
        if self.finished == 0 || secs <= 0.0 {
            return (0.0, None);
        }
        let per_sec = self.finished as f64 / secs;
        let left = (sched.count(State::Open) + sched.count(State::InProcessing)) as f64;
        (per_sec * 3600.0, Some((left / per_sec).round() as u64))
    }

    fn update(&mut self, jobs: &Jobs, sched: &Scheduler, last: bool) -> Result<()> {
        if let Some(width) = self.tty.filter(|_| !last) {
            let line = self.line(jobs, sched, width);
            let mut out = io::stdout().lock();
            let _ = write!(out, "\r\x1b[K{line}");
            let _ = out.flush();
            self.line_shown = true;
        }
        if let Some(file) = &self.file {
            let text = self.json(jobs, sched, last);
            fsutil::write_atomic(file, text.as_bytes())
                .map_err(|e| Error::err(format_args!("Cannot write {}", file.display()), &e))?;
        }
        Ok(())
    }

    fn line(&self, jobs: &Jobs, sched: &Scheduler, width: usize) -> String {
        let failed = sched.count(State::Failed)
            + sched.count(State::IndirectFailed)
            + sched.count(State::Prefailed)
            + sched.count(State::IndirectPrefailed);
        let mut line = format!(
            "done {}  failed {}  running {}  left {}",
            sched.count(State::Done),
            failed,
            sched.count(State::InProcessing),
            sched.count(State::Open)
        );
        let (rate, eta) = self.pace(sched);
        if let Some(eta) = eta {
            let _ = write!(line, "  {rate:.1}/h  ETA {}", span(eta));
        }
        let names: Vec<_> = self.running.keys().map(|&j| jobs.name_str(j)).collect();
        if !names.is_empty() {
            let _ = write!(line, "  [{}]", names.join(" "));
        }
        // A line longer than the terminal would wrap and stay on screen.
        line.chars().take(width.saturating_sub(1)).collect()
    }

    fn json(&self, jobs: &Jobs, sched: &Scheduler, last: bool) -> String {
        let n = |s: State| sched.count(s);
        let mut o = format!(
            "{{\"phase\":\"build\",\"finished\":{last},\"total\":{},\"done\":{},\"failed\":{},\
             \"prefailed\":{},\"indirect_failed\":{},\"indirect_prefailed\":{},\"open\":{},\
             \"running\":[",
            sched.len(),
            n(State::Done),
            n(State::Failed),
            n(State::Prefailed),
            n(State::IndirectFailed),
            n(State::IndirectPrefailed),
            n(State::Open),
        );
        for (i, (&job, since)) in self.running.iter().enumerate() {
            if i > 0 {
                o.push(',');
            }
            o.push_str("{\"package\":");
            json_str(&mut o, &jobs.name_str(job));
            let _ = write!(o, ",\"since\":{since}}}");
        }
        let (rate, eta) = self.pace(sched);
        let eta = eta.map_or("null".to_string(), |s| s.to_string());
        let _ = writeln!(
            o,
            "],\"started\":{},\"updated\":{},\"built_per_hour\":{rate:.2},\"eta_seconds\":{eta}}}",
            self.start_unix,
            unix_now()
        );
        o
    }
}
