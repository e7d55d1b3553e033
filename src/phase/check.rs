//! `pbulk-check` (pbulk-rs): the setup check an operator runs before the
//! first bulk build. It reads pbulk.conf as the phases do and prints one
//! line per problem, each saying what to do: the version, the layout's
//! directories, the tools, the pkgsrc tree, the bootstrap kit and the
//! mk.conf inside it, the unprivileged user and, in master mode, the
//! clients. It changes nothing: it only reads, lists the kit with
//! `${tar}` and asks the clients over ssh.
//!
//! An error is something that stops or spoils a build (exit status 1); a
//! warning is a setting the pkgsrc guide advises against; a note is
//! information (which directories share a file system).

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cli::{Error, Result};
use crate::config::{self, Config};
use crate::paths;

use super::host::Client;
use super::kit::{self, Kit, MkConf};

const USAGE: &str = "usage: pbulk-check [-n] [config]\n";

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Error,
    Warning,
    Note,
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Level::Error => "error",
            Level::Warning => "warning",
            Level::Note => "note",
        })
    }
}

/// What the check found, in the order it was found.
#[derive(Debug, Default)]
pub struct Findings {
    pub list: Vec<(Level, String)>,
}

impl Findings {
    pub fn error(&mut self, text: impl Into<String>) {
        self.list.push((Level::Error, text.into()));
    }
    pub fn warn(&mut self, text: impl Into<String>) {
        self.list.push((Level::Warning, text.into()));
    }
    pub fn note(&mut self, text: impl Into<String>) {
        self.list.push((Level::Note, text.into()));
    }
    pub fn count(&self, level: Level) -> usize {
        self.list.iter().filter(|(l, _)| *l == level).count()
    }
}

pub fn main(args: Vec<OsString>) -> Result<i32> {
    let mut no_clients = false;
    let mut conf: Option<PathBuf> = None;
    for a in args {
        match a.to_str() {
            Some("-n") => no_clients = true,
            Some(s) if s.starts_with('-') => return Err(Error::stderr(2, USAGE)),
            _ if conf.is_none() => conf = Some(PathBuf::from(a)),
            _ => return Err(Error::stderr(2, USAGE)),
        }
    }
    let mut path = conf.unwrap_or_else(paths::config_path);
    // sh's `.` would look a relative name up in PATH.
    if path.is_relative() {
        if let Ok(cwd) = std::env::current_dir() {
            path = cwd.join(path);
        }
    }
    let cfg = Config::load_from(&path)?;
    let mut found = check(&cfg, !no_clients);
    // Errors first, notes last, each in the order found.
    found.list.sort_by_key(|(level, _)| *level);
    for (level, text) in &found.list {
        println!("{level}: {text}");
    }
    let (e, w) = (found.count(Level::Error), found.count(Level::Warning));
    let plural = |n: usize, what: &str| format!("{n} {what}{}", if n == 1 { "" } else { "s" });
    if e > 0 {
        println!(
            "pbulk-check: {}, {} in {}: fix the errors before running bulkbuild",
            plural(e, "error"),
            plural(w, "warning"),
            path.display()
        );
        Ok(1)
    } else {
        println!(
            "pbulk-check: nothing blocks a build with {} ({})",
            path.display(),
            plural(w, "warning")
        );
        Ok(0)
    }
}

/// Every check; `clients` says whether to reach the clients of master mode.
pub fn check(cfg: &Config, clients: bool) -> Findings {
    let mut f = Findings::default();
    let file = cfg.path().display().to_string();
    let v = cfg.value("config_version");
    if v != paths::CONFIG_VERSION {
        f.error(format!(
            "config_version={v} in {file}, this pbulk-rs reads {}: compare with \
             share/examples/pbulk/pbulk.conf and carry your settings over",
            paths::CONFIG_VERSION
        ));
    }
    let master = match cfg.value("master_mode") {
        m if m.eq_ignore_ascii_case("yes") => Some(true),
        m if m.eq_ignore_ascii_case("no") => Some(false),
        m => {
            f.error(format!("master_mode={m} in {file}: set it to yes or no"));
            None
        }
    };
    let kit = kit::inspect(cfg, &mut f);
    tools(cfg, &kit, &mut f);
    let mk = match &kit {
        Kit::Tarball { mk_conf, .. } | Kit::Directory { mk_conf, .. } => mk_conf.as_ref(),
        _ => None,
    };
    if let Some(mk) = mk {
        kit::check_mk_conf(cfg, mk, &mut f);
    }
    directories(cfg, mk, &mut f);
    user(cfg, mk, &mut f);
    if master == Some(true) {
        if clients {
            check_clients(cfg, &mut f);
        } else {
            f.note("-n: the clients were not asked over ssh");
        }
    }
    f
}

