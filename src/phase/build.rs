//! The build phase (`libexec/pbulk/build`, scripts.md §3.9): run
//! pbulk-build over the resolved tree, stamp the end time into
//! `LOC/status`, then write the repository metadata: `pkg_summary.gz` and
//! `.bz2` in `${packages}/All` and `${packages}/SHA512.bz2`.
//!
//! Concurrency: with `master_mode=no` the only local concurrency is our
//! `pbulk-build -j N` from `build_procs` (with `-H`, the build history).
//! Every pkg-build wipes `${prefix}` before it starts, so with more than
//! one slot each build runs in a private slot (`-S`/`-P`, see
//! [`super::sandbox`]), or the phase refuses to start. The Joyent
//! dialect's `build_chroots` does not turn local slots on;
//! it counts chroots, used in master mode only: with
//! `chroot_dir` set the phase makes the chroots before `pbulk-build -m`
//! and removes them after it (see [`super::chroot`]), and the start script
//! runs one client in each. With none of these variables set, the command
//! line is exactly the reference's.
//!
//! Unlike the original's shell redirections, every metadata file is written
//! to a temporary name and renamed, so a crash or a failing compressor
//! leaves the previous file in place.

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, Write};
use std::os::fd::OwnedFd;
use std::path::Path;
use std::process::{Child, Command, Stdio};

use crate::bulklock::BulkLock;
use crate::cli::{self, Error, Result};
use crate::config::{self, Config, MasterMode};
use crate::pkgbuild::run::{sh_status, split_bytes};

use super::chroot::{Kind, Manager};

pub fn main(args: Vec<OsString>) -> Result<i32> {
    cli::operands(
        args,
        "build: the build phase of a pbulk bulk build: run pbulk-build, then make \
         pkg_summary and SHA512.",
        "usage: build\n",
    )?;
    let cfg = Config::load_checked()?;
    let lock = super::group::start_phase(&cfg, "build", true)?;
    // What an interrupted run was writing when it was killed; no build of
    // this run has started yet.
    super::sys::tidy_temporaries(&cfg);
    say("Building...");
    let plan = super::sandbox::plan(&cfg)?;
    let argv = pbuild_command(&cfg, plan.as_ref())?;
    let chroots = match cfg.master_mode()? {
        MasterMode::Yes => Manager::for_phase(&cfg, Kind::Build)?,
        MasterMode::No => None,
    };
    let st = match chroots {
        Some(m) => m.around(|| spawn_status(&argv, &cfg, &lock))?,
        None => spawn_status(&argv, &cfg, &lock)?,
    };
    if st != 0 {
        return Ok(st);
    }
    // A writer of the killed run that was still dying when this phase
    // began kept its file then; it is gone now.
    super::sys::tidy_temporaries(&cfg);
    append_build_end(&cfg.loc().join("status"))?;

    say("Building pkg_summary...");
    let sufx = cfg.pkg_sufx();
    let all = format!("{}/All", cfg.value("packages"));
    // With nothing built (only prefailed packages, say) All may not exist
    // yet; the summary of no packages is still made and the run reported.
    std::fs::create_dir_all(&all).map_err(|e| {
        Error::err(
            format_args!("build host failure: cannot create {all} for the package summary"),
            &e,
        )
        .with_code(crate::cli::HOST_FAILURE)
    })?;
    chdir(&all)?;
    let success = read_success(&cfg.loc().join("success"));
    let files = sort_lines(success.iter().map(|l| format!("{l}{sufx}")).collect());
    let gz = Path::new("pkg_summary.gz");
    let st = write_compressed(gz, &tool(&cfg, "gzip", &["-c"]), |sink| {
        xargs(&tool(&cfg, "pkg_info", &["-X"]), &files, sink)
    })?;
    if st != 0 {
        return Ok(st);
    }
    let st = write_compressed(
        Path::new("pkg_summary.bz2"),
        &tool(&cfg, "bzip2", &["-c"]),
        |sink| {
            let input = File::open(gz).map_err(|e| Error::err("cannot open pkg_summary.gz", &e))?;
            let argv = tool(&cfg, "gzip", &["-dc"]);
            if let Some(mut child) = feeder(&argv, Stdio::from(input), Stdio::from(sink)) {
                child.wait().map_err(|e| Error::err("wait", &e))?;
            }
            Ok(())
        },
    )?;
    if st != 0 {
        return Ok(st);
    }

    if cfg.checksum_packages() {
        say("Building SHA512...");
        chdir(cfg.value("packages"))?;
        let mut list = vec![
            "All/pkg_summary.bz2".to_string(),
            "All/pkg_summary.gz".to_string(),
        ];
        list.extend(success.iter().map(|l| format!("All/{l}{sufx}")));
        let list = sort_lines(list);
        let st = write_compressed(
            Path::new("SHA512.bz2"),
            &tool(&cfg, "bzip2", &["-c"]),
            |sink| xargs(&tool(&cfg, "digest", &["SHA512"]), &list, sink),
        )?;
        if st != 0 {
            return Ok(st);
        }
    }
    Ok(0)
}

