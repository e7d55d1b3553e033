//! What the phase programs do the way the original scripts' shell does:
//! `rm -rf` that carries on past errors, exit statuses of children as `$?`
//! shows them, `date` formats in local time, background jobs.

use std::ffi::OsStr;
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus};

use crate::cli::{Error, Result};
use crate::config::{self, Config, Tool};

/// `rm -rf path`: remove what can be removed, go on past failures (a mount
/// point or a busy file stops only itself) and report nothing, as the
/// scripts' `rm -rf ... || true` does. Refuses `/` like GNU rm.
pub fn rm_rf(path: &Path) {
    if path.as_os_str().is_empty() || is_root(path) {
        if is_root(path) {
            eprintln!("refusing to remove {}", path.display());
        }
        return;
    }
    let Ok(md) = std::fs::symlink_metadata(path) else {
        return;
    };
    if md.is_dir() {
        rm_entries(path, |_| true);
        let _ = std::fs::remove_dir(path);
    } else {
        let _ = std::fs::remove_file(path);
    }
}

/// `rm -rf dir/*`: every entry of `dir` but the dot-files the glob skips.
pub fn rm_star(dir: &Path) {
    use std::os::unix::ffi::OsStrExt;
    rm_entries(dir, |n| !n.as_bytes().starts_with(b"."));
}

/// Remove every entry of `dir` that `select` picks, carrying on past errors.
pub fn rm_entries(dir: &Path, mut select: impl FnMut(&OsStr) -> bool) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in rd.flatten() {
        let name = entry.file_name();
        if select(&name) {
            rm_rf(&entry.path());
        }
    }
}

/// The glob `dir/*` as sh expands it: non-dot names, sorted bytewise;
/// no match leaves the pattern itself.
pub fn glob_star(dir: &Path) -> Vec<PathBuf> {
    use std::os::unix::ffi::OsStrExt;
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name())
                .filter(|n| !n.as_bytes().starts_with(b"."))
                .collect()
        })
        .unwrap_or_default();
    names.sort_by(|a, b| a.as_bytes().cmp(b.as_bytes()));
    if names.is_empty() {
        return vec![dir.join("*")];
    }
    names.into_iter().map(|n| dir.join(n)).collect()
}

fn is_root(path: &Path) -> bool {
    path.components()
        .all(|c| matches!(c, std::path::Component::RootDir))
        && path.has_root()
}

/// `$?` of a finished child: its exit code, or 128 + signal number.
pub fn status_code(st: ExitStatus) -> i32 {
    use std::os::unix::process::ExitStatusExt;
    match (st.code(), st.signal()) {
        (Some(c), _) => c,
        (None, Some(s)) => 128 + s,
        (None, None) => 1,
    }
}

/// Run a command to its end with the config path passed on; `Ok(())` on
/// status 0, else the status as an error without a message (the child has
/// spoken for itself), as `set -e` stops a script.
pub fn run(mut cmd: Command, cfg: &Config, what: &str) -> Result<()> {
    config::child_env(&mut cmd, cfg);
    let st = cmd
        .status()
        .map_err(|e| Error::err(format_args!("cannot run {what}"), &e))?;
    if st.success() {
        Ok(())
    } else {
        Err(Error::stdout(status_code(st), String::new()))
    }
}

/// Run a config-named program with extra arguments, like a plain line
/// `${var} args...` under `set -e`.
pub fn run_tool(tool: &Tool, args: &[&OsStr], cfg: &Config) -> Result<()> {
    if tool.is_noop() {
        return Ok(());
    }
    let mut cmd = tool.command();
    cmd.args(args);
    run(cmd, cfg, &tool.line())
}

/// Start a background job (`cmd &`); a job that cannot even start is said
/// on stderr and otherwise ignored, as sh would.
pub fn spawn_bg(mut cmd: Command, cfg: &Config, what: &str) -> Option<Child> {
    config::child_env(&mut cmd, cfg);
    match cmd.spawn() {
        Ok(c) => Some(c),
        Err(e) => {
            eprintln!("{what}: {}", crate::cli::strerror(&e));
            None
        }
    }
}

/// Print to stdout at once (progress text followed by a child's output).
pub fn say(text: &str) {
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
}

/// `date '+fmt'` for the given seconds since the epoch, in local time.
pub fn strftime_local(t: i64, fmt: &str) -> String {
    let fmt = std::ffi::CString::new(fmt).unwrap_or_default();
    // SAFETY: localtime_r fills `tm` from a valid time_t; strftime writes at
    // most buf.len() bytes and returns how many it wrote.
    unsafe {
        let tt = t as libc::time_t;
        let mut tm: libc::tm = std::mem::zeroed();
        tzset();
        if libc::localtime_r(&tt, &mut tm).is_null() {
            return String::new();
        }
        let mut buf = [0u8; 256];
        let n = libc::strftime(buf.as_mut_ptr().cast(), buf.len(), fmt.as_ptr(), &tm);
        String::from_utf8_lossy(&buf[..n]).into_owned()
    }
}

extern "C" {
    // POSIX; not every libc crate target exports it.
    fn tzset();
}

/// Seconds since the epoch now.
pub fn now() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Remove what killed writers left of their outputs in `${loc}`,
/// `${packages}` and `${packages}/All` (hidden temporary files; see
/// [`crate::fsutil::remove_stale_temporaries`]). Best effort: a directory
/// that is not there yet has nothing to tidy.
pub fn tidy_temporaries(cfg: &Config) {
    let packages = Path::new(cfg.value("packages"));
    for dir in [cfg.loc(), packages.to_path_buf(), packages.join("All")] {
        let _ = crate::fsutil::remove_stale_temporaries(&dir);
    }
}
