//! The pre-build phase: check the cross-compile settings, rotate the log
//! tree of the previous run, clean the local prefix in non-master mode and
//! write `meta/status` with the platform and start time.
//!
//! Like the original, the program runs the client-clean at the path
//! compiled in from the install prefix (`PREFIX/libexec/pbulk/client-clean`),
//! not a config variable, and there is no run-time override. The library
//! entry [`run`] takes that path in [`Env`] instead, so the tests drive the
//! whole phase with the `client-clean` cargo built (or a stand-in) and a
//! zero-second warning, while the program itself always passes
//! [`Env::installed`].

use std::ffi::OsString;
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::bulklock;
use crate::cli::{self, Error, Result};
use crate::config::{self, Config, MasterMode, Tool};
use crate::fsutil;
use crate::paths;

use super::sys;

/// What the phase takes from its surroundings, so tests can supply their
/// own. The program always uses [`Env::installed`].
#[derive(Debug, Clone)]
pub struct Env {
    /// The program run to clean the prefix when `master_mode=no`.
    pub client_clean: PathBuf,
    /// How long the warning before wiping the old logs stands.
    pub warn_delay: Duration,
    /// Source of the `PRETTY_NAME` line.
    pub os_release: PathBuf,
}

impl Env {
    /// The reference behaviour: the compiled-in client-clean, five seconds,
    /// `/etc/os-release`.
    pub fn installed() -> Env {
        Env {
            client_clean: paths::libexec("client-clean"),
            warn_delay: Duration::from_secs(5),
            os_release: PathBuf::from("/etc/os-release"),
        }
    }
}

/// The variables queried from pkgsrc, in the order the original asks.
const QUERIED: [&str; 6] = [
    "OPSYS",
    "OS_VERSION",
    "OS_VARIANT",
    "LOWER_VARIANT_VERSION",
    "MACHINE_ARCH",
    "PKGSRC_COMPILER",
];

pub fn main(args: Vec<OsString>) -> Result<i32> {
    cli::operands(
        args,
        "pre-build: start a bulk build: rotate the log tree of the previous run, clean the \
         prefix when master_mode=no, and write ${loc}/status.",
        "usage: pre-build\n",
    )?;
    let cfg = Config::load_checked()?;
    // Said before the lock makes the directory: a bulklog that resolves
    // above the trees is refused with the reason, not only for its `..`.
    check_bulklog(&cfg)?;
    let _lock = super::group::start_phase(&cfg, "pre-build", true)?;
    // A pbulk-build started by hand still appending to the logs.
    crate::bulklock::check_unlocked(&cfg.loc().join("success"), &cfg.bulklog())?;
    run(&cfg, &Env::installed())?;
    Ok(0)
}

/// The whole phase. Everything that can be checked is checked before the
/// old logs are touched.
pub fn run(cfg: &Config, env: &Env) -> Result<()> {
    check_cross(cfg)?;
    check_bulklog(cfg)?;
    let mode = cfg.master_mode()?;
    let make = cfg.tool("make")?;
    let pkg_install = PathBuf::from(format!("{}/pkgtools/pkg_install", cfg.value("pkgsrc")));
    if !pkg_install.is_dir() {
        return Err(Error::errx(format!(
            "cannot query the platform: {} is not a directory (pkgsrc={})",
            pkg_install.display(),
            cfg.value("pkgsrc")
        )));
    }
    if mode == MasterMode::No {
        config::find_program(&env.client_clean.to_string_lossy()).map_err(|why| {
            Error::errx(format!("cannot run {}: {why}", env.client_clean.display()))
        })?;
    }

    rotate(cfg, env.warn_delay)?;
    let bulklog = cfg.bulklog();
    let loc = cfg.loc();
    for d in [&bulklog, &loc] {
        std::fs::create_dir_all(d)
            .map_err(|e| Error::err(format_args!("cannot create directory {}", d.display()), &e))?;
    }

    if mode == MasterMode::No {
        sys::run(Command::new(&env.client_clean), cfg, "client-clean")?;
    }

    let status = status_text(cfg, &make, &pkg_install, &env.os_release)?;
    let path = loc.join("status");
    fsutil::write_atomic(&path, status.as_bytes())
        .map_err(|e| Error::err(format_args!("cannot write {}", path.display()), &e))
}

