//! Stopping a whole run by stopping its driver.
//!
//! A driver runs each phase as the leader of a process group of its own,
//! so that a stop signal sent to the driver alone (TERM, INT, HUP) can be
//! passed on to everything the phase started, as a signal to the whole
//! process group of the run would reach it; the driver then waits until
//! that group is empty and exits with the signal's status (128 + signal).
//! A driver killed with SIGKILL cannot pass anything on: its phases ask
//! the kernel for SIGTERM when their parent dies (PR_SET_PDEATHSIG), and a
//! phase program that leads its group ([`lead`]) hands that signal on to
//! the group. Where the driver has the terminal, the phase gets it while
//! it runs, so Ctrl-C and reads from the terminal reach the phase as they
//! did when all were one group.

use std::os::unix::process::CommandExt;
use std::process::Command;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use crate::bulklock::BulkLock;
use crate::cli::{Error, Result};
use crate::config::{self, Config, Tool};

/// Set for the phases a driver starts: the phase leads its process group.
pub const PHASE_ENV: &str = "PBULK_PHASE_GROUP";

/// How long the rest of a stopped phase's group may take to end (a
/// pbulk-build stopping its builds needs up to ten seconds) before it is
/// killed.
const GROUP_GRACE: Duration = Duration::from_secs(30);

enum Event {
    Signal(i32),
    Exited(i32),
}

/// The driver's side: the stop signals it has received, and the phases.
pub struct Driver<'a> {
    cfg: &'a Config,
    lock: &'a BulkLock,
    tx: mpsc::Sender<Event>,
    rx: mpsc::Receiver<Event>,
    handle: signal_hook::iterator::Handle,
}

impl<'a> Driver<'a> {
    /// Catch the stop signals from now on.
    pub fn new(cfg: &'a Config, lock: &'a BulkLock) -> Result<Driver<'a>> {
        let (tx, rx) = mpsc::channel();
        let handle = crate::build::runner::forward_stop_signals(&tx, Event::Signal)
            .map_err(|e| Error::err("cannot install signal handlers", &e))?;
        Ok(Driver {
            cfg,
            lock,
            tx,
            rx,
            handle,
        })
    }

    /// Run one phase program to its end, like a plain line `${var}` under
    /// `set -e`: `Ok(())` on status 0, else its status as an error. A stop
    /// signal to the driver stops the phase's whole group and ends the
    /// driver with 128 + signal.
    pub fn run(&self, tool: &Tool) -> Result<()> {
        if tool.is_noop() {
            return Ok(());
        }
        if let Ok(Event::Signal(s)) = self.rx.try_recv() {
            return Err(stopped(s));
        }
        let mut cmd = tool.command();
        config::child_env(&mut cmd, self.cfg);
        cmd.env(PHASE_ENV, "1").process_group(0);
        self.lock.share_with(&mut cmd);
        die_with_parent(&mut cmd);
        let mut child = cmd
            .spawn()
            .map_err(|e| Error::err(format_args!("cannot run {}", tool.line()), &e))?;
        let pgid = child.id() as i32;
        let tty = Terminal::hand_to(pgid);
        let tx = self.tx.clone();
        std::thread::spawn(move || {
            let st = child.wait().map(super::sys::status_code).unwrap_or(1);
            let _ = tx.send(Event::Exited(st));
        });
        let mut signal = None;
        let status = loop {
            match self.rx.recv() {
                Ok(Event::Signal(s)) => {
                    signal.get_or_insert(s);
                    // SAFETY: signalling the phase's own process group.
                    unsafe { libc::killpg(pgid, s) };
                }
                Ok(Event::Exited(st)) => break st,
                Err(_) => break 1,
            }
        };
        if let Some(s) = signal {
            wait_group_gone(pgid);
            drop(tty);
            return Err(stopped(s));
        }
        drop(tty);
        if status == 0 {
            Ok(())
        } else {
            Err(Error::stdout(status, String::new()))
        }
    }
}

impl Drop for Driver<'_> {
    fn drop(&mut self) {
        self.handle.close();
    }
}

fn stopped(sig: i32) -> Error {
    let name = nix::sys::signal::Signal::try_from(sig)
        .map(|s| s.as_str())
        .unwrap_or("a signal");
    Error::errx(format!(
        "stopped by {name}; every phase it started is stopped"
    ))
    .with_code(128 + sig)
}

/// Wait until no process of group `pgid` is left; kill what remains after
/// the grace time.
fn wait_group_gone(pgid: i32) {
    let deadline = Instant::now() + GROUP_GRACE;
    // SAFETY: signal 0 only checks whether the group has members.
    while unsafe { libc::killpg(pgid, 0) } == 0 {
        if Instant::now() > deadline {
            unsafe { libc::killpg(pgid, libc::SIGKILL) };
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Ask for SIGTERM when the driver dies, and give up at once if it is
/// already gone.
fn die_with_parent(cmd: &mut Command) {
    #[cfg(target_os = "linux")]
    {
        let parent = std::process::id() as libc::pid_t;
        // SAFETY: prctl, getppid and _exit are async-signal-safe. The
        // driver starts its phases from its main thread, whose end is the
        // process's end (the death signal follows the thread that forked).
        unsafe {
            cmd.pre_exec(move || {
                libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM);
                if libc::getppid() != parent {
                    libc::_exit(128 + libc::SIGTERM);
                }
                Ok(())
            });
        }
    }
}

/// The controlling terminal, lent to a phase's group while it runs.
struct Terminal {
    lent: bool,
}

impl Terminal {
    fn hand_to(pgid: i32) -> Terminal {
        // SAFETY: tcgetpgrp/tcsetpgrp on stdin; nothing changes unless this
        // process's group has the terminal.
        let lent = unsafe {
            libc::isatty(0) == 1
                && libc::tcgetpgrp(0) == libc::getpgrp()
                && libc::tcsetpgrp(0, pgid) == 0
        };
        Terminal { lent }
    }
}

impl Drop for Terminal {
    /// Take the terminal back; a background group doing so would be
    /// stopped by SIGTTOU, which is held off meanwhile.
    fn drop(&mut self) {
        if !self.lent {
            return;
        }
        // SAFETY: the disposition is restored right after the call.
        unsafe {
            let old = libc::signal(libc::SIGTTOU, libc::SIG_IGN);
            libc::tcsetpgrp(0, libc::getpgrp());
            libc::signal(libc::SIGTTOU, old);
        }
    }
}

/// The phase's side: when this program leads the process group a driver
/// made for it, a stop signal to it alone (the driver's death signal)
/// stops the whole group, as the driver's own forwarding would.
pub fn lead() {
    // SAFETY: getpgrp and getpid cannot fail.
    let leader = unsafe { libc::getpgrp() == libc::getpid() };
    if std::env::var_os(PHASE_ENV).is_none() || !leader {
        return;
    }
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(s) = signals.forever().next() {
            // SAFETY: signalling this process's own group; this process
            // catches the signal and ends with its status.
            unsafe { libc::killpg(0, s) };
            std::process::exit(128 + s);
        }
    });
}

/// The start of every phase program: lead its group when a driver made one
/// for it, then hold the bulk log's lock (the driver's, or its own when
/// called alone) for as long as it runs.
pub fn start_phase(cfg: &Config, program: &str, create: bool) -> Result<BulkLock> {
    lead();
    BulkLock::acquire(&cfg.bulklog(), program, create)
}