/// The tools the phases run; those that may be `:` (publishing switched
/// off) with the note that says so.
const TOOLS: [(&str, Option<&str>); 12] = [
    ("make", None),
    ("pkg_add", None),
    ("pkg_admin", None),
    ("pkg_delete", None),
    ("pkg_info", None),
    ("digest", None),
    ("gzip", None),
    ("bzip2", None),
    ("tar", None),
    ("sed", None),
    (
        "rsync",
        Some("the packages and the report are not uploaded"),
    ),
    ("mail", Some("no report mail is sent")),
];

/// pbulk's own programs, named in the file; an empty phase or hook is a
/// valid way to skip it.
const PROGRAMS: [&str; 12] = [
    "pscan",
    "presolve",
    "pbuild",
    "pbuild_script",
    "pkg_up_to_date_script",
    "pbuild_start_script",
    "pscan_start_script",
    "script_phase_pre_build",
    "script_phase_scan",
    "script_phase_build",
    "script_phase_report",
    "script_phase_upload",
];

/// `path` lies in the build prefix (which every package build empties).
fn inside(path: &str, prefix: &str) -> bool {
    let prefix = prefix.trim_end_matches('/');
    !prefix.is_empty()
        && path
            .strip_prefix(prefix)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
}

fn tools(cfg: &Config, kit: &Kit, f: &mut Findings) {
    let file = cfg.path().display().to_string();
    let prefix = cfg.value("prefix");
    for (var, off) in TOOLS {
        let Some((prog, _)) = config::command_words(cfg.value(var)) else {
            f.error(format!(
                "{var} is not set in {file}: set it to the path of the program"
            ));
            continue;
        };
        if prog == ":" || prog == "true" {
            match off {
                Some(what) => f.note(format!("{var}=: {what}")),
                None => f.error(format!(
                    "{var}={prog} in {file}: the builds need a real {var}"
                )),
            }
            continue;
        }
        if inside(&prog, prefix) {
            if var == "make" {
                // The kit puts bmake into the prefix before every build;
                // an unusable kit has been reported already.
                if kit.holds(&prog) || matches!(kit, Kit::Unusable) {
                    continue;
                }
                f.error(format!(
                    "make={prog} lies in prefix={prefix}, which is emptied before every \
                     package, and the bootstrap kit holds no such file: make the kit with \
                     bootstrap --gzip-binary-kit or point make at a bmake outside {prefix}"
                ));
            } else {
                f.error(format!(
                    "{var}={prog} lies in prefix={prefix}, which is emptied before every \
                     package: install it under the pbulk prefix (/usr/pkg_bulk) and point \
                     {var} there"
                ));
            }
            continue;
        }
        runnable(var, &prog, &file, f);
    }
    for var in PROGRAMS {
        if let Some((prog, _)) = config::command_words(cfg.value(var)) {
            if prog != ":" && prog != "true" {
                runnable(var, &prog, &file, f);
            }
        }
    }
}

/// The program exists, is executable, and its interpreter line (if any)
/// names a program that exists: what makes exec fail.
fn runnable(var: &str, prog: &str, file: &str, f: &mut Findings) {
    let path = match config::find_program(prog) {
        Ok(p) => p,
        Err(why) => {
            f.error(format!(
                "{var}={prog} (from {file}): {why}: install it or correct the path"
            ));
            return;
        }
    };
    let mut head = [0u8; 256];
    let n = std::fs::File::open(&path)
        .and_then(|mut fh| std::io::Read::read(&mut fh, &mut head))
        .unwrap_or(0);
    let Some(line) = head[..n].strip_prefix(b"#!") else {
        return;
    };
    let line = line.split(|&b| b == b'\n').next().unwrap_or(b"");
    let text = String::from_utf8_lossy(line);
    let Some(interp) = text.split_whitespace().next() else {
        return;
    };
    if let Err(why) = config::find_program(interp) {
        f.error(format!(
            "{var}={prog}: its interpreter {interp} cannot be run ({why}): install it or \
             correct the #! line"
        ));
    }
}

/// Whether `uid` with `gids` may write into the directory `md` describes.
fn may_write(md: &std::fs::Metadata, uid: u32, gids: &[u32]) -> bool {
    let mode = md.mode();
    uid == 0
        || (md.uid() == uid && mode & 0o200 != 0)
        || (gids.contains(&md.gid()) && mode & 0o020 != 0)
        || mode & 0o002 != 0
}

