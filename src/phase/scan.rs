//! The scan phase: pbulk-scan then pbulk-resolve, full or limited
//! (scripts.md §3.5). Both programs are the ones the config names
//! (`${pscan}`, `${presolve}`), called with the reference command lines;
//! the only addition is `-j ${scan_procs}` when the config sets it with
//! `master_mode=no`. With `master_mode=yes` and the Joyent dialect's
//! `chroot_dir`, every pbulk-scan master run is wrapped in the creation and
//! removal of the scan chroot `${chroot_dir}-scan` (see [`super::chroot`]).
//!
//! Unlike the sh original, the files the phase fills from a child's stdout
//! (`presolve`, `presolve.new`, `missing`, `missing.s`) are written to a
//! temporary name and renamed, so a crash never leaves half of one.

use std::ffi::OsString;
use std::fs::File;
use std::io::Write;
use std::os::unix::process::ExitStatusExt;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};

use crate::cli::{self, Error, Result};
use crate::config::{self, split_words, Config};
use crate::fsutil;

use super::chroot::{Kind, Manager};

const HELP: &str =
    "scan: the scan phase of a pbulk bulk build: run pbulk-scan over the pkgsrc tree\n\
(or the limited list and its dependencies) and resolve the result into LOC/presolve.\n";

pub fn main(args: Vec<OsString>) -> Result<i32> {
    cli::operands(args, HELP, "usage: scan\n")?;
    let cfg = Config::load_checked()?;
    let _lock = super::group::start_phase(&cfg, "scan", true)?;
    Phase::new(&cfg)?.run()
}

/// How the original's `set -e` ends the script when a command fails.
fn failed(status: ExitStatus) -> Error {
    let code = status
        .code()
        .or_else(|| status.signal().map(|s| 128 + s))
        .unwrap_or(1);
    Error::stderr(code, "")
}

fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// Where a child's stdout goes.
enum Out<'a> {
    Inherit,
    /// Replace this file with the complete output (atomically).
    File(&'a Path),
}

struct Phase<'c> {
    cfg: &'c Config,
    loc: PathBuf,
    extra_scan: Vec<String>,
    extra_resolve: Vec<String>,
    chroots: Option<Manager<'c>>,
}

impl<'c> Phase<'c> {
    /// The phase, with the dialect's chroot programs checked first.
    fn new(cfg: &'c Config) -> Result<Self> {
        let chroots = if cfg.is_yes_ci("master_mode") {
            Manager::for_phase(cfg, Kind::Scan)?
        } else {
            None
        };
        Ok(Phase {
            cfg,
            loc: cfg.loc(),
            extra_scan: Vec::new(),
            extra_resolve: Vec::new(),
            chroots,
        })
    }

    /// Run pbulk-scan, inside the creation and removal of the scan chroot
    /// when the dialect asks for one.
    fn pscan(
        &self,
        argv: &[String],
        stdin: Option<File>,
        stderr: Option<File>,
    ) -> Result<ExitStatus> {
        let run = || self.spawn(argv, stdin, Out::Inherit, stderr);
        match &self.chroots {
            Some(m) => m.around(run),
            None => run(),
        }
    }

    /// `${loc}/<name>` as one path (for our own file access).
    fn meta(&self, name: &str) -> PathBuf {
        self.loc.join(name)
    }

    /// `${loc}/<name>` as the words an unquoted sh expansion gives.
    fn meta_words(&self, name: &str) -> Vec<String> {
        split_words(&format!("{}/{name}", self.cfg.value("loc")))
    }

    fn run(mut self) -> Result<i32> {
        let old = format!("{}.old/meta/pscan", self.cfg.value("bulklog"));
        if self.cfg.is_exactly_yes("reuse_scan_results") && Path::new(&old).is_file() {
            say(&format!("Using old scan results from {old}"));
            self.extra_scan = split_words(&format!("-L {old}"));
        }
        if self.cfg.is_yes_ci("strict_mode") {
            self.extra_resolve = vec!["-s".into()];
        }
        if !self.cfg.value("ignore_missing_dependencies").is_empty() {
            eprintln!("The 'ignore_missing_dependencies' configuration variable is obsolete and has no effect.");
        }
        if self.cfg.value("limited_list").is_empty() {
            self.full()?;
        } else if let Some(code) = self.limited()? {
            return Ok(code);
        }
        let status = self.meta("status");
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        fsutil::open_append(&status)
            .and_then(|mut f| fsutil::append_line_synced(&mut f, &format!("SCAN_END_EPOCHE={now}")))
            .map_err(|e| Error::err(format_args!("cannot append to {}", status.display()), &e))?;
        Ok(0)
    }

