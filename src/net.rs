//! Sockets and start scripts shared by the masters and clients of
//! pbulk-scan and pbulk-build (c-programs.md §2.8, §4.10, §6.3): the same
//! address rules, the same messages, one implementation.

use std::ffi::OsStr;
use std::io::{self, ErrorKind};
use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command};

use crate::cli::{Error, Result};
use crate::netaddr;

/// Listen on every address `addr` resolves to (a bare port: every address
/// of the host); addresses that cannot be bound are skipped. A bad address
/// is warned about as `prog: warning`.
pub fn listen(prog: &str, addr: &OsStr) -> Result<Vec<TcpListener>> {
    let text = addr.to_string_lossy();
    let targets = netaddr::parse(&text)
        .and_then(|a| a.resolve_listen())
        .unwrap_or_else(|warning| {
            eprintln!("{prog}: {warning}");
            Vec::new()
        });
    let listeners: Vec<TcpListener> = targets.into_iter().filter_map(|t| bind(t).ok()).collect();
    if listeners.is_empty() {
        return Err(Error::errx(format!(
            "Could not create listen socket for {text}"
        )));
    }
    Ok(listeners)
}

/// One listening socket, close-on-exec, with SO_REUSEADDR so that a master
/// started again at once (limited scans run several) can rebind the port.
/// IPv6 sockets take IPv6 only, as the original's, so that the IPv4 and
/// IPv6 wildcards of a bare port can both be bound.
fn bind(addr: std::net::SocketAddr) -> nix::Result<TcpListener> {
    use nix::sys::socket::{self as so, sockopt};
    let family = if addr.is_ipv6() {
        so::AddressFamily::Inet6
    } else {
        so::AddressFamily::Inet
    };
    let fd = so::socket(
        family,
        so::SockType::Stream,
        so::SockFlag::SOCK_CLOEXEC,
        None,
    )?;
    so::setsockopt(&fd, sockopt::ReuseAddr, &true)?;
    if addr.is_ipv6() {
        so::setsockopt(&fd, sockopt::Ipv6V6Only, &true)?;
    }
    so::bind(
        std::os::fd::AsRawFd::as_raw_fd(&fd),
        &so::SockaddrStorage::from(addr),
    )?;
    so::listen(&fd, so::Backlog::new(128)?)?;
    Ok(TcpListener::from(fd))
}

/// Connect to the first address of `addr` that accepts, like the original.
pub fn connect(prog: &str, addr: &OsStr) -> Result<TcpStream> {
    let text = addr.to_string_lossy();
    let targets = match netaddr::parse(&text).and_then(|a| a.resolve()) {
        Ok(t) => t,
        Err(warning) => {
            eprintln!("{prog}: {warning}");
            return Err(Error::errx(format!(
                "Could not create connection to {text}"
            )));
        }
    };
    let mut last = io::Error::from(ErrorKind::AddrNotAvailable);
    for t in targets {
        match TcpStream::connect(t) {
            Ok(s) => return Ok(s),
            Err(e) => last = e,
        }
    }
    Err(Error::err(
        format_args!("Could not create connection to {text}"),
        &last,
    ))
}

/// Start a master's `-I` script (looked up in PATH, no arguments). The
/// original's child exits 255 when exec fails, which the master reports as
/// a failed script; that stays so.
pub fn start_script(script: &OsStr) -> Result<Child> {
    match Command::new(script).spawn() {
        Ok(c) => Ok(c),
        Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::PermissionDenied) => {
            Err(Error::errx("Start script failed"))
        }
        Err(e) => Err(Error::err("Could not fork start script", &e)),
    }
}

/// Poll a running start script: `Ok(true)` once it exited with status 0.
pub fn script_finished(child: &mut Child) -> Result<bool> {
    match child
        .try_wait()
        .map_err(|e| Error::err("Could not wait for child", &e))?
    {
        None => Ok(false),
        Some(status) if status.success() => Ok(true),
        Some(_) => Err(Error::errx("Start script failed")),
    }
}

/// How long clients get to close their end after a master ends their
/// session, so that the TIME_WAIT state stays with them.
pub const GRACE: std::time::Duration = std::time::Duration::from_secs(1);

/// The largest time limit taken from the environment: ten years. Larger
/// values would overflow the clock arithmetic of the deadlines; 0 already
/// means "no limit".
pub const MAX_ENV_SECONDS: u64 = 10 * 366 * 24 * 3600;

/// A number of seconds from the environment variable `name` (0: no limit),
/// or `default` when it is unset.
pub fn env_seconds(
    name: &str,
    default: Option<std::time::Duration>,
) -> Result<Option<std::time::Duration>> {
    let Some(v) = std::env::var_os(name) else {
        return Ok(default);
    };
    match v.to_str().and_then(|s| s.trim().parse::<u64>().ok()) {
        Some(0) => Ok(None),
        Some(n) if n <= MAX_ENV_SECONDS => Ok(Some(std::time::Duration::from_secs(n))),
        Some(_) => Err(Error::errx(format!(
            "{name} must be at most {MAX_ENV_SECONDS} seconds (0 for no limit), not `{}`",
            v.to_string_lossy()
        ))),
        None => Err(Error::errx(format!(
            "{name} must be a number of seconds, not `{}`",
            v.to_string_lossy()
        ))),
    }
}