/// Writable by this process: the permission bits and a read-only mount.
fn writable(p: &Path) -> bool {
    nix::unistd::access(p, nix::unistd::AccessFlags::W_OK).is_ok()
}

/// The nearest existing directory at or above `p`.
fn existing_ancestor(p: &Path) -> Option<&Path> {
    p.ancestors()
        .find(|a| !a.as_os_str().is_empty() && a.is_dir())
}

/// A directory the build writes into: it exists and is writable, or can
/// be made in a writable directory above it.
fn needs_writable(var: &str, dir: &str, what: &str, f: &mut Findings) {
    if dir.is_empty() {
        f.error(format!("{var} is not set: it names {what}"));
        return;
    }
    let p = Path::new(dir);
    match std::fs::metadata(p) {
        Ok(md) if !md.is_dir() => f.error(format!(
            "{var}={dir} is not a directory: it must be {what}; move the file away"
        )),
        Ok(_) if !writable(p) => f.error(format!(
            "{var}={dir} is not writable: it is {what}; mount it read-write and give it \
             to the user running bulkbuild"
        )),
        Ok(_) => {}
        Err(_) => match existing_ancestor(p) {
            Some(a) if writable(a) => {}
            Some(a) => f.error(format!(
                "{var}={dir} does not exist and {} is not writable: create {dir} ({what})",
                a.display()
            )),
            None => f.error(format!("{var}={dir} does not exist: create it ({what})")),
        },
    }
}

fn directories(cfg: &Config, mk: Option<&MkConf>, f: &mut Findings) {
    let dest = cfg.dest_root();
    let bulklog = cfg.value("bulklog");
    needs_writable("bulklog", bulklog, "the log tree, emptied by every run", f);
    let loc = cfg.value("loc");
    if !inside(loc, bulklog) {
        f.warn(format!(
            "loc={loc} is not inside bulklog={bulklog}: the report upload and the log \
             rotation expect loc=${{bulklog}}/meta"
        ));
    }
    needs_writable(
        "packages",
        cfg.value("packages"),
        "where the packages go",
        f,
    );
    let prefix = format!("{dest}{}", cfg.value("prefix"));
    needs_writable(
        "prefix",
        &prefix,
        "the build prefix, emptied before every package",
        f,
    );
    let pkgdb = format!("{dest}{}", cfg.value("pkgdb"));
    needs_writable("pkgdb", &pkgdb, "the build prefix's package database", f);

    let pkgsrc = cfg.value("pkgsrc");
    let tree = Path::new(pkgsrc);
    if pkgsrc.is_empty() || !tree.is_dir() {
        f.error(format!(
            "pkgsrc={pkgsrc} is not a directory: check out or mount the pkgsrc tree there"
        ));
    } else if !tree.join("mk").is_dir() {
        f.error(format!(
            "pkgsrc={pkgsrc} has no mk/ directory: it is not a pkgsrc tree (or an incomplete \
             checkout); point pkgsrc at the top of the tree"
        ));
    }
    if mk.is_some_and(|m| m.get("WRKOBJDIR").is_some())
        && tree.join("mk").is_dir()
        && writable(tree)
    {
        f.note(format!(
            "pkgsrc={pkgsrc} is writable: the layout keeps it read-only, so that a package \
             writing into the tree fails instead of changing it for the packages after it"
        ));
    }
    let list = cfg.value("limited_list");
    if !list.is_empty() && std::fs::File::open(list).is_err() {
        f.error(format!(
            "limited_list={list} cannot be read: write one location (such as \
             pkgtools/pkg_install) per line, or unset limited_list for a full build"
        ));
    }
    let varbase = format!("{dest}{}", cfg.value("varbase"));
    if !Path::new(&varbase).is_dir() {
        f.warn(format!("varbase={varbase} does not exist: create it"));
    }

    let mut shown: Vec<(String, String)> = vec![
        ("bulklog".into(), bulklog.into()),
        ("packages".into(), cfg.value("packages").into()),
        ("pkgsrc".into(), pkgsrc.into()),
        ("prefix".into(), prefix),
    ];
    if let Some(mk) = mk {
        for (var, what) in [("WRKOBJDIR", "the scratch area"), ("DISTDIR", "distfiles")] {
            match mk.get(var) {
                Some(d) if !d.contains('$') => {
                    needs_writable(var, d, what, f);
                    shown.push((var.into(), d.into()));
                }
                _ => {}
            }
        }
    }
    file_systems(&shown, f);
}

