//! The client side of a bulk build: `client-clean` (reset the build prefix
//! to the bootstrap kit), `client-prepare` (clean every client once) and the
//! start scripts the scan and build masters run to launch their clients.
//!
//! The client words of `scan_clients`/`build_clients` are [`super::host`]s.
//!
//! With the Joyent dialect (`chroot_dir` and `chroot_create` set) the start
//! scripts run the clients inside the per-run chroots the phases made
//! ([`super::chroot`]): on each remote host of the list, or on this host
//! when it names none; `/path` words are served as upstream.

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::process::Command;

use crate::cli::{self, Error, Result};
use crate::config::{self, Config, Tool};

use super::host::{clients, Client};
use super::{chroot, sys};

/// The arguments checked (the originals take none; `-h` and the like get
/// the usage), then the configuration read and its version checked.
fn preamble(args: Vec<OsString>, about: &str, prog: &str) -> Result<Config> {
    cli::operands(args, about, &format!("usage: {prog}\n"))?;
    Config::load_checked()
}

/// `client-clean`: wipe the build prefix, its package database and the
/// qmail queue (below `${target_destdir}` when cross-compiling), then lay
/// down the bootstrap kit again.
pub fn clean_main(args: Vec<OsString>) -> Result<i32> {
    const HELP: &str = "client-clean: reset the build prefix (${prefix}, ${pkgdb}, \
                        ${varbase}/qmail) to the bootstrap kit named by ${bootstrapkit}.";
    let cfg = preamble(args, HELP, "client-clean")?;
    clean(&cfg)?;
    Ok(0)
}

/// The work of `client-clean`, for callers that hold a config already.
pub fn clean(cfg: &Config) -> Result<()> {
    let dest = cfg.dest_root();
    let prefix = cfg.value("prefix");
    let kit = cfg.value("bootstrapkit");
    let kit_path = Path::new(kit);
    let md = if kit.is_empty() {
        None
    } else {
        std::fs::metadata(kit_path).ok()
    };
    // The tool is checked before anything is removed.
    let kit_kind = match md {
        Some(m) if m.is_file() => Kit::Tarball(cfg.tool("tar")?),
        Some(m) if m.is_dir() => Kit::Directory,
        _ => Kit::Nothing,
    };

    let under = |p: &str| PathBuf::from(format!("{dest}{p}"));
    if !prefix.is_empty() {
        sys::rm_rf(&under(prefix));
    }
    let pkgdb = cfg.value("pkgdb");
    if !pkgdb.is_empty() {
        sys::rm_rf(&under(pkgdb));
    }
    sys::rm_rf(&under(&format!("{}/qmail", cfg.value("varbase"))));

    match kit_kind {
        Kit::Tarball(tar) => {
            let root = format!("{dest}/");
            let args = [
                OsStr::new("-xzf"),
                kit_path.as_os_str(),
                OsStr::new("-C"),
                OsStr::new(&root),
            ];
            sys::run_tool(&tar, &args, cfg)?;
        }
        Kit::Directory => {
            let target = under(prefix);
            // The original tests the prefix without the destdir here.
            if !Path::new(prefix).is_dir() {
                std::fs::create_dir(&target).map_err(|e| {
                    Error::err(
                        format_args!("cannot create directory {}", target.display()),
                        &e,
                    )
                })?;
            }
            let mut cp = Command::new("cp");
            cp.arg("-R").args(sys::glob_star(kit_path)).arg(&target);
            sys::run(cp, cfg, "cp")?;
        }
        Kit::Nothing => {}
    }
    Ok(())
}

/// What `${bootstrapkit}` names.
enum Kit {
    /// A regular file: a gzip'd tar unpacked at the root.
    Tarball(Tool),
    /// A directory copied into the prefix.
    Directory,
    /// Empty or missing: the prefix stays empty.
    Nothing,
}

/// `client-prepare`: run `${client_prepare_action}` on every distinct
/// remote client (ssh) and `${client_prepare_chroot} PATH` for every chroot
/// client, all at once; wait for them and ignore their failures.
pub fn prepare_main(args: Vec<OsString>) -> Result<i32> {
    const HELP: &str = "client-prepare: clean every scan and build client once, in parallel, \
                        before a bulk build starts.";
    let cfg = preamble(args, HELP, "client-prepare")?;
    prepare(&cfg)?;
    Ok(0)
}

