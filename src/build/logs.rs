//! The success and error logs (append-only, one package name a line), the
//! `-v` progress lines and the `-r` report.

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::Path;

use super::jobs::Jobs;
use super::sched::{Scheduler, State};
use crate::cli::{Error, Result};
use crate::fsutil;
use crate::record::line_of;

/// Which log a line belongs to; the words are the reference's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

pub struct Logs {
    success: File,
    error: File,
    /// Their paths, for the messages.
    paths: [std::path::PathBuf; 2],
}

impl Logs {
    /// Open (creating) both logs for appending, in the reference's order.
    pub fn open(success_path: &Path, error_path: &Path) -> Result<Logs> {
        let success = fsutil::open_append(success_path)
            .map_err(|e| Error::err("Cannot open log file for successful builds", &e))?;
        let error = fsutil::open_append(error_path)
            .map_err(|e| Error::err("Cannot open log file for failed builds", &e))?;
        Ok(Logs {
            success,
            error,
            paths: [success_path.to_path_buf(), error_path.to_path_buf()],
        })
    }

    /// Hold the success log for this builder alone: a second pbulk-build
    /// on the same logs is refused.
    pub fn lock(&self, success: &Path) -> Result<()> {
        crate::bulklock::lock_log(&self.success, success)
    }

    /// Replay the success log, then the error log, into the scheduler.
    pub fn replay(&mut self, jobs: &Jobs, sched: &mut Scheduler) -> Result<()> {
        let done = read_log(&mut self.success, &self.paths[0])?;
        let [s, e] = &self.paths;
        for_each_line(&done, s, jobs, "successful", |j| sched.replay_done(j))?;
        let failed = read_log(&mut self.error, &self.paths[1])?;
        for_each_line(&failed, e, jobs, "failing", |j| sched.replay_failed(j))
    }

    /// Record a finished build: one whole line in one write, on disk before
    /// anything else happens, so a crash never loses or halves a result.
    pub fn append(&mut self, outcome: Outcome, name: &str) -> Result<()> {
        let (f, what) = match outcome {
            Outcome::Success => (&mut self.success, "Cannot log successful build"),
            Outcome::Failure => (&mut self.error, "Cannot log failed build"),
        };
        fsutil::append_line_synced(f, name).map_err(|e| Error::err(what, &e))
    }
}

/// A log read whole, with the reference's input checks.
fn read_log(f: &mut File, path: &Path) -> Result<Vec<u8>> {
    let md = f
        .metadata()
        .map_err(|e| Error::err("Cannot stat input", &e))?;
    if !md.is_file() {
        return Err(Error::errx("Input is not regular file"));
    }
    let mut buf = Vec::new();
    f.read_to_end(&mut buf)
        .map_err(|e| Error::err("Failed to read input", &e))?;
    crate::record::check_no_nul(&buf, path)?;
    Ok(buf)
}

/// Look up every line of a log. As in the reference the name is looked up
/// before the newline is checked, so an unknown last line is reported by
/// name and a known one without newline as invalid input.
fn for_each_line(
    buf: &[u8],
    path: &Path,
    jobs: &Jobs,
    kind: &str,
    mut apply: impl FnMut(u32),
) -> Result<()> {
    let mut pos = 0;
    while pos < buf.len() {
        let nl = memchr::memchr(b'\n', &buf[pos..]).map(|i| pos + i);
        let line = &buf[pos..nl.unwrap_or(buf.len())];
        let job = jobs.lookup(line).ok_or_else(|| {
            Error::errx(format!(
                "Package from {kind} build log doesn't exist: {}",
                String::from_utf8_lossy(line)
            ))
        })?;
        apply(job);
        pos = nl.ok_or_else(|| {
            crate::record::invalid_at(path, line_of(buf, pos), "the last line has no newline")
        })? + 1;
    }
    Ok(())
}

/// The `-v` lines: `[<not open>/<total>] message`, at `-vv` prefixed with
/// the local time as `YYYY-MM-DD HH:MM`; flushed at once, because the build
/// scripts write to the same stdout.
pub struct Progress {
    pub verbosity: u32,
}