/// One note per file system holding more than one of the directories (the
/// layout wants the build prefix and the scratch area apart from the logs
/// and packages, so a full one stops only the builds).
fn file_systems(dirs: &[(String, String)], f: &mut Findings) {
    let mut by_dev: BTreeMap<u64, Vec<String>> = BTreeMap::new();
    for (var, dir) in dirs {
        if let Some(md) = existing_ancestor(Path::new(dir)).and_then(|a| a.metadata().ok()) {
            by_dev
                .entry(md.dev())
                .or_default()
                .push(format!("{var} ({dir})"));
        }
    }
    for names in by_dev.values().filter(|n| n.len() > 1) {
        f.note(format!("on one file system: {}", names.join(", ")));
    }
}

fn user(cfg: &Config, mk: Option<&MkConf>, f: &mut Findings) {
    let name = cfg.value("unprivileged_user");
    if name.is_empty() {
        return;
    }
    let user = match nix::unistd::User::from_name(name) {
        Ok(Some(u)) => u,
        _ => {
            f.error(format!(
                "unprivileged_user={name} does not exist: create the account (useradd {name}) \
                 or name an existing one"
            ));
            return;
        }
    };
    let Some(scratch) = mk
        .and_then(|m| m.get("WRKOBJDIR"))
        .filter(|d| !d.contains('$'))
    else {
        return;
    };
    let Ok(md) = std::fs::metadata(scratch) else {
        return;
    };
    let gids: Vec<u32> =
        nix::unistd::getgrouplist(&std::ffi::CString::new(name).unwrap_or_default(), user.gid)
            .map(|g| g.into_iter().map(|g| g.as_raw()).collect())
            .unwrap_or_else(|_| vec![user.gid.as_raw()]);
    if !may_write(&md, user.uid.as_raw(), &gids) {
        f.error(format!(
            "unprivileged_user={name} cannot write the scratch area WRKOBJDIR={scratch}: \
             chown {name} {scratch}"
        ));
    }
}

/// In master mode every client must answer over ssh (or be a chroot
/// here) and see the shared directories: the log tree, the packages and
/// the pkgsrc tree.
fn check_clients(cfg: &Config, f: &mut Findings) {
    let mut seen: Vec<String> = Vec::new();
    for w in cfg
        .words("scan_clients")
        .into_iter()
        .chain(cfg.words("build_clients"))
    {
        if !seen.contains(&w) {
            seen.push(w);
        }
    }
    if seen.is_empty() {
        f.error("master_mode=yes but scan_clients and build_clients are empty: list the clients");
        return;
    }
    let shared = [
        cfg.value("bulklog").to_string(),
        cfg.value("packages").to_string(),
        format!("{}/mk", cfg.value("pkgsrc")),
    ];
    for word in &seen {
        match Client::parse(word) {
            Client::Chroot(root) => {
                let missing: Vec<&String> = shared
                    .iter()
                    .filter(|d| !root.join(d.trim_start_matches('/')).is_dir())
                    .collect();
                if !missing.is_empty() {
                    f.error(format!(
                        "client {word} (a chroot) does not see {}: mount the shared \
                         directories into it",
                        join(&missing)
                    ));
                }
            }
            Client::Remote { host, port } => {
                let script = format!(
                    "for d in {}; do test -d \"$d\" || echo \"$d\"; done",
                    shared
                        .iter()
                        .map(|d| shell_words::quote(d).into_owned())
                        .collect::<Vec<_>>()
                        .join(" ")
                );
                let mut ssh = Command::new("ssh");
                ssh.args(["-o", "BatchMode=yes", "-o", "ConnectTimeout=10"]);
                if let Some(p) = &port {
                    ssh.arg("-p").arg(p);
                }
                ssh.arg(&host).arg(script).stdin(Stdio::null());
                match ssh.output() {
                    Ok(out) if out.status.success() => {
                        let text = String::from_utf8_lossy(&out.stdout);
                        let missing: Vec<&str> = text.lines().collect();
                        if !missing.is_empty() {
                            f.error(format!(
                                "client {word} does not see {}: share them (NFS, null \
                                 mounts) at the same paths",
                                missing.join(", ")
                            ));
                        }
                    }
                    Ok(out) => {
                        let err = String::from_utf8_lossy(&out.stderr);
                        let why = err.lines().last().unwrap_or("no answer").trim().to_string();
                        f.error(format!(
                            "client {word} does not answer over ssh ({why}): set up key \
                             login for the user running bulkbuild (ssh {host} true must work \
                             without a password)"
                        ));
                    }
                    Err(e) => f.error(format!(
                        "cannot run ssh for client {word}: {}",
                        crate::cli::strerror(&e)
                    )),
                }
            }
        }
    }
}

fn join(list: &[&String]) -> String {
    list.iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}
