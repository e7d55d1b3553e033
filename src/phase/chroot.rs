//! The TritonDataCenter/Joyent chroot dialect: per-run chroots that hold
//! the clients of a master-mode scan or build, so several builds can run
//! on one host without sharing (and wiping) one prefix.
//!
//! With `master_mode=yes` and `chroot_dir` set, the scan phase makes one
//! chroot `${chroot_dir}-scan` and the build phase `${chroot_dir}-build`
//! (or `${chroot_dir}-build-1` .. `-N` when `build_chroots=N` is above one)
//! with `${chroot_create} DIR`: on every remote host of `scan_clients` /
//! `build_clients` through ssh, or on this host when the list names no
//! remote host; all at once, then it waits. When the master has ended (also
//! when it failed) `${chroot_delete} DIR` removes them the same way. The
//! start scripts launch the clients inside those chroots: one pbulk-build
//! client per build chroot, `scan_procs` pbulk-scan clients in the scan
//! chroot (a scan only reads the tree; every build needs a prefix of its own).
//!
//! Where we part from the fork's scripts, on purpose:
//! - the chroot names come from `build_chroots`, not from globbing
//!   `${chroot_dir}-build*`, so a stale or foreign directory matching the
//!   pattern never gets a client;
//! - a host listed twice gets its chroots (and clients) once: two creates
//!   of one directory at the same time, or two builds in one chroot, would
//!   spoil each other;
//! - `/path` client words keep their upstream meaning (a fixed chroot on
//!   this host) and get no dialect chroots;
//! - a failed create stops the phase, after deleting what was made, instead
//!   of leaving the master waiting for clients that can never start; a
//!   failed delete is reported but does not undo a finished build.

use std::process::{Child, Command};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::cli::{Error, Result};
use crate::config::{self, Config, Tool};

use super::host::{self, Client};
use super::sys;

/// Which phase's chroots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Build,
    Scan,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Build => "build",
            Kind::Scan => "scan",
        }
    }

    fn clients_var(self) -> &'static str {
        match self {
            Kind::Build => "build_clients",
            Kind::Scan => "scan_clients",
        }
    }
}

/// The chroots of one phase and the hosts they live on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chroots {
    kind: Kind,
    /// The chroot directories, the same on every host.
    pub dirs: Vec<String>,
    /// The remote hosts (each once); empty means this host.
    pub hosts: Vec<Client>,
}

impl Chroots {
    /// The phase's chroots, `None` when `chroot_dir` is not set.
    pub fn of(cfg: &Config, kind: Kind) -> Result<Option<Chroots>> {
        let Some(stem) = cfg.chroot_dir() else {
            return Ok(None);
        };
        let dirs = match kind {
            Kind::Scan => vec![format!("{stem}-scan")],
            Kind::Build => match cfg.build_chroots()? {
                1 => vec![format!("{stem}-build")],
                n => (1..=n).map(|i| format!("{stem}-build-{i}")).collect(),
            },
        };
        let mut hosts: Vec<Client> = Vec::new();
        for c in host::clients(cfg, kind.clients_var()) {
            if matches!(c, Client::Remote { .. }) && !hosts.contains(&c) {
                hosts.push(c);
            }
        }
        Ok(Some(Chroots { kind, dirs, hosts }))
    }

    /// One command per host and chroot running `line` inside the chroot
    /// (`chroot DIR /bin/sh -c LINE`, through ssh for a remote host), each
    /// `per_chroot` times. Remote lines carry `PBULK_CONF`, local ones get
    /// it from the environment.
    pub fn client_commands(&self, cfg: &Config, line: &str, per_chroot: usize) -> Vec<Command> {
        let mut out = Vec::new();
        for dir in &self.dirs {
            if self.hosts.is_empty() {
                for _ in 0..per_chroot {
                    let mut c = Command::new("chroot");
                    c.arg(dir).args(["/bin/sh", "-c", line]);
                    out.push(c);
                }
            }
            for host in &self.hosts {
                let remote = format!(
                    "{}={} chroot {} /bin/sh -c {}",
                    crate::paths::CONF_ENV,
                    shell_words::quote(&cfg.path().to_string_lossy()),
                    shell_words::quote(dir),
                    shell_words::quote(line)
                );
                for _ in 0..per_chroot {
                    out.push(host.raw_command(&remote));
                }
            }
        }
        out
    }
}

