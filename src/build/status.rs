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
        let (rate, eta) = self.pace(sched);
        let names: Vec<_> = self.running.keys().map(|&j| jobs.name_str(j)).collect();
        let names: Vec<&str> = names.iter().map(|n| n.as_ref()).collect();
        compose(&Counters::of(sched), rate, eta, &names, width)
    }

    fn json(&self, jobs: &Jobs, sched: &Scheduler, last: bool) -> String {
        let n = |s: State| sched.count(s);
        let mut o = format!(
            "{{\"phase\":\"build\",\"finished\":{last},\"total\":{},\"done\":{},\"failed\":{},\
             \"prefailed\":{},\"indirect_failed\":{},\"indirect_prefailed\":{},\"open\":{},\
             \"skipped\":{},\"building\":{},\"running\":[",
            sched.len(),
            n(State::Done),
            n(State::Failed),
            n(State::Prefailed),
            n(State::IndirectFailed),
            n(State::IndirectPrefailed),
            n(State::Open),
            n(State::Prefailed) + n(State::IndirectPrefailed),
            self.running.len(),
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

/// What the status line counts, in packages. `failed` is what failed to
/// build in this run (or a resumed one); `dep_failed` cannot be built
/// because something it needs failed; `skipped` was never going to be
/// built: broken or skipped by the scan (`PKG_FAIL_REASON`,
/// `PKG_SKIP_REASON`) or depending on such a package, all known before the
/// first build starts.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counters {
    pub total: usize,
    pub built: usize,
    pub failed: usize,
    pub dep_failed: usize,
    pub skipped: usize,
    pub running: usize,
    pub left: usize,
}

impl Counters {
    pub fn of(sched: &Scheduler) -> Counters {
        Counters {
            total: sched.len(),
            built: sched.count(State::Done),
            failed: sched.count(State::Failed),
            dep_failed: sched.count(State::IndirectFailed),
            skipped: sched.count(State::Prefailed) + sched.count(State::IndirectPrefailed),
            running: sched.count(State::InProcessing),
            left: sched.count(State::Open),
        }
    }
}

/// The status line for a terminal `width` columns wide. The counters and
/// the ETA matter most: the names of what is building are cut first, then
/// the rate, then the labels get shorter (`pkgs` and `broken/` go); on a terminal too narrow even
/// for that the ETA comes first, so it is what stays visible.
pub fn compose(c: &Counters, rate: f64, eta: Option<u64>, names: &[&str], width: usize) -> String {
    let room = width.saturating_sub(1);
    let eta_known = eta.is_some();
    let eta = format!("ETA {}", eta.map_or_else(|| "--".to_string(), span));
    let long = format!(
        "built {}/{} pkgs  failed {}  dep-failed {}  broken/skipped {}  running {}  left {}",
        c.built, c.total, c.failed, c.dep_failed, c.skipped, c.running, c.left
    );
    let short = format!(
        "built {}/{}  failed {}  dep-failed {}  skipped {}  running {}  left {}",
        c.built, c.total, c.failed, c.dep_failed, c.skipped, c.running, c.left
    );
    // No rate before the first build has ended.
    let rate = match eta_known {
        true => format!("  {rate:.1} pkgs/h"),
        false => String::new(),
    };
    let fits = |s: &String| s.chars().count() <= room;
    let forms = [
        format!("{long}  {eta}{rate}"),
        format!("{long}  {eta}"),
        format!("{short}  {eta}"),
    ];
    let Some(mut line) = forms.into_iter().find(fits) else {
        return format!("{eta}  {short}").chars().take(room).collect();
    };
    if !names.is_empty() {
        let building = format!("  building: {}", names.join(" "));
        let free = room - line.chars().count();
        if building.chars().count() <= free {
            line.push_str(&building);
        } else if free > "  building: ...".len() {
            line.extend(building.chars().take(free - 3));
            line.push_str("...");
        }
    }
    line
}

#[cfg(test)]
mod tests {
    use super::*;

    const C: Counters = Counters {
        total: 29022,
        built: 12345,
        failed: 234,
        dep_failed: 1203,
        skipped: 812,
        running: 2,
        left: 14426,
    };

    #[test]
    fn wide_terminal_shows_everything_with_units() {
        let l = compose(&C, 512.3, Some(3 * 3600 + 600), &["a-1", "b-2"], 200);
        assert_eq!(
            l,
            "built 12345/29022 pkgs  failed 234  dep-failed 1203  broken/skipped 812  \
             running 2  left 14426  ETA 3h10m  512.3 pkgs/h  building: a-1 b-2"
        );
    }

    #[test]
    fn names_are_cut_before_anything_else() {
        let full = compose(&C, 1.0, Some(40), &[], 200);
        let w = full.len() + 20;
        let l = compose(&C, 1.0, Some(40), &["averyveryverylongname-1.0", "b-2"], w);
        assert!(
            l.starts_with(&full) && l.ends_with("...") && l.len() == w - 1,
            "{l}"
        );
    }

    #[test]
    fn the_eta_stays_visible_on_narrow_terminals() {
        for width in [20, 30, 40, 60, 80, 100, 120] {
            let l = compose(&C, 1.0, Some(125), &["a-1"], width);
            assert!(l.chars().count() < width, "{width}: {l}");
            assert!(l.contains("ETA 2m"), "{width}: {l}");
        }
        assert_eq!(compose(&C, 1.0, None, &[], 16), "ETA --  built 1");
        assert!(compose(&C, 0.0, None, &[], 200).ends_with("left 14426  ETA --"));
    }
}