fn say(line: &str) {
    let mut out = io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

/// The pbulk-build command line for `master_mode` (reference form), with
/// our `-j`/`-H` extensions only when `build_procs` asks for local slots,
/// and `-S`/`-P` when they build side by side.
pub fn pbuild_command(cfg: &Config, plan: Option<&super::sandbox::Plan>) -> Result<Vec<String>> {
    let loc = cfg.value("loc");
    let mut argv = cfg.words("pbuild");
    argv.extend(["-r".into(), format!("{loc}/pbuild")]);
    if cfg.is_no_ci("master_mode") {
        argv.extend(["-v".into(), "-b".into()]);
        argv.extend(cfg.words("pbuild_script"));
    } else if cfg.is_yes_ci("master_mode") {
        argv.push("-I".into());
        argv.extend(cfg.words("pbuild_start_script"));
        argv.push("-m".into());
        argv.extend(cfg.words("master_port_build"));
        argv.push("-v".into());
    } else {
        return Err(Error::stdout(1, "master_mode must be either yes or no."));
    }
    if let Some(slots) = cfg.count("build_procs")? {
        argv.extend([
            "-j".into(),
            slots.to_string(),
            "-H".into(),
            cfg.history_file().to_string_lossy().into_owned(),
        ]);
    }
    if let Some(plan) = plan {
        argv.extend(plan.args());
    }
    argv.extend(["presolve", "success", "error"].map(|f| format!("{loc}/{f}")));
    Ok(argv)
}

/// Run a command with inherited stdio, sharing the bulk log's lock; a
/// missing program is sh's 127.
fn spawn_status(argv: &[String], cfg: &Config, lock: &BulkLock) -> Result<i32> {
    let Some((prog, args)) = argv.split_first() else {
        return Ok(0);
    };
    let mut cmd = Command::new(prog);
    cmd.args(args);
    config::child_env(&mut cmd, cfg);
    lock.share_with(&mut cmd);
    // Our pbulk-build keeps a progress snapshot there; another ignores it.
    cmd.env(
        crate::build::status::STATUS_FILE_ENV,
        cfg.loc().join("status.json"),
    );
    cmd.env(
        crate::build::TIMELINE_FILE_ENV,
        cfg.loc().join(crate::report::timeline::TIMELINE_CSV),
    );
    match cmd.status() {
        Ok(st) => Ok(sh_status(st)),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            Err(Error::errx(format!("{prog}: not found")).with_code(127))
        }
        Err(e) => Err(Error::err(prog, &e).with_code(126)),
    }
}

