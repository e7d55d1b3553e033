//! Running `make` children: several at once, each in its own process group,
//! with a per-child time limit, and a clean stop (every child killed and
//! reaped) when the scanner itself is told to stop.
//!
//! One thread multiplexes all children with poll(2) over their stdout pipes
//! and a self-pipe that SIGCHLD, SIGINT, SIGTERM and SIGHUP write to, so no
//! child can outlive the scanner and no result depends on thread timing.

use std::collections::VecDeque;
use std::ffi::{CString, OsStr, OsString};
use std::io::{self, Read};
use std::os::fd::AsFd;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::net::UnixStream;
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};
use nix::sys::signal::{killpg, Signal};
use nix::unistd::Pid;

/// Why a child gave no usable output.
#[derive(Debug)]
pub enum Failure {
    /// fork or exec failed (chdir failures are the child's own exit 1).
    Spawn(io::Error),
    /// Non-zero exit or death by a signal.
    Status(ExitStatus),
    /// The output held a NUL byte.
    Nul,
    /// Killed after the time limit (seconds).
    TimedOut(u64),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Spawn(e) => f.write_str(&crate::cli::strerror(e)),
            Failure::Status(s) => match (s.code(), s.signal()) {
                (Some(c), _) => write!(f, "exit status {c}"),
                (_, Some(n)) => write!(f, "killed by signal {n}"),
                _ => write!(f, "{s}"),
            },
            Failure::Nul => f.write_str("NUL character in output"),
            Failure::TimedOut(s) => write!(f, "timed out after {s} seconds"),
        }
    }
}

/// The whole stdout of a successful child, or why there is none.
pub type Outcome = Result<Vec<u8>, Failure>;

/// Why the pool stopped before its children finished.
#[derive(Debug)]
pub enum Stop {
    /// SIGINT, SIGTERM or SIGHUP arrived (the signal number).
    Signal(i32),
    /// Reading a child's output failed.
    Read(io::Error),
}

/// The signals the scanner reacts to, seen through a self-pipe.
pub struct Watch {
    rx: UnixStream,
    stop: Arc<AtomicUsize>,
}

const STOP_SIGNALS: [i32; 3] = [libc::SIGINT, libc::SIGTERM, libc::SIGHUP];

impl Watch {
    /// Catch the stop signals (instead of dying with children left behind)
    /// and SIGCHLD (to notice a child that exits after closing its stdout).
    pub fn install() -> io::Result<Watch> {
        let (rx, tx) = UnixStream::pair()?;
        rx.set_nonblocking(true)?;
        tx.set_nonblocking(true)?;
        let stop = Arc::new(AtomicUsize::new(0));
        for sig in STOP_SIGNALS {
            signal_hook::flag::register_usize(sig, Arc::clone(&stop), sig as usize)?;
            signal_hook::low_level::pipe::register(sig, tx.try_clone()?)?;
        }
        signal_hook::low_level::pipe::register(libc::SIGCHLD, tx)?;
        Ok(Watch { rx, stop })
    }

    /// The stop signal received, if any.
    pub fn stopped(&self) -> Option<i32> {
        match self.stop.load(Ordering::SeqCst) {
            0 => None,
            n => Some(n as i32),
        }
    }

    fn drain(&self) {
        let mut buf = [0u8; 64];
        while matches!((&self.rx).read(&mut buf), Ok(n) if n > 0) {}
    }
}

struct Slot {
    tag: usize,
    child: Child,
    out: Option<ChildStdout>,
    buf: Vec<u8>,
    deadline: Option<Instant>,
}

/// Up to `slots` children at a time; results come back tagged with the
/// caller's job index, in completion order.
pub struct Pool<'w> {
    slots: usize,
    timeout: Option<Duration>,
    watch: &'w Watch,
    running: Vec<Slot>,
    ready: VecDeque<(usize, Outcome)>,
}

impl<'w> Pool<'w> {
    pub fn new(slots: usize, timeout: Option<Duration>, watch: &'w Watch) -> Self {
        Pool {
            slots: slots.max(1),
            timeout,
            watch,
            running: Vec::new(),
            ready: VecDeque::new(),
        }
    }

    /// Whether another child may be started now.
    pub fn has_room(&self) -> bool {
        self.running.len() + self.ready.len() < self.slots
    }

    /// Start `make args...` in `dir` the way the original does: argv[0] is
    /// the make string as given (PATH search), the directory change happens
    /// in the child (a failure there is its exit 1 with the original's
    /// message), stdin, stderr and the environment are inherited, and
    /// SIGPIPE stays ignored as it is in the scanner.
    pub fn start(&mut self, tag: usize, dir: &Path, make: &OsStr, args: &[&str]) {
        let mut cmd = Command::new(make);
        cmd.args(args).stdout(Stdio::piped()).process_group(0);
        let cdir = CString::new(dir.as_os_str().as_bytes()).unwrap_or_default();
        let mut msg = b"Cannot change directory to \"".to_vec();
        msg.extend_from_slice(dir.as_os_str().as_bytes());
        msg.extend_from_slice(b"\".\n");
        // SAFETY: the closure only calls async-signal-safe functions on
        // memory prepared before the fork.
        unsafe {
            cmd.pre_exec(move || {
                if libc::chdir(cdir.as_ptr()) != 0 {
                    libc::write(2, msg.as_ptr().cast(), msg.len());
                    libc::_exit(1);
                }
                libc::signal(libc::SIGPIPE, libc::SIG_IGN);
                Ok(())
            });
        }
        match cmd.spawn() {
            Ok(mut child) => {
                let out = child.stdout.take();
                let deadline = self.timeout.map(|t| Instant::now() + t);
                self.running.push(Slot {
                    tag,
                    child,
                    out,
                    buf: Vec::with_capacity(4096),
                    deadline,
                });
            }
            Err(e) => self.ready.push_back((tag, Err(Failure::Spawn(e)))),
        }
    }

