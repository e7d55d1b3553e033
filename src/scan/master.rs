//! `pbulk-scan -m ADDR`: the scan master. It runs no make itself; it hands
//! the jobs of its [`JobQueue`] to the clients that connect, one at a time
//! per client in list order, and writes their replies with the same writer
//! as a local scan, so both produce the same bytes for the same tree.
//!
//! One thread per connection and one per listening socket share the queue
//! under a mutex; the main thread runs the start script (`-I`), writes
//! finished jobs as they line up, and ends the session when every job is
//! done. Beyond the reference (c-programs.md §2.8), a client that answers
//! nothing for `PBULK_SCAN_CLIENT_TIMEOUT` seconds is dropped and its job
//! given to another, every dropped client is named in one line on stderr,
//! and only output lengths over 1 GiB are refused (the original refused
//! exactly 0xffffff, meaning 0xffffffff).

use std::ffi::OsStr;
use std::io::{self, ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::sync::{Arc, Condvar, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use super::child::{Stop, Watch};
use super::jobs::JobQueue;
use super::output::Writer;
use crate::cli::{Error, Result};
use crate::net;
use crate::wire::{encode_location, read_len, Fill, END_OF_SCAN};

/// Environment variable: seconds a client holding a job may stay silent.
pub const CLIENT_TIMEOUT_ENV: &str = "PBULK_SCAN_CLIENT_TIMEOUT";
/// Twice the default per-make limit of a client: a client silent that
/// long is gone, not busy.
pub const DEFAULT_CLIENT_TIMEOUT_SECS: u64 = 7200;
/// Longest scan output accepted from a client. The largest real
/// `pbulk-index` outputs are a few hundred KiB.
pub const MAX_OUTPUT: usize = 1 << 30;

struct State {
    q: JobQueue,
    /// The start script has exited with status 0 (or there is none).
    started: bool,
    /// Every job is done: idle clients are sent away.
    shutdown: bool,
    /// Connections still being served.
    peers: usize,
    /// A location too long for the wire ends the master, as in the original.
    fatal: Option<Error>,
}

struct Shared {
    state: Mutex<State>,
    cond: Condvar,
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// Serve the queue to clients until every job is done, writing finished
/// jobs to `writer` on the way; then finish the output as a local scan
/// does. `Ok(false)`: a stop signal came at the last moment, the output
/// was left alone.
pub fn run(
    q: JobQueue,
    addr: &OsStr,
    start: Option<&OsStr>,
    output: &Path,
    watch: &Watch,
) -> Result<bool> {
    let timeout = net::env_seconds(
        CLIENT_TIMEOUT_ENV,
        Some(Duration::from_secs(DEFAULT_CLIENT_TIMEOUT_SECS)),
    )?;
    let listeners = net::listen("pbulk-scan", addr)?;
    let mut writer = Writer::create(output)?;
    let mut script = start.map(net::start_script).transpose()?;
    let shared = Arc::new(Shared {
        state: Mutex::new(State {
            q,
            started: script.is_none(),
            shutdown: false,
            peers: 0,
            fatal: None,
        }),
        cond: Condvar::new(),
    });
    for l in listeners {
        let shared = Arc::clone(&shared);
        net::accept_each(l, "pbulk-scan", move |s, peer| {
            shared.lock().peers += 1;
            serve(&shared, s, peer, timeout);
            shared.lock().peers -= 1;
            shared.cond.notify_all();
        });
    }
    let mut st = shared.lock();
    let mut shutdown_at = None;
    loop {
        if let Some(sig) = watch.stopped() {
            return Err(Stop::Signal(sig).into());
        }
        if let Some(e) = st.fatal.take() {
            return Err(e);
        }
        if let Some(child) = &mut script {
            if net::script_finished(child)? {
                script = None;
                st.started = true;
                shared.cond.notify_all();
            }
        }
        writer.write_ready(&mut st.q)?;
        if st.started && !st.shutdown && st.q.done() == st.q.len() {
            st.shutdown = true;
            shutdown_at = Some(Instant::now());
            shared.cond.notify_all();
        }
        if let Some(t) = shutdown_at {
            if st.peers == 0 || t.elapsed() >= net::GRACE {
                break;
            }
        }
        st = shared
            .cond
            .wait_timeout(st, Duration::from_millis(100))
            .unwrap_or_else(|p| p.into_inner())
            .0;
    }
    // The connection threads at most wait for clients to close now.
    let q = &mut st.q;
    q.progress().finished(q.done(), q.len());
    writer.finish(q, || watch.stopped().is_none())
}

/// What went wrong with a client holding a job; it is dropped either way.
enum Dropped {
    /// The connection ended or failed.
    Lost,
    /// Nothing arrived within the client timeout.
    Silent(u64),
    /// A length over [`MAX_OUTPUT`] or a NUL in the output.
    Invalid,
}

/// One client: jobs in, outputs back, until the queue is empty.
fn serve(shared: &Shared, mut s: TcpStream, peer: SocketAddr, timeout: Option<Duration>) {
    let _ = s.set_read_timeout(timeout);
    let _ = s.set_write_timeout(timeout);
    loop {
        let Some((i, loc)) = next_job(shared) else {
            net::end_session(&mut s, &END_OF_SCAN);
            return;
        };
        let Some(frame) = encode_location(&loc) else {
            let mut st = shared.lock();
            st.fatal = Some(Error::errx("Location inside pkgsrc tree too long"));
            shared.cond.notify_all();
            return;
        };
        let result = exchange(&mut s, &frame, timeout);
        let mut st = shared.lock();
        match result {
            Ok(output) => st.q.finish(i, output),
            Err(why) => {
                st.q.requeue(i);
                let loc = String::from_utf8_lossy(&loc);
                match why {
                    Dropped::Invalid => eprintln!("pbulk-scan: Invalid output len received from peer"),
                    Dropped::Lost => eprintln!(
                        "pbulk-scan: Lost client {peer} while it scanned {loc}; the job is handed out again"
                    ),
                    Dropped::Silent(secs) => eprintln!(
                        "pbulk-scan: Client {peer} silent for {secs} seconds while scanning {loc}; dropped, the job is handed out again"
                    ),
                }
                shared.cond.notify_all();
                return;
            }
        }
        shared.cond.notify_all();
    }
}

/// Wait for a job (parked until the start script is done), or `None` when
/// the session is over.
fn next_job(shared: &Shared) -> Option<(usize, Vec<u8>)> {
    let mut st = shared.lock();
    loop {
        if st.shutdown || st.fatal.is_some() {
            return None;
        }
        if st.started {
            if let Some(i) = st.q.claim() {
                return Some((i, st.q.job(i).location.clone()));
            }
        }
        st = shared.cond.wait(st).unwrap_or_else(|p| p.into_inner());
    }
}

/// Send the job, read the reply: the output, or `None` for "scan failed".
fn exchange(
    s: &mut TcpStream,
    frame: &[u8],
    timeout: Option<Duration>,
) -> std::result::Result<Option<Vec<u8>>, Dropped> {
    let io_drop = |e: io::Error| match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => {
            Dropped::Silent(timeout.map_or(0, |t| t.as_secs()))
        }
        _ => Dropped::Lost,
    };
    s.write_all(frame).map_err(io_drop)?;
    let len = match read_len::<_, 4>(s).map_err(io_drop)? {
        (Fill::Full, len) => len,
        _ => return Err(Dropped::Lost),
    };
    if len == 0 {
        return Ok(None);
    }
    if len > MAX_OUTPUT {
        return Err(Dropped::Invalid);
    }
    // Grown as bytes arrive, so a lying length costs no memory up front.
    let mut out = Vec::with_capacity(len.min(1 << 20));
    (&mut *s)
        .take(len as u64)
        .read_to_end(&mut out)
        .map_err(io_drop)?;
    if out.len() < len {
        return Err(Dropped::Lost);
    }
    if memchr::memchr(0, &out).is_some() {
        return Err(Dropped::Invalid);
    }
    Ok(Some(out))
}