impl Progress {
    /// `progress` is taken when the reference prints: before a failure
    /// propagates to the dependents.
    pub fn line(&self, progress: usize, total: usize, msg: std::fmt::Arguments) {
        if self.verbosity == 0 {
            return;
        }
        let mut out = io::stdout().lock();
        let stamp = if self.verbosity >= 2 {
            format!("{} ", local_minute())
        } else {
            String::new()
        };
        let _ = writeln!(out, "{stamp}[{progress}/{total}] {msg}");
        let _ = out.flush();
    }

    pub fn initialised(&self) {
        if self.verbosity >= 1 {
            let mut out = io::stdout().lock();
            let _ = out.write_all(b"Initialisation complete.\n");
            let _ = out.flush();
        }
    }
}

/// `strftime("%F %R")` of the local time.
fn local_minute() -> String {
    // SAFETY: time/localtime_r/strftime on local buffers of the sizes given.
    unsafe {
        let now = libc::time(std::ptr::null_mut());
        let mut tm: libc::tm = std::mem::zeroed();
        libc::localtime_r(&now, &mut tm);
        let mut buf = [0u8; 64];
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), c"%F %R".as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

/// The `-r` report: `<pkgname>|<status>||<pkg_depth>` per job in input
/// order. A regular file (or a new one) is replaced atomically; anything
/// else (a symlink such as `/dev/stdout`, a pipe) is written through in
/// place, as the reference does, rather than replaced by a file.
pub fn write_report(path: &Path, jobs: &Jobs, sched: &Scheduler, depth: &[u64]) -> Result<()> {
    let fill = |w: &mut dyn Write| -> io::Result<()> {
        for j in 0..jobs.len() as u32 {
            debug_assert_ne!(sched.state(j), State::Init);
            w.write_all(jobs.name(j))?;
            writeln!(
                w,
                "|{}||{}",
                sched.state(j).report_name(),
                depth[j as usize]
            )?;
        }
        Ok(())
    };
    let done = fsutil::write_atomic_with(path, |w| fill(w));
    done.map_err(|e| Error::err("Cannot open report file", &e))
}

/// One line of the build timeline (`pkgname,slot,start,end,status`, epoch
/// seconds, the report's `build-timeline.csv`), appended in one write.
pub fn append_timeline(path: &Path, name: &str, slot: &str, ms: u64, ok: bool) -> Result<()> {
    let end = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default();
    let start = end.saturating_sub(std::time::Duration::from_millis(ms));
    let status = if ok { "done" } else { "failed" };
    let line = format!(
        "{name},{slot},{},{},{status}",
        start.as_secs(),
        end.as_secs()
    );
    fsutil::open_append(path)
        .and_then(|mut f| fsutil::append_line_synced(&mut f, &line))
        .map_err(|e| Error::err(format_args!("cannot append to {}", path.display()), &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn jobs() -> Jobs {
        let rec = |n: &str| format!("PKGNAME={n}\nPKG_SKIP_REASON=\nPKG_FAIL_REASON=\n");
        Jobs::parse(
            format!("{}{}", rec("aaaa-1"), rec("bbbb-1")).into_bytes(),
            std::path::Path::new("presolve"),
        )
        .unwrap()
    }

    fn lines(buf: &[u8]) -> Result<Vec<u32>> {
        let mut seen = Vec::new();
        let path = Path::new("meta/success");
        for_each_line(buf, path, &jobs(), "successful", |j| seen.push(j)).map(|_| seen)
    }

    #[test]
    fn log_lines_are_looked_up_with_reference_errors() {
        assert_eq!(lines(b"bbbb-1\naaaa-1\n").unwrap(), vec![1, 0]);
        assert_eq!(
            lines(b"bbbb-1\naaaa-1").unwrap_err().msg,
            "Invalid input: meta/success, line 2: the last line has no newline"
        );
        assert_eq!(
            lines(b"aaaa-1\nzzz").unwrap_err().msg,
            "Package from successful build log doesn't exist: zzz"
        );
        assert_eq!(
            lines(b"\n").unwrap_err().msg,
            "Package from successful build log doesn't exist: "
        );
    }
}