    /// The pbulk-scan command line of the configured mode, or the
    /// master_mode complaint (`None`).
    fn pscan_args(&self, limited: bool) -> Option<Vec<String>> {
        let cfg = self.cfg;
        let mut a = cfg.words("pscan");
        a.push("-v".into());
        if limited {
            a.push("-l".into());
        }
        if cfg.is_no_ci("master_mode") {
            if let Some(n) = cfg.get("scan_procs").filter(|v| !v.is_empty()) {
                a.push("-j".into());
                a.extend(split_words(n));
            }
        } else if cfg.is_yes_ci("master_mode") {
            a.push("-I".into());
            a.extend(cfg.words("pscan_start_script"));
            a.push("-m".into());
            a.extend(cfg.words("master_port_scan"));
        } else {
            say("master_mode must be either yes or no.");
            return None;
        }
        a.push("-M".into());
        a.extend(cfg.words("make"));
        if !limited {
            a.extend(self.extra_scan.iter().cloned());
        }
        a.extend(cfg.words("pkgsrc"));
        a.extend(self.meta_words("pscan"));
        Some(a)
    }

    fn full(&self) -> Result<()> {
        say("Scanning...");
        let Some(args) = self.pscan_args(false) else {
            return Err(Error::stderr(1, ""));
        };
        let errlog = self.meta("pscan.stderr");
        let stderr = fsutil::open_append(&errlog).map_err(|e| cannot_create(&errlog, &e))?;
        let before = stderr.metadata().map_or(0, |m| m.len());
        let status = self.pscan(&args, None, Some(stderr))?;
        if !status.success() {
            self.explain_scan_failure(&errlog, before, status);
            return Err(failed(status));
        }
        say("Resolving...");
        let mut args = self.cfg.words("presolve");
        args.extend(self.extra_resolve.iter().cloned());
        args.push("-v".into());
        args.extend(self.meta_words("pscan"));
        let errlog = self.meta("presolve-err.log");
        let stderr = File::create(&errlog).map_err(|e| cannot_create(&errlog, &e))?;
        let presolve = self.meta("presolve");
        if !self
            .spawn(&args, None, Out::File(&presolve), Some(stderr))?
            .success()
        {
            eprintln!(
                "Global dependency resolution failed, check {}/presolve-err.log for details",
                self.cfg.value("loc")
            );
        }
        Ok(())
    }

    /// A failed full scan's messages went to `pscan.stderr` only (from
    /// byte `from` on), or nowhere when the disk is full: say on the
    /// terminal what the last one was, or, without one, whether the file
    /// system of `${loc}` is full.
    fn explain_scan_failure(&self, errlog: &Path, from: u64, status: ExitStatus) {
        let text = std::fs::read(errlog).unwrap_or_default();
        let new = text.get(from as usize..).unwrap_or_default();
        let last = new
            .split(|&b| b == b'\n')
            .rev()
            .find(|l| !l.iter().all(u8::is_ascii_whitespace));
        let code = status.code().map_or_else(
            || format!("signal {}", status.signal().unwrap_or(0)),
            |c| format!("status {c}"),
        );
        let mut line = format!("scan: pbulk-scan failed ({code}); ");
        match last {
            Some(l) => line += &format!("its last message: {}", String::from_utf8_lossy(l)),
            None => {
                line += &format!("{} holds no message from it", errlog.display());
                let v = nix::sys::statvfs::statvfs(&self.loc);
                if v.is_ok_and(|v| v.blocks_available() == 0) {
                    line += &format!(": the file system holding {} is full", self.loc.display());
                }
            }
        }
        eprintln!("{line}");
    }

    /// The limited build; `Some(code)` when it ends the phase early.
    fn limited(&self) -> Result<Option<i32>> {
        std::fs::create_dir_all(&self.loc).map_err(|e| {
            Error::err(
                format_args!("mkdir: cannot create {}", self.loc.display()),
                &e,
            )
        })?;
        let list = self.cfg.value("limited_list");
        let text = std::fs::read(list)
            .map_err(|e| Error::err(format_args!("cannot read {list}"), &e).with_code(2))?;
        let missing = self.meta("missing");
        fsutil::write_atomic(&missing, &clean_list(&text))
            .map_err(|e| cannot_create(&missing, &e))?;
        let sorted = self.meta("missing.s");
        let presolve = self.meta("presolve");
        let presolve_new = self.meta("presolve.new");
        let mut initial = true;
        while non_empty(&missing) {
            let sort = vec![
                "sort".to_string(),
                "-u".to_string(),
                missing.to_string_lossy().into_owned(),
            ];
            let status = self.spawn(&sort, None, Out::File(&sorted), None)?;
            if !status.success() {
                return Err(failed(status));
            }
            say("Scanning...");
            let Some(args) = self.pscan_args(true) else {
                return Ok(Some(1));
            };
            let stdin = File::open(&sorted)
                .map_err(|e| Error::err(format_args!("cannot open {}", sorted.display()), &e))?;
            let status = self.pscan(&args, Some(stdin), None)?;
            if !status.success() {
                return Err(failed(status));
            }
            say("Resolving...");
            let mut args = self.cfg.words("presolve");
            args.push("-i".into());
            args.extend(self.meta_words("missing"));
            args.push("-v".into());
            if initial {
                args.extend(self.meta_words("pscan"));
                let status = self.spawn(&args, None, Out::File(&presolve), None)?;
                if !status.success() {
                    return Err(failed(status));
                }
                initial = false;
            } else {
                args.extend(self.meta_words("presolve"));
                args.extend(self.meta_words("pscan"));
                let status = self.spawn(&args, None, Out::File(&presolve_new), None)?;
                if !status.success() {
                    return Err(failed(status));
                }
                if same_content(&presolve_new, &presolve) {
                    break;
                }
                rename(&presolve_new, &presolve)?;
            }
        }
        if !non_empty(&missing) {
            return Ok(None);
        }
        let unresolved = std::fs::read(&missing).unwrap_or_default();
        if self.cfg.is_yes_ci("strict_mode") {
            say("Unresolvable dependencies found, exiting");
            print_raw(&unresolved);
            return Ok(Some(1));
        }
        say("Unresolvable dependencies found, marking packages depending on them as broken:");
        print_raw(&unresolved);
        let mut args = self.cfg.words("presolve");
        args.push("-v".into());
        args.extend(self.meta_words("presolve"));
        args.extend(self.meta_words("pscan"));
        let status = self.spawn(&args, None, Out::File(&presolve_new), None)?;
        if !status.success() {
            return Err(failed(status));
        }
        rename(&presolve_new, &presolve)?;
        Ok(None)
    }

