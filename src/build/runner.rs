//! Running the build script for each job on local slots.
//!
//! The script is run as the reference runs it: argv[0] is the basename of
//! the `-b` path, no arguments, the record on stdin, environment, working
//! directory, stdout and stderr inherited, SIGPIPE at its default. A script
//! that stops reading early (EPIPE) is judged by its exit status alone.
//! The scripts run in the process group of a [`Keeper`], so that an
//! interrupted build can stop everything they started, and a killed
//! pbulk-build leaves none of it running.

use std::collections::{BTreeSet, HashMap};
use std::ffi::OsString;
use std::io::{self, Write};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::{mpsc, Arc};
use std::time::{Duration, Instant};

use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};

use super::keeper::Keeper;
use super::sandbox::{Sandbox, Slot};
use crate::cli::{Error, Result, HOST_FAILURE};

/// How to start the build script.
pub struct Script {
    path: PathBuf,
    argv0: OsString,
}

impl Script {
    /// The reference exec's the `-b` path as given (no PATH search).
    pub fn new(build_path: &std::ffi::OsStr) -> Script {
        let bytes = std::os::unix::ffi::OsStrExt::as_bytes(build_path);
        let base = bytes.rsplit(|&b| b == b'/').next().unwrap_or(bytes);
        let argv0 = std::os::unix::ffi::OsStrExt::from_bytes(base);
        let path = if bytes.contains(&b'/') {
            PathBuf::from(build_path)
        } else {
            PathBuf::from(".").join(build_path)
        };
        Script {
            path,
            argv0: OsString::from(argv0 as &std::ffi::OsStr),
        }
    }

    /// Start the script with `record` on its stdin; the outcome arrives on
    /// `done` as `(job, succeeded, milliseconds)`.
    /// The script joins process group `group` (the keeper's), or leads
    /// a new one; the group it is in is returned. With a `slot`, it runs
    /// in that slot's private mount namespace.
    fn start(
        &self,
        job: u32,
        record: Vec<u8>,
        group: Option<Pid>,
        slot: Option<&Arc<Slot>>,
        done: mpsc::Sender<Event>,
    ) -> Result<Pid> {
        let started = Instant::now();
        let spawn = |pgid: i32| {
            let mut cmd = Command::new(&self.path);
            cmd.arg0(&self.argv0)
                .stdin(Stdio::piped())
                .process_group(pgid);
            if let Some(slot) = slot {
                let slot = Arc::clone(slot);
                // SAFETY: Slot::enter makes system calls only.
                unsafe {
                    cmd.pre_exec(move || slot.enter());
                }
            }
            cmd.spawn()
        };
        let mut group = group;
        let mut spawned = spawn(group.map_or(0, Pid::as_raw));
        if group.is_some() && matches!(&spawned, Err(e) if e.raw_os_error() == Some(libc::EPERM)) {
            // The keeper is gone: a group of its own, unkept.
            group = None;
            spawned = spawn(0);
        }
        let mut child = match spawned {
            Ok(c) => c,
            // A runnable script that fails to start in its slot met the
            // slot's error, not exec's.
            Err(e) if exec_failure(&e) && !(slot.is_some() && self.runnable()) => {
                // The reference's child exits 255 when exec fails.
                let _ = done.send(Event::Finished {
                    job,
                    end: End::Failed,
                    ms: 0,
                });
                return Ok(Pid::from_raw(0));
            }
            // The host, not the package: the run stops, a restart goes on.
            Err(e) if slot.is_some() => {
                return Err(Error::err(
                    "Failed to create child in its private build slot",
                    &e,
                ))
            }
            Err(e) => return Err(Error::err("Failed to create child", &e)),
        };
        let pid = Pid::from_raw(child.id() as i32);
        let pgid = group.unwrap_or(pid);
        std::thread::spawn(move || {
            let end = feed_and_wait(&mut child, &record);
            let ms = started.elapsed().as_millis() as u64;
            let _ = done.send(Event::Finished { job, end, ms });
        });
        Ok(pgid)
    }
}