/// `date '+BUILD_END_ISO=%Y-%m-%d %H:%M%nBUILD_END_EPOCHE=%s' >> status`:
/// both lines from one clock reading, in one durable append.
fn append_build_end(status: &Path) -> Result<()> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as libc::time_t)
        .unwrap_or(0);
    let text = format!(
        "BUILD_END_ISO={}\nBUILD_END_EPOCHE={now}\n",
        local_time(now, "%Y-%m-%d %H:%M")
    );
    let mut f = crate::fsutil::open_append(status).map_err(|e| {
        Error::err(format_args!("cannot create {}", status.display()), &e).with_code(2)
    })?;
    f.write_all(text.as_bytes())
        .and_then(|()| f.sync_data())
        .map_err(|e| Error::err(format_args!("cannot write {}", status.display()), &e))
}

extern "C" {
    fn tzset();
}

/// strftime(3) in the local time zone, as date(1) prints it.
pub fn local_time(t: libc::time_t, fmt: &str) -> String {
    let fmt = std::ffi::CString::new(fmt).unwrap_or_default();
    let mut buf = [0u8; 128];
    // SAFETY: tm is plain data filled by localtime_r; strftime writes at
    // most buf.len() bytes and returns how many it wrote.
    let n = unsafe {
        let mut tm: libc::tm = std::mem::zeroed();
        tzset();
        if libc::localtime_r(&t, &mut tm).is_null() {
            return String::new();
        }
        libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), &tm)
    };
    String::from_utf8_lossy(&buf[..n]).into_owned()
}

fn chdir(dir: &str) -> Result<()> {
    std::env::set_current_dir(dir)
        .map_err(|_| Error::errx(format!("cd: can't cd to {dir}")).with_code(2))
}

/// The lines of `LOC/success`; a missing file reads as empty after sh's
/// message, as in the original's pipeline.
fn read_success(path: &Path) -> Vec<String> {
    match std::fs::read(path) {
        Ok(buf) => {
            // Every line counts, an empty one too (sed still appends the
            // suffix to it); only the end after the last newline is none.
            if buf.is_empty() {
                return Vec::new();
            }
            let body = buf.strip_suffix(b"\n").unwrap_or(&buf);
            body.split(|&b| b == b'\n')
                .map(|l| String::from_utf8_lossy(l).into_owned())
                .collect()
        }
        Err(e) => {
            eprintln!(
                "build: cannot open {}: {}",
                path.display(),
                cli::strerror(&e)
            );
            Vec::new()
        }
    }
}

/// `sort` in the caller's collation: byte order for the C/POSIX locales,
/// otherwise the system's sort(1) so the order is the locale's exactly.
pub fn sort_lines(mut lines: Vec<String>) -> Vec<String> {
    let locale = ["LC_ALL", "LC_COLLATE", "LANG"]
        .iter()
        .find_map(|v| std::env::var(v).ok().filter(|s| !s.is_empty()))
        .unwrap_or_default();
    let bytewise = matches!(locale.as_str(), "" | "C" | "POSIX") || locale.starts_with("C.");
    if !bytewise {
        if let Some(sorted) = system_sort(&lines) {
            return sorted;
        }
    }
    lines.sort_unstable();
    lines
}

fn system_sort(lines: &[String]) -> Option<Vec<String>> {
    let mut child = Command::new("sort")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .ok()?;
    let mut input = child.stdin.take()?;
    let text: String = lines.iter().map(|l| format!("{l}\n")).collect();
    let writer = std::thread::spawn(move || input.write_all(text.as_bytes()));
    let out = child.wait_with_output().ok()?;
    writer.join().ok()?.ok()?;
    if !out.status.success() {
        return None;
    }
    Some(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .map(str::to_string)
            .collect(),
    )
}

/// A tool from the config plus fixed arguments (`${gzip} -c`).
fn tool(cfg: &Config, var: &str, extra: &[&str]) -> Vec<String> {
    let mut argv = cfg.words(var);
    argv.extend(extra.iter().map(|s| s.to_string()));
    argv
}

fn spawn(argv: &[String], stdin: Stdio, stdout: Stdio) -> Result<Child> {
    let (prog, args) = argv
        .split_first()
        .ok_or_else(|| Error::errx("empty command in the configuration"))?;
    Command::new(prog)
        .args(args)
        .stdin(stdin)
        .stdout(stdout)
        .spawn()
        .map_err(|e| Error::err(format_args!("cannot run {prog}"), &e).with_code(127))
}