/// `${bulklog}` is emptied: refuse what the original would turn into
/// `rm -rf /*`, and any value that resolves (`..`, symbolic links) to a
/// directory above itself or holding `${pkgsrc}`, `${packages}` or
/// `${prefix}`: `bulklog=/x/y/..` would empty `/x`.
fn check_bulklog(cfg: &Config) -> Result<()> {
    let bulklog = cfg.value("bulklog");
    let refuse = |why: String| {
        Err(Error::errx(format!(
            "refusing to clear bulklog={bulklog:?} (from {}){why}",
            cfg.path().display()
        )))
    };
    if bulklog.is_empty()
        || Path::new(bulklog)
            .components()
            .all(|c| c == Component::RootDir)
    {
        return refuse(String::new());
    }
    let real = resolve(Path::new(bulklog));
    if real == Path::new("/") {
        return refuse(": it resolves to /".to_string());
    }
    // Every directory the value names on its way, before a `..` leaves it.
    let mut named = PathBuf::new();
    for c in Path::new(bulklog).components() {
        if c == Component::ParentDir {
            let above = resolve(&named);
            if above != real && above.starts_with(&real) {
                return refuse(format!(
                    ": it resolves to {}, which holds {} named in it",
                    real.display(),
                    named.display()
                ));
            }
        }
        named.push(c);
    }
    for var in ["pkgsrc", "packages", "prefix"] {
        let v = cfg.value(var);
        if !v.is_empty() && resolve(Path::new(v)).starts_with(&real) {
            return refuse(format!(
                ": it resolves to {}, which holds {var}={v}",
                real.display()
            ));
        }
    }
    Ok(())
}

/// `path` absolute, with symbolic links of its existing part and `.` and
/// `..` resolved, as far as it exists (`..` of what does not exist yet is
/// taken by name).
fn resolve(path: &Path) -> PathBuf {
    let cwd = std::env::current_dir().unwrap_or_else(|_| PathBuf::from("/"));
    let mut out = PathBuf::from("/");
    for c in cwd.join(path).components() {
        match c {
            Component::ParentDir => {
                out.pop();
            }
            Component::Normal(n) => {
                out.push(n);
                if let Ok(real) = std::fs::canonicalize(&out) {
                    out = real;
                }
            }
            Component::RootDir | Component::CurDir | Component::Prefix(_) => {}
        }
    }
    out
}

fn check_cross(cfg: &Config) -> Result<()> {
    if !cfg.cross_compile() {
        return Ok(());
    }
    let say = |m: &str| Err(Error::stdout(1, format!("{m}\n")));
    let destdir = cfg.value("target_destdir");
    if destdir.is_empty() {
        return say("target_destdir must be set for cross-compiling.");
    }
    if !Path::new(destdir).is_dir() {
        return say("target_destdir must exist for cross-compiling.");
    }
    if std::fs::canonicalize(destdir).is_ok_and(|p| p == Path::new("/")) {
        return say("target_destdir must not be / for cross-compiling.");
    }
    if cfg.value("target_arch").is_empty() {
        return say("target_arch must be specified for cross-compiling.");
    }
    Ok(())
}

/// Clear `${bulklog}`; with `reuse_scan_results=yes` keep the previous
/// tree (or at least its `meta`) as `${bulklog}.old` for the scan to reuse.
/// The test is on the literal `${bulklog}/meta`, not `${loc}`.
fn rotate(cfg: &Config, delay: Duration) -> Result<()> {
    let bulklog = cfg.bulklog();
    let meta = bulklog.join("meta");
    if !meta.is_dir() {
        sys::rm_star(&bulklog);
        return Ok(());
    }
    sys::say(
        "Warning: All log files of the previous pbulk run will be\n\
         removed in 5 seconds. If you want to abort, press Ctrl-C.\n",
    );
    std::thread::sleep(delay);
    if !(cfg.reuse_scan_results() && meta.join("pscan").is_file()) {
        sys::say("Removing old scan results\n");
        sys::rm_star(&bulklog);
        return Ok(());
    }
    sys::say("Reusing old scan results\n");
    let old = PathBuf::from(format!("{}.old", bulklog.display()));
    sys::rm_rf(&old);
    if old.is_dir() {
        refill_old(cfg, &bulklog, &old)
    } else if bulklog.join(bulklock::FILE).exists() {
        move_aside(&bulklog, &old)
    } else {
        std::fs::rename(&bulklog, &old).map_err(|e| {
            Error::err(
                format_args!("cannot rename {} to {}", bulklog.display(), old.display()),
                &e,
            )
        })
    }
}