impl Script {
    /// Build one record and wait for how the script ended. The script
    /// stays in the caller's process group, as the reference's client runs
    /// it, so stopping a client's group stops its build too.
    pub fn run_one(&self, record: &[u8]) -> Result<End> {
        let spawned = Command::new(&self.path)
            .arg0(&self.argv0)
            .stdin(Stdio::piped())
            .spawn();
        match spawned {
            Ok(mut child) => Ok(feed_and_wait(&mut child, record)),
            Err(e) if exec_failure(&e) => Ok(End::Failed),
            Err(e) => Err(Error::err("Failed to create child", &e)),
        }
    }
}

impl Script {
    fn runnable(&self) -> bool {
        nix::unistd::access(&self.path, nix::unistd::AccessFlags::X_OK).is_ok()
            && self.path.is_file()
    }
}

fn exec_failure(e: &io::Error) -> bool {
    matches!(
        e.raw_os_error(),
        Some(libc::ENOENT | libc::EACCES | libc::ENOEXEC | libc::ENOTDIR | libc::ELOOP)
            | Some(libc::ENAMETOOLONG | libc::EISDIR | libc::ETXTBSY)
    )
}

/// How a build script ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Built,
    Failed,
    /// The build host failed it ([`HOST_FAILURE`]): not the package's
    /// result.
    Host,
}

/// Write the record, tolerating a script that does not read it all, then
/// wait: success is exit status 0 and nothing else.
fn feed_and_wait(child: &mut Child, record: &[u8]) -> End {
    let mut stdin = child.stdin.take().expect("stdin is piped");
    match stdin.write_all(record) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::BrokenPipe => {}
        Err(_) => {
            drop(stdin);
            let _ = nix::sys::signal::kill(Pid::from_raw(child.id() as i32), Signal::SIGTERM);
            let _ = child.wait();
            return End::Failed;
        }
    }
    drop(stdin);
    match child.wait() {
        Ok(st) if st.success() && st.signal().is_none() => End::Built,
        Ok(st) if st.code() == Some(HOST_FAILURE) => End::Host,
        _ => End::Failed,
    }
}

enum Event {
    Finished { job: u32, end: End, ms: u64 },
    Signal(i32),
}

/// From now on, send every SIGINT, SIGTERM and SIGHUP this process gets
/// into `tx` as `wrap(signal)`, from a thread of its own, until the
/// returned handle is closed or the receiver is gone.
pub fn forward_stop_signals<E: Send + 'static>(
    tx: &mpsc::Sender<E>,
    wrap: fn(i32) -> E,
) -> io::Result<signal_hook::iterator::Handle> {
    let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM, SIGHUP])?;
    let handle = signals.handle();
    let tx = tx.clone();
    std::thread::spawn(move || {
        for s in signals.forever() {
            if tx.send(wrap(s)).is_err() {
                break;
            }
        }
    });
    Ok(handle)
}

/// What the slots loop needs from the build: the next job, and what to do
/// with a result. Kept abstract so the loop can be driven by any owner of
/// the scheduler.
pub trait Driver {
    fn next_job(&mut self) -> Option<u32>;
    fn record(&self, job: u32) -> Vec<u8>;
    /// `slot` names where it was built (a local slot number, a client).
    fn finish(&mut self, job: u32, ok: bool, ms: u64, slot: &str) -> Result<()>;
    /// A build the host failed: not logged, the job waits again; returns
    /// the package's name.
    fn host_failed(&mut self, job: u32) -> String;
}