    /// Wait for the next finished child. `Ok(None)` when nothing runs.
    pub fn next_done(&mut self) -> Result<Option<(usize, Outcome)>, Stop> {
        loop {
            if let Some(sig) = self.watch.stopped() {
                return Err(Stop::Signal(sig));
            }
            if let Some(done) = self.ready.pop_front() {
                return Ok(Some(done));
            }
            if self.running.is_empty() {
                return Ok(None);
            }
            self.reap_exited();
            if !self.ready.is_empty() {
                continue;
            }
            self.expire(Instant::now());
            if !self.ready.is_empty() {
                continue;
            }
            self.wait_io()?;
        }
    }

    /// Poll the open pipes and the signal pipe until something happens or
    /// the nearest deadline passes.
    fn wait_io(&mut self) -> Result<(), Stop> {
        let wait = self
            .running
            .iter()
            .filter_map(|s| s.deadline)
            .min()
            .map(|d| d.saturating_duration_since(Instant::now()));
        let timeout = match wait {
            Some(d) => PollTimeout::try_from(d.as_millis().min(60_000) as i32 + 1)
                .unwrap_or(PollTimeout::MAX),
            None => PollTimeout::NONE,
        };
        let open: Vec<usize> = (0..self.running.len())
            .filter(|&i| self.running[i].out.is_some())
            .collect();
        let mut fds = vec![PollFd::new(self.watch.rx.as_fd(), PollFlags::POLLIN)];
        for &i in &open {
            let fd = self.running[i]
                .out
                .as_ref()
                .map(|o| o.as_fd())
                .expect("open pipe");
            fds.push(PollFd::new(fd, PollFlags::POLLIN));
        }
        match poll(&mut fds, timeout) {
            Ok(_) => {}
            Err(nix::errno::Errno::EINTR) => return Ok(()),
            Err(e) => return Err(Stop::Read(e.into())),
        }
        let readable: Vec<bool> = fds[1..].iter().map(|f| f.any().unwrap_or(true)).collect();
        let woke = fds[0].any().unwrap_or(false);
        drop(fds);
        if woke {
            self.watch.drain();
        }
        for (k, &i) in open.iter().enumerate() {
            if readable[k] {
                self.read_some(i)?;
            }
        }
        Ok(())
    }

    fn read_some(&mut self, i: usize) -> Result<(), Stop> {
        let slot = &mut self.running[i];
        let Some(out) = slot.out.as_mut() else {
            return Ok(());
        };
        let mut chunk = [0u8; 16384];
        match out.read(&mut chunk) {
            Ok(0) => slot.out = None,
            Ok(n) => slot.buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(Stop::Read(e)),
        }
        Ok(())
    }

    /// Collect the children that closed their output and exited.
    fn reap_exited(&mut self) {
        let mut i = 0;
        while i < self.running.len() {
            let slot = &mut self.running[i];
            if slot.out.is_none() {
                if let Ok(Some(status)) = slot.child.try_wait() {
                    let slot = self.running.swap_remove(i);
                    let outcome = if !status.success() {
                        Err(Failure::Status(status))
                    } else if memchr::memchr(0, &slot.buf).is_some() {
                        Err(Failure::Nul)
                    } else {
                        Ok(slot.buf)
                    };
                    self.ready.push_back((slot.tag, outcome));
                    continue;
                }
            }
            i += 1;
        }
    }

    /// Kill the process group of every child past its deadline.
    fn expire(&mut self, now: Instant) {
        let secs = self.timeout.map_or(0, |t| t.as_secs());
        let mut i = 0;
        while i < self.running.len() {
            if self.running[i].deadline.is_some_and(|d| d <= now) {
                let mut slot = self.running.swap_remove(i);
                kill_and_reap(&mut slot.child);
                self.ready
                    .push_back((slot.tag, Err(Failure::TimedOut(secs))));
                continue;
            }
            i += 1;
        }
    }

    /// Kill and reap every running child (and its process group).
    pub fn kill_all(&mut self) {
        for slot in &mut self.running {
            // The leader is not reaped yet, so its group id cannot have been
            // reused by an unrelated process.
            let _ = killpg(Pid::from_raw(slot.child.id() as i32), Signal::SIGKILL);
        }
        for mut slot in self.running.drain(..) {
            let _ = slot.child.wait();
        }
    }
}

fn kill_and_reap(child: &mut Child) {
    let _ = killpg(Pid::from_raw(child.id() as i32), Signal::SIGKILL);
    let _ = child.wait();
}

impl Drop for Pool<'_> {
    fn drop(&mut self) {
        self.kill_all();
    }
}

/// Run one command alone and return its outcome (tree listings).
pub fn run_one(
    watch: &Watch,
    timeout: Option<Duration>,
    dir: &Path,
    make: &OsStr,
    args: &[&str],
) -> Result<Outcome, Stop> {
    let mut pool = Pool::new(1, timeout, watch);
    pool.start(0, dir, make, args);
    Ok(pool
        .next_done()?
        .map(|(_, o)| o)
        .expect("one child started"))
}

/// A printable command line for messages.
pub fn describe(make: &OsStr, args: &[&str]) -> String {
    let mut s: OsString = make.to_os_string();
    for a in args {
        s.push(" ");
        s.push(a);
    }
    s.to_string_lossy().into_owned()
}