/// `mv ${bulklog} ${bulklog}.old` entry by entry, leaving the lock file
/// (and the lock held on it) in `${bulklog}`.
fn move_aside(bulklog: &Path, old: &Path) -> Result<()> {
    let cant = |e: std::io::Error| {
        Error::err(
            format_args!("cannot rename {} to {}", bulklog.display(), old.display()),
            &e,
        )
    };
    std::fs::create_dir(old).map_err(cant)?;
    for entry in std::fs::read_dir(bulklog).map_err(cant)? {
        let name = entry.map_err(cant)?.file_name();
        if name != bulklock::FILE {
            std::fs::rename(bulklog.join(&name), old.join(&name)).map_err(cant)?;
        }
    }
    Ok(())
}

/// For a `${bulklog}.old` that survived removal (a mount point): empty it
/// and fill it with a copy of the old tree cut down to `meta`, then empty
/// `${bulklog}`.
pub fn refill_old(cfg: &Config, bulklog: &Path, old: &Path) -> Result<()> {
    sys::rm_star(old);
    sys::rm_entries(bulklog, |n| n != "meta" && n != bulklock::FILE);
    let mut cp = Command::new("cp");
    cp.arg("-pr")
        .arg(bulklog.join("."))
        .arg(format!("{}/", old.display()));
    sys::run(cp, cfg, "cp")?;
    // The copy of the lock file guards nothing there.
    let _ = std::fs::remove_file(old.join(bulklock::FILE));
    sys::rm_star(bulklog);
    Ok(())
}

/// `cd ${pkgsrc}/pkgtools/pkg_install && ${make} show-var VARNAME=<var>`,
/// trailing newlines cut as command substitution does.
pub(super) fn show_var(make: &Tool, dir: &Path, var: &str, cfg: &Config) -> Result<String> {
    let mut cmd = make.command();
    cmd.arg("show-var")
        .arg(format!("VARNAME={var}"))
        .current_dir(dir)
        .stdin(Stdio::null());
    config::child_env(&mut cmd, cfg);
    let out = cmd
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| Error::err(format_args!("cannot run {}", make.line()), &e))?;
    if !out.status.success() {
        return Err(Error::stdout(sys::status_code(out.status), String::new()));
    }
    let mut v = String::from_utf8_lossy(&out.stdout).into_owned();
    while v.ends_with('\n') {
        v.pop();
    }
    Ok(v)
}

/// The content of `meta/status` as the phase writes it.
fn status_text(cfg: &Config, make: &Tool, dir: &Path, os_release: &Path) -> Result<String> {
    let mut v = Vec::with_capacity(QUERIED.len());
    for var in QUERIED {
        v.push(show_var(make, dir, var, cfg)?);
    }
    let [opsys, os_version, os_variant, lower_version, arch, compiler] = &v[..] else {
        unreachable!("six values queried")
    };
    let (mut name, mut version) = (opsys.as_str(), os_version.as_str());
    if opsys == "Cygwin" || opsys == "SCO_SV" {
        name = os_variant;
    } else if opsys == "SunOS" && !os_variant.is_empty() {
        name = os_variant;
        version = lower_version;
    }
    let mut s = format!(
        "PLATFORM={name} {version}/{arch}\nOPSYS={opsys}\nOS_VERSION={os_version}\n\
         MACHINE_ARCH={arch}\nOS_VARIANT={os_variant}\nLOWER_VARIANT_VERSION={lower_version}\n\
         COMPILER={compiler}\n"
    );
    if let Ok(text) = std::fs::read(os_release) {
        for line in text
            .split(|&b| b == b'\n')
            .filter(|l| l.starts_with(b"PRETTY_NAME"))
        {
            let line: Vec<u8> = line.iter().copied().filter(|&b| b != b'"').collect();
            s.push_str(&String::from_utf8_lossy(&line));
            s.push('\n');
        }
    }
    let t = sys::now();
    s.push_str(&sys::strftime_local(
        t,
        "BUILD_START_ISO=%Y-%m-%d %H:%M\nBUILD_START_DIR=%Y%m%d.%H%M\nBUILD_START_EPOCHE=%s\n",
    ));
    s.push_str(&format!("BASE_URL={}\n", cfg.value("base_url")));
    Ok(s)
}