/// Start a command feeding a pipeline. Its failure to start does not stop
/// the pipeline (only the last command's status counts): say so the way
/// sh and xargs do and go on with empty output.
fn feeder(argv: &[String], stdin: Stdio, stdout: Stdio) -> Option<Child> {
    let (prog, args) = argv.split_first()?;
    match Command::new(prog)
        .args(args)
        .stdin(stdin)
        .stdout(stdout)
        .spawn()
    {
        Ok(child) => Some(child),
        Err(e) => {
            eprintln!("build: {prog}: {}", cli::strerror(&e));
            None
        }
    }
}

/// `... | <compressor> > target`, atomically: `fill` writes the
/// uncompressed stream into the compressor's stdin; the result replaces
/// `target` only when the compressor (the pipeline's last command, whose
/// status alone counts) succeeds. Returns that status.
fn write_compressed(
    target: &Path,
    compressor: &[String],
    fill: impl FnOnce(OwnedFd) -> Result<()>,
) -> Result<i32> {
    let shown = target.display();
    let mut pending = crate::fsutil::PendingFile::create(target)
        .map_err(|e| Error::err(format_args!("cannot create {shown}"), &e).with_code(2))?;
    let out = pending
        .file()
        .try_clone()
        .map_err(|e| Error::err("dup", &e))?;
    let mut child = spawn(compressor, Stdio::piped(), Stdio::from(out))?;
    let pipe: OwnedFd = child
        .stdin
        .take()
        .map(OwnedFd::from)
        .ok_or_else(|| Error::errx("no pipe"))?;
    let fed = fill(pipe);
    let st = sh_status(child.wait().map_err(|e| Error::err("wait", &e))?);
    // A compressor that failed is the pipeline's status (its feeder then
    // fails on the closed pipe, which is no news).
    if st != 0 {
        return Ok(st);
    }
    fed?;
    pending
        .commit()
        .map_err(|e| Error::err(format_args!("cannot write {shown}"), &e))?;
    Ok(0)
}

/// The argument budget per invocation, like xargs' default command size.
const XARGS_MAX: usize = 128 * 1024;

/// `xargs <argv>` over `items` (split at blanks as xargs does), output to
/// `sink`; run at least once, like xargs without `-r`. Statuses are not
/// looked at: in the original the pipeline's last command decides.
fn xargs(argv: &[String], items: &[String], sink: OwnedFd) -> Result<()> {
    let words: Vec<Vec<u8>> = items
        .iter()
        .flat_map(|l| split_bytes(l.as_bytes()))
        .map(|w| w.into_encoded_bytes())
        .collect();
    let base: usize = argv.iter().map(|a| a.len() + 1).sum();
    let mut start = 0;
    loop {
        let mut end = start;
        let mut size = base;
        while end < words.len() && (end == start || size + words[end].len() < XARGS_MAX) {
            size += words[end].len() + 1;
            end += 1;
        }
        let mut full = argv.to_vec();
        full.extend(
            words[start..end]
                .iter()
                .map(|w| String::from_utf8_lossy(w).into_owned()),
        );
        let out = sink.try_clone().map_err(|e| Error::err("dup", &e))?;
        // The original's pipeline ignores xargs' status and publishes an
        // empty or partial summary or SHA512.bz2; a tool that cannot run or
        // fails there is the build host's failure, and the file is left as
        // it was.
        let failed = || {
            Error::errx(format!(
                "build host failure: {} failed; its output is not published",
                argv.join(" ")
            ))
            .with_code(cli::HOST_FAILURE)
        };
        let Some(mut child) = feeder(&full, Stdio::null(), Stdio::from(out)) else {
            return Err(failed());
        };
        let st = child.wait().map_err(|e| Error::err("wait", &e))?;
        if !st.success() {
            return Err(failed());
        }
        start = end;
        if start >= words.len() {
            return Ok(());
        }
    }
}