    /// Run a command line with the phase's environment; stdout either
    /// inherited or collected into a file that replaces its target when
    /// the command has ended (whatever its status: the original's
    /// redirection would have left that output there too).
    fn spawn(
        &self,
        argv: &[String],
        stdin: Option<File>,
        out: Out<'_>,
        stderr: Option<File>,
    ) -> Result<ExitStatus> {
        let Some((prog, rest)) = argv.split_first() else {
            return Err(Error::errx("empty command line in the configuration"));
        };
        let mut cmd = Command::new(prog);
        cmd.args(rest);
        config::child_env(&mut cmd, self.cfg);
        if let Some(f) = stdin {
            cmd.stdin(Stdio::from(f));
        }
        if let Some(f) = stderr {
            cmd.stderr(Stdio::from(f));
        }
        let pending = match out {
            Out::Inherit => None,
            Out::File(target) => {
                let mut pending =
                    fsutil::PendingFile::create(target).map_err(|e| cannot_create(target, &e))?;
                let f = pending
                    .file()
                    .try_clone()
                    .map_err(|e| cannot_create(target, &e))?;
                cmd.stdout(Stdio::from(f));
                Some((pending, target))
            }
        };
        let status = cmd
            .status()
            .map_err(|e| Error::err(prog, &e).with_code(127))?;
        drop(cmd);
        if let Some((pending, target)) = pending {
            pending.commit().map_err(|e| cannot_create(target, &e))?;
        }
        Ok(status)
    }
}

fn cannot_create(path: &Path, e: &std::io::Error) -> Error {
    Error::err(format_args!("cannot create {}", path.display()), e).with_code(2)
}

fn rename(from: &Path, to: &Path) -> Result<()> {
    std::fs::rename(from, to)
        .and_then(|_| fsutil::sync_dir(to.parent().unwrap_or(Path::new("."))))
        .map_err(|e| Error::err(format_args!("mv {} {}", from.display(), to.display()), &e))
}

/// `[ -s file ]`: exists and is not empty.
fn non_empty(path: &Path) -> bool {
    std::fs::metadata(path).is_ok_and(|m| m.len() > 0)
}

/// `cmp -s a b`.
fn same_content(a: &Path, b: &Path) -> bool {
    matches!((std::fs::read(a), std::fs::read(b)), (Ok(x), Ok(y)) if x == y)
}

fn print_raw(bytes: &[u8]) {
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(bytes);
    let _ = out.flush();
}

/// The limited list as the original's sed leaves it: comments from `#` to
/// the end of the line removed, then trailing blanks, then empty lines.
pub fn clean_list(text: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(text.len());
    let body = text.strip_suffix(b"\n").unwrap_or(text);
    for line in body.split(|&b| b == b'\n') {
        let line = match memchr::memchr(b'#', line) {
            Some(i) => &line[..i],
            None => line,
        };
        let end = line
            .iter()
            .rposition(|&b| b != b' ' && b != b'\t')
            .map_or(0, |i| i + 1);
        if end > 0 {
            out.extend_from_slice(&line[..end]);
            out.push(b'\n');
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limited_list_cleaning_keeps_leading_blanks() {
        let got = clean_list(b"# header\ndevel/a  # why\n\n \t\n  www/b\t\nx/y#z\nlast/one");
        assert_eq!(got, b"devel/a\n  www/b\nx/y\nlast/one\n");
    }
}