/// The clients the start script of `kind` launches in the dialect's
/// chroots: `None` unless both `chroot_dir` and `chroot_create` are set
/// (the fork's test), in which case remote client words are served here
/// and not by the upstream loop.
pub fn start_commands(
    cfg: &Config,
    kind: Kind,
    line: &str,
    per_chroot: usize,
) -> Result<Option<Vec<Command>>> {
    if config::split_words(cfg.value("chroot_create")).is_empty() {
        return Ok(None);
    }
    Ok(Chroots::of(cfg, kind)?.map(|c| c.client_commands(cfg, line, per_chroot)))
}

/// A phase's chroots with the programs that make and remove them, both
/// checked before any work.
pub struct Manager<'c> {
    cfg: &'c Config,
    chroots: Chroots,
    create: Tool,
    delete: Tool,
}

impl<'c> Manager<'c> {
    /// `None` when `chroot_dir` is not set; an error naming the variable and
    /// the path when `chroot_create` or `chroot_delete` is unset or cannot
    /// be run.
    pub fn for_phase(cfg: &'c Config, kind: Kind) -> Result<Option<Manager<'c>>> {
        let Some(chroots) = Chroots::of(cfg, kind)? else {
            return Ok(None);
        };
        Ok(Some(Manager {
            cfg,
            chroots,
            create: cfg.tool("chroot_create")?,
            delete: cfg.tool("chroot_delete")?,
        }))
    }

    /// Create the chroots, run `work`, delete them (whatever `work` gave)
    /// and hand back its result. A failed create deletes what may have been
    /// made and fails with the create's status; `work` does not run.
    ///
    /// SIGINT, SIGTERM and SIGHUP do not end the phase before the chroots
    /// are gone: they are noted, the running step is waited for (a terminal
    /// interrupt reaches the children too), no further step starts, the
    /// chroots are deleted, and then the signal takes its default effect.
    pub fn around<T>(&self, work: impl FnOnce() -> Result<T>) -> Result<T> {
        let caught = Arc::new(AtomicUsize::new(0));
        let mut ids = Vec::new();
        for sig in [SIGINT, SIGTERM, SIGHUP] {
            let id = signal_hook::flag::register_usize(sig, Arc::clone(&caught), sig as usize)
                .map_err(|e| Error::err("cannot handle signals", &e))?;
            ids.push(id);
        }
        let failed = self.run_all(&self.create);
        let result = match failed.first() {
            Some(&status) => Err(Error::stderr(status, "")),
            None if caught.load(Ordering::SeqCst) != 0 => Err(Error::stderr(1, "")),
            None => work(),
        };
        self.run_all(&self.delete);
        for id in ids {
            signal_hook::low_level::unregister(id);
        }
        match caught.load(Ordering::SeqCst) {
            0 => result,
            sig => {
                let sig = sig as i32;
                let _ = signal_hook::low_level::emulate_default_handler(sig);
                Err(Error::stderr(128 + sig, ""))
            }
        }
    }

    /// Run `tool DIR` for every chroot on every host at once and wait for
    /// all; each failure is said on stderr, and its status returned.
    fn run_all(&self, tool: &Tool) -> Vec<i32> {
        let mut jobs: Vec<(String, Option<Child>)> = Vec::new();
        for dir in &self.chroots.dirs {
            if self.chroots.hosts.is_empty() {
                let mut c = tool.command();
                c.arg(dir);
                jobs.push((dir.clone(), sys::spawn_bg(c, self.cfg, &tool.prog)));
            }
            for host in &self.chroots.hosts {
                let line = format!("{} {}", tool.line(), shell_words::quote(dir));
                jobs.push((
                    format!("{dir} on {}", host.name()),
                    sys::spawn_bg(host.command(&line), self.cfg, "ssh"),
                ));
            }
        }
        let mut failed = Vec::new();
        for (what, job) in jobs {
            let status = match job.map(|mut j| j.wait()) {
                Some(Ok(st)) => sys::status_code(st),
                Some(Err(_)) | None => 127,
            };
            if status != 0 {
                eprintln!(
                    "{}: {} {what} failed with exit status {status}",
                    self.chroots.kind.name(),
                    tool.var
                );
                failed.push(status);
            }
        }
        failed
    }
}
