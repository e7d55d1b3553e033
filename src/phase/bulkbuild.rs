//! The drivers: `bulkbuild` (all five phases), `bulkbuild-restart` (go on
//! with an interrupted run when its results still fit the scan) and
//! `bulkbuild-rebuild` (build single packages of the last run by hand).

use std::collections::HashSet;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::path::Path;
use std::process::Stdio;

use crate::bulklock::BulkLock;
use crate::cli::{self, Error, Result};
use crate::config::{self, Config, MasterMode, Tool};

use super::{group, sys};

/// The phase variables, in the order a full run takes them.
pub const PHASES: [&str; 5] = [
    "script_phase_pre_build",
    "script_phase_scan",
    "script_phase_build",
    "script_phase_report",
    "script_phase_upload",
];

/// Resolve the programs first, so a missing one stops the run before the
/// first phase wipes anything. An empty variable skips its step.
fn tools(cfg: &Config, vars: &[&str]) -> Result<Vec<Tool>> {
    let mut out = Vec::new();
    for v in vars {
        out.extend(cfg.optional_tool(v)?);
    }
    Ok(out)
}

/// Run the phases in order under one lock of the bulk log, shared with
/// each; the first that fails ends the run with its status, as `set -e`
/// does. A stop signal to the driver stops the running phase's whole group.
/// Once the build phase has finished, the run ends with one line of totals
/// (pbulk-rs), also when a later phase fails.
fn run_phases(cfg: &Config, phases: &[Tool], lock: &BulkLock) -> Result<()> {
    let driver = group::Driver::new(cfg, lock)?;
    let mut built = false;
    let run = phases.iter().try_for_each(|t| {
        driver.run(t)?;
        built |= t.var == "script_phase_build";
        Ok(())
    });
    if built {
        if let Some(line) = totals(&cfg.loc().join("pbuild")) {
            sys::say(&format!("{line}\n"));
        }
    }
    run
}

/// The totals of a finished build from pbulk-build's report (`name|state|..`
/// lines), counted as the status line counts them.
pub fn totals(pbuild: &Path) -> Option<String> {
    let text = std::fs::read(pbuild).ok()?;
    let (mut total, mut built, mut failed, mut dep_failed, mut skipped) = (0, 0, 0, 0, 0);
    for line in text.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
        total += 1;
        match line.split(|&b| b == b'|').nth(1) {
            Some(b"done") => built += 1,
            Some(b"failed") => failed += 1,
            Some(b"indirect-failed") => dep_failed += 1,
            Some(b"prefailed" | b"indirect-prefailed") => skipped += 1,
            _ => {}
        }
    }
    Some(format!(
        "Totals: {total} packages: {built} built, {failed} failed, {dep_failed} depending on \
         failed, {skipped} broken/skipped"
    ))
}

/// `bulkbuild`: a complete bulk build. Like the original it takes no
/// arguments and leaves the version check to the phases.
pub fn main(args: Vec<OsString>) -> Result<i32> {
    cli::operands(
        args,
        "bulkbuild: run a complete bulk build: the pre-build, scan, build, report and \
         upload phases named in pbulk.conf, stopping at the first that fails.",
        "usage: bulkbuild\n",
    )?;
    let cfg = Config::load()?;
    cfg.check_version_set()?;
    let phases = tools(&cfg, &PHASES)?;
    // Parallel builds that cannot be kept apart are refused up front.
    super::sandbox::plan(&cfg)?;
    let lock = BulkLock::acquire(&cfg.bulklog(), "bulkbuild", true)?;
    run_phases(&cfg, &phases, &lock)?;
    Ok(0)
}

/// What `bulkbuild-restart` found in the log tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Restart {
    /// success and error exist and name only packages of presolve: go on.
    Resume,
    /// Start over with pre-build and scan.
    FromScratch,
}

/// The reference decision: resume only when `success` and `error` both
/// exist and each of their lines is a PKGNAME of `presolve`. Where the
/// original loops forever (presolve missing or unreadable) this is an error.
pub fn restart_decision(loc: &Path) -> Result<Restart> {
    let (success, error) = (loc.join("success"), loc.join("error"));
    if !exists(&success) || !exists(&error) {
        return Ok(Restart::FromScratch);
    }
    let presolve = loc.join("presolve");
    let names = presolve_names(&presolve).map_err(|e| {
        Error::err(
            format_args!(
                "{} and {} exist but {} cannot be read, so the previous run cannot be checked; \
                 remove them to start over",
                success.display(),
                error.display(),
                presolve.display()
            ),
            &e,
        )
    })?;
    for list in [&success, &error] {
        if !all_lines_known(list, &names) {
            return Ok(Restart::FromScratch);
        }
    }
    Ok(Restart::Resume)
}

/// `-e`: exists, whatever it is (a dangling symlink does not).
fn exists(p: &Path) -> bool {
    std::fs::metadata(p).is_ok()
}

fn presolve_names(path: &Path) -> std::io::Result<HashSet<Vec<u8>>> {
    let mut names = HashSet::new();
    let mut r = BufReader::new(std::fs::File::open(path)?);
    let mut line = Vec::new();
    while r.read_until(b'\n', &mut line)? != 0 {
        if line.last() == Some(&b'\n') {
            line.pop();
        }
        if let Some(name) = line.strip_prefix(b"PKGNAME=") {
            names.insert(name.to_vec());
        }
        line.clear();
    }
    Ok(names)
}