/// Accept connections on `l` in a thread of its own, for ever, and serve
/// each in a thread of its own.
pub fn accept_each<F>(l: TcpListener, prog: &'static str, serve: F)
where
    F: Fn(TcpStream, std::net::SocketAddr) + Send + Sync + 'static,
{
    let serve = std::sync::Arc::new(serve);
    std::thread::spawn(move || loop {
        match l.accept() {
            Ok((s, peer)) => {
                let serve = std::sync::Arc::clone(&serve);
                std::thread::spawn(move || serve(s, peer));
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(e) => {
                eprintln!(
                    "{prog}: Could not accept connection: {}",
                    crate::cli::strerror(&e)
                );
                std::thread::sleep(std::time::Duration::from_millis(100));
            }
        }
    });
}

/// Send the frame that ends a client's session, then wait (within
/// [`GRACE`]) for the client to close first.
pub fn end_session(s: &mut TcpStream, frame: &[u8]) {
    use std::io::{Read, Write};
    if s.write_all(frame).is_err() {
        return;
    }
    let _ = s.set_read_timeout(Some(GRACE));
    let mut buf = [0u8; 64];
    while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
    let _ = s.shutdown(std::net::Shutdown::Both);
}

/// What a master's main thread and its connection threads share: the
/// work (a scan's job queue, a build), and the session's course.
pub struct Session<W> {
    pub work: W,
    /// The start script has exited with status 0 (or there is none).
    pub started: bool,
    /// All is done: clients asking for work are sent away.
    pub shutdown: bool,
    /// Connections still being served.
    pub peers: usize,
    /// An error a connection thread met that ends the master.
    pub fatal: Option<Error>,
}

/// A [`Session`] under its lock, with the condition every change signals.
pub struct Hub<W> {
    state: std::sync::Mutex<Session<W>>,
    pub cond: std::sync::Condvar,
}

impl<W: Send + 'static> Hub<W> {
    pub fn new(work: W, started: bool) -> std::sync::Arc<Hub<W>> {
        std::sync::Arc::new(Hub {
            state: std::sync::Mutex::new(Session {
                work,
                started,
                shutdown: false,
                peers: 0,
                fatal: None,
            }),
            cond: std::sync::Condvar::new(),
        })
    }

    pub fn lock(&self) -> std::sync::MutexGuard<'_, Session<W>> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Wait for a change, or at most `d`.
    pub fn wait<'a>(
        &self,
        st: std::sync::MutexGuard<'a, Session<W>>,
        d: Option<std::time::Duration>,
    ) -> std::sync::MutexGuard<'a, Session<W>> {
        match d {
            Some(d) => {
                self.cond
                    .wait_timeout(st, d)
                    .unwrap_or_else(|p| p.into_inner())
                    .0
            }
            None => self.cond.wait(st).unwrap_or_else(|p| p.into_inner()),
        }
    }

    /// Serve every connection to `listeners` with `serve` in a thread of
    /// its own, counted in `peers` while it lasts.
    pub fn serve_on<F>(
        self: &std::sync::Arc<Self>,
        listeners: Vec<TcpListener>,
        prog: &'static str,
        serve: F,
    ) where
        F: Fn(&Hub<W>, TcpStream, std::net::SocketAddr) + Send + Sync + Clone + 'static,
    {
        for l in listeners {
            let hub = std::sync::Arc::clone(self);
            let serve = serve.clone();
            accept_each(l, prog, move |s, peer| {
                hub.lock().peers += 1;
                serve(&hub, s, peer);
                hub.lock().peers -= 1;
                hub.cond.notify_all();
            });
        }
    }

    /// The main thread's part: run the start script, call `step` (the
    /// master's own checks; `Ok(true)` once all work is done) at every
    /// change or tenth of a second, then end the session and give the
    /// clients [`GRACE`] to leave. Returns the session, still locked.
    pub fn run(
        &self,
        mut script: Option<Child>,
        mut step: impl FnMut(&mut Session<W>) -> Result<bool>,
    ) -> Result<std::sync::MutexGuard<'_, Session<W>>> {
        let mut st = self.lock();
        let mut shutdown_at: Option<std::time::Instant> = None;
        loop {
            if let Some(e) = st.fatal.take() {
                return Err(e);
            }
            if let Some(child) = &mut script {
                if script_finished(child)? {
                    script = None;
                    st.started = true;
                    self.cond.notify_all();
                }
            }
            let done = step(&mut st)?;
            if st.started && !st.shutdown && done {
                st.shutdown = true;
                shutdown_at = Some(std::time::Instant::now());
                self.cond.notify_all();
            }
            if let Some(t) = shutdown_at {
                if st.peers == 0 || t.elapsed() >= GRACE {
                    return Ok(st);
                }
            }
            st = self.wait(st, Some(std::time::Duration::from_millis(100)));
        }
    }
}