/// Run up to `slots` builds at once until no job is left, each in a
/// private slot of `sandbox` when there is one. On SIGINT, SIGTERM or
/// SIGHUP the running scripts' process groups get the same signal, their
/// results are not logged, and the program ends with status 128 + signal.
/// After a build the host failed no new build starts, the running ones
/// finish and are logged, and the program ends with [`HOST_FAILURE`].
pub fn run(
    script: &Script,
    slots: usize,
    sandbox: Option<&Sandbox>,
    driver: &mut dyn Driver,
) -> Result<()> {
    let slots = slots.max(1);
    let prepared = match sandbox {
        Some(s) => Some(s.prepare(slots)?),
        None => None,
    };
    let result = run_slots(script, slots, prepared.as_deref(), driver);
    if let Some(s) = sandbox {
        s.remove();
    }
    result
}

fn run_slots(
    script: &Script,
    slots: usize,
    prepared: Option<&[Arc<Slot>]>,
    driver: &mut dyn Driver,
) -> Result<()> {
    let (tx, rx) = mpsc::channel();
    let handle = forward_stop_signals(&tx, Event::Signal)
        .map_err(|e| Error::err("Cannot install signal handlers", &e))?;
    // Dropped at the end of the run, which sends the keeper away.
    let keeper = Keeper::start();
    let group = keeper.as_ref().map(Keeper::group);
    let mut running: HashMap<u32, (Pid, usize)> = HashMap::new();
    // Free slot numbers, the lowest taken first.
    let mut free: BTreeSet<usize> = (0..slots).collect();
    let mut host_failed: Option<String> = None;
    let result = 'run: loop {
        while host_failed.is_none() {
            let Some(&slot) = free.first() else { break };
            let Some(job) = driver.next_job() else { break };
            let private = prepared.map(|p| &p[slot]);
            match script.start(job, driver.record(job), group, private, tx.clone()) {
                Ok(pid) => running.insert(job, (pid, slot)),
                Err(e) => break 'run Err(e),
            };
            free.remove(&slot);
        }
        if running.is_empty() {
            break match host_failed.take() {
                None => Ok(()),
                Some(name) => Err(Error::errx(format!(
                    "stopped: the build host failed the build of {name} (see above); \
                     not logged as a failure, build it with bulkbuild-restart once the host is fixed"
                ))
                .with_code(HOST_FAILURE)),
            };
        }
        match rx.recv().expect("the runner holds a sender") {
            Event::Finished { job, end, ms } => {
                let Some((_, slot)) = running.remove(&job) else {
                    continue;
                };
                free.insert(slot);
                if end == End::Host {
                    let name = driver.host_failed(job);
                    host_failed.get_or_insert(name);
                } else if let Err(e) =
                    driver.finish(job, end == End::Built, ms, &(slot + 1).to_string())
                {
                    break Err(e);
                }
            }
            Event::Signal(sig) => {
                stop_all(&mut running, sig, &rx);
                let name = Signal::try_from(sig)
                    .map(|s| s.as_str())
                    .unwrap_or("signal");
                break Err(
                    Error::errx(format!("Interrupted by {name}; running builds stopped"))
                        .with_code(128 + sig),
                );
            }
        }
    };
    handle.close();
    if result.is_err() && !running.is_empty() {
        stop_all(&mut running, SIGTERM, &rx);
    }
    result
}

/// Signal every running script's process group and wait for them to end
/// (SIGKILL after a grace period); their results are dropped.
fn stop_all(running: &mut HashMap<u32, (Pid, usize)>, sig: i32, rx: &mpsc::Receiver<Event>) {
    let sig = Signal::try_from(sig).unwrap_or(Signal::SIGTERM);
    let mut live: Vec<Pid> = running
        .values()
        .map(|&(p, _)| p)
        .filter(|p| p.as_raw() > 0)
        .collect();
    live.sort_by_key(|p| p.as_raw());
    live.dedup();
    let mut left = running.len();
    running.clear();
    for &pid in &live {
        let _ = killpg(pid, sig);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    while left > 0 {
        let wait = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(wait) {
            Ok(Event::Finished { .. }) => left -= 1,
            Ok(Event::Signal(_)) => {}
            Err(_) => {
                for &pid in &live {
                    let _ = killpg(pid, Signal::SIGKILL);
                }
                break;
            }
        }
    }
}