/// The work of `client-prepare`.
pub fn prepare(cfg: &Config) -> Result<()> {
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
    let action = cfg.value("client_prepare_action").to_string();
    let chroot_cmd = config::command_words(cfg.value("client_prepare_chroot"));
    let mut jobs = Vec::new();
    for word in &seen {
        let job = match Client::parse(word) {
            Client::Chroot(path) => match &chroot_cmd {
                Some((prog, _)) if prog == ":" || prog == "true" => None,
                Some((prog, rest)) => {
                    let mut c = Command::new(prog);
                    c.args(rest).arg(&path);
                    sys::spawn_bg(c, cfg, prog)
                }
                None => None,
            },
            remote => sys::spawn_bg(remote.command(&action), cfg, "ssh"),
        };
        jobs.extend(job);
    }
    for mut j in jobs {
        let _ = j.wait();
    }
    Ok(())
}

/// `scan-client-start`: prepare the clients, then start a pbulk-scan client
/// on each scan client in the background and return at once.
pub fn scan_start_main(args: Vec<OsString>) -> Result<i32> {
    const HELP: &str = "scan-client-start: start script of the pbulk-scan master; prepares the \
                        clients and launches a scan client on each of ${scan_clients}.";
    let cfg = preamble(args, HELP, "scan-client-start")?;
    let prepare = cfg.optional_tool("client_prepare")?;
    cfg.scan_procs()?;
    let old = PathBuf::from(format!("{}.old/meta/pscan", cfg.value("bulklog")));
    let extra = if old.is_file() {
        format!("-L {}", old.display())
    } else {
        String::new()
    };
    if let Some(prepare) = prepare {
        sys::run_tool(&prepare, &[], &cfg)?;
    }
    let line = format!(
        "{} -c {} -M {} {} {}",
        cfg.value("pscan"),
        cfg.value("master_port_scan"),
        cfg.value("make"),
        extra,
        cfg.value("pkgsrc")
    );
    // Scanning only reads the tree, so several scan clients may share one
    // chroot: `scan_procs` of them per chroot (Joyent dialect; one when
    // unset, as upstream). With the dialect's chroots, the remote hosts
    // run their clients in `${chroot_dir}-scan` instead.
    let per_chroot = cfg.scan_procs()?;
    let dialect = chroot::start_commands(&cfg, chroot::Kind::Scan, &line, per_chroot)?;
    for c in clients(&cfg, "scan_clients") {
        let n = match c {
            Client::Chroot(_) => per_chroot,
            Client::Remote { .. } if dialect.is_some() => continue,
            Client::Remote { .. } => 1,
        };
        for _ in 0..n {
            sys::spawn_bg(c.command(&line), &cfg, "scan client");
        }
    }
    for cmd in dialect.into_iter().flatten() {
        sys::spawn_bg(cmd, &cfg, "scan client");
    }
    Ok(0)
}

/// `build-client-start`: start a pbulk-build client on each build client
/// in the background and return at once.
pub fn build_start_main(args: Vec<OsString>) -> Result<i32> {
    const HELP: &str = "build-client-start: start script of the pbulk-build master; launches a \
                        build client on each of ${build_clients}.";
    let cfg = preamble(args, HELP, "build-client-start")?;
    let line = format!(
        "{} -c {} -b {}",
        cfg.value("pbuild"),
        cfg.value("master_port_build"),
        cfg.value("pbuild_script")
    );
    // With the dialect's chroots, one client per chroot on each remote
    // host (or here) instead of one per remote client word.
    let dialect = chroot::start_commands(&cfg, chroot::Kind::Build, &line, 1)?;
    for c in clients(&cfg, "build_clients") {
        if dialect.is_some() && matches!(c, Client::Remote { .. }) {
            continue;
        }
        sys::spawn_bg(c.command(&line), &cfg, "build client");
    }
    for cmd in dialect.into_iter().flatten() {
        sys::spawn_bg(cmd, &cfg, "build client");
    }
    Ok(0)
}