/// Every line of `list` is a known name; a list that cannot be read fails
/// (awk would exit non-zero).
fn all_lines_known(list: &Path, names: &HashSet<Vec<u8>>) -> bool {
    let Ok(f) = std::fs::File::open(list) else {
        return false;
    };
    let mut r = BufReader::new(f);
    let mut line = Vec::new();
    loop {
        line.clear();
        match r.read_until(b'\n', &mut line) {
            Ok(0) => return true,
            Ok(_) => {
                if line.last() == Some(&b'\n') {
                    line.pop();
                }
                if !names.contains(&line) {
                    return false;
                }
            }
            Err(_) => return false,
        }
    }
}

/// `bulkbuild-restart`: resume an interrupted bulk build, or start over
/// when its results do not fit the scan.
pub fn restart_main(args: Vec<OsString>) -> Result<i32> {
    cli::operands(
        args,
        "bulkbuild-restart: continue an interrupted bulk build; the packages already in \
         ${loc}/success and ${loc}/error are kept when they fit ${loc}/presolve, \
         else the run starts over.",
        "usage: bulkbuild-restart\n",
    )?;
    let cfg = Config::load_checked()?;
    // Decide only under the lock: a running build is still changing the logs.
    let lock = BulkLock::acquire(&cfg.bulklog(), "bulkbuild-restart", true)?;
    let decision = restart_decision(&cfg.loc())?;
    let mut vars: Vec<&str> = Vec::new();
    match decision {
        Restart::FromScratch => vars.extend(&PHASES[..2]),
        Restart::Resume if matches!(cfg.master_mode(), Ok(MasterMode::Yes)) => {
            vars.push("client_prepare")
        }
        Restart::Resume => {}
    }
    vars.extend(&PHASES[2..]);
    let steps = tools(&cfg, &vars)?;
    super::sandbox::plan(&cfg)?;
    run_phases(&cfg, &steps, &lock)?;
    Ok(0)
}

/// `bulkbuild-rebuild pkgname...`: feed each package's presolve block to
/// `${pbuild_script}` again, without touching the logs of the run.
pub fn rebuild_main(args: Vec<OsString>) -> Result<i32> {
    let args = cli::operands(
        args,
        "bulkbuild-rebuild: rebuild the named packages (PKGNAME with version) of the last \
         run by hand, with ${pbuild_script}; no log, summary or report is updated.",
        "usage: bulkbuild-rebuild package ...\n",
    )?;
    let cfg = Config::load_checked()?;
    if args.is_empty() {
        let argv0 = std::env::args_os()
            .next()
            .unwrap_or_else(|| "bulkbuild-rebuild".into());
        println!("Usage: {} package ...", argv0.to_string_lossy());
        return Ok(0);
    }
    let presolve = cfg.loc().join("presolve");
    let script = cfg.tool("pbuild_script")?;
    // A name reaches pkg-build as ${bulklog}/${pkgname}: refuse an unsafe
    // one before building anything.
    for arg in &args {
        if let Some(why) = crate::record::name_problem(arg.as_encoded_bytes()) {
            return Err(Error::errx(format!(
                "package name `{}' {why}",
                crate::record::shown(arg.as_encoded_bytes())
            )));
        }
    }
    // The packages' logs are the bulk log's: not beside a running build.
    let _lock = BulkLock::acquire(&cfg.bulklog(), "bulkbuild-rebuild", false)?;
    for arg in &args {
        let name = arg.to_string_lossy();
        // Read again for every package, as the original does: the file is
        // large and the list of names short.
        let found = std::fs::File::open(&presolve)
            .and_then(|f| presolve_block(BufReader::new(f), name.as_bytes()))
            .map_err(|e| Error::err(format_args!("cannot read {}", presolve.display()), &e))?;
        let Some(block) = found else {
            return Err(Error::stdout(
                1,
                format!("Package {name} not found, aborting.\n"),
            ));
        };
        sys::say(&format!("Building package {name}... "));
        if feed(&script, &block, &cfg)? {
            sys::say("done\n");
        } else {
            return Err(Error::stdout(1, "failed\n"));
        }
    }
    Ok(0)
}

/// The lines from `PKGNAME=<name>` up to the next `PKGNAME=` line, each
/// with its newline.
pub fn presolve_block(mut r: impl BufRead, name: &[u8]) -> std::io::Result<Option<Vec<u8>>> {
    let mut want = b"PKGNAME=".to_vec();
    want.extend_from_slice(name);
    let mut line = Vec::new();
    let mut block: Option<Vec<u8>> = None;
    loop {
        line.clear();
        if r.read_until(b'\n', &mut line)? == 0 {
            return Ok(block);
        }
        let text = line.strip_suffix(b"\n").unwrap_or(&line);
        match &mut block {
            None if text == want.as_slice() => block = Some(line.clone()),
            Some(_) if text.starts_with(b"PKGNAME=") => return Ok(block),
            Some(b) => b.extend_from_slice(&line),
            None => {}
        }
    }
}

/// Pipe `block` into the script; its exit status alone decides (a script
/// that stops reading early is no failure by itself).
fn feed(script: &Tool, block: &[u8], cfg: &Config) -> Result<bool> {
    if script.is_noop() {
        return Ok(true);
    }
    let mut cmd = script.command();
    cmd.stdin(Stdio::piped());
    config::child_env(&mut cmd, cfg);
    let mut child = cmd
        .spawn()
        .map_err(|e| Error::err(format_args!("cannot run {}", script.line()), &e))?;
    if let Some(mut stdin) = child.stdin.take() {
        let _ = stdin.write_all(block);
        if block.last().is_some_and(|&b| b != b'\n') {
            let _ = stdin.write_all(b"\n");
        }
    }
    let st = child
        .wait()
        .map_err(|e| Error::err(format_args!("cannot wait for {}", script.line()), &e))?;
    Ok(st.success())
}
