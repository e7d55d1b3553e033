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
use std::time::Duration;

use super::child::{Stop, Watch};
use super::jobs::JobQueue;
use super::output::Writer;
use super::tree;
use crate::cli::{Error, Result};
use crate::net;
use crate::wire::{encode_location, read_len, Fill, END_OF_SCAN, FIND_FULL_TREE};

/// Environment variable: seconds a client holding a job may stay silent.
pub const CLIENT_TIMEOUT_ENV: &str = "PBULK_SCAN_CLIENT_TIMEOUT";
/// Twice the default per-make limit of a client: a client silent that
/// long is gone, not busy.
pub const DEFAULT_CLIENT_TIMEOUT_SECS: u64 = 7200;
/// Longest scan output accepted from a client. The largest real
/// `pbulk-index` outputs are a few hundred KiB.
pub const MAX_OUTPUT: usize = 1 << 30;

type Shared = net::Hub<JobQueue>;

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
    let script = start.map(net::start_script).transpose()?;
    let hub = Shared::new(q, script.is_none());
    hub.serve_on(listeners, "pbulk-scan", move |hub, s, peer| {
        serve(hub, s, peer, timeout)
    });
    let mut st = hub.run(script, |st| {
        if let Some(sig) = watch.stopped() {
            return Err(Stop::Signal(sig).into());
        }
        writer.write_ready(&mut st.work)?;
        Ok(st.work.done() == st.work.len())
    })?;
    // The connection threads at most wait for clients to close now.
    let q = &mut st.work;
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
    /// A tree list with a location no client may be sent: the line number
    /// and the line.
    BadLocation(usize, Vec<u8>),
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
        let result = exchange(&mut s, &frame, timeout).and_then(|output| {
            if loc != FIND_FULL_TREE {
                return Ok(output);
            }
            match output.as_deref().and_then(bad_tree_line) {
                Some((n, line)) => Err(Dropped::BadLocation(n, line.to_vec())),
                None => Ok(output),
            }
        });
        let mut st = shared.lock();
        match result {
            Ok(output) => st.work.finish(i, output),
            Err(why) => {
                st.work.requeue(i);
                let loc = String::from_utf8_lossy(&loc);
                match why {
                    Dropped::Invalid => eprintln!("pbulk-scan: Invalid output len received from peer"),
                    Dropped::Lost => eprintln!(
                        "pbulk-scan: Lost client {peer} while it scanned {loc}; the job is handed out again"
                    ),
                    Dropped::Silent(secs) => eprintln!(
                        "pbulk-scan: Client {peer} silent for {secs} seconds while scanning {loc}; dropped, the job is handed out again"
                    ),
                    Dropped::BadLocation(n, line) => eprintln!(
                        "pbulk-scan: Client {peer} listed an invalid location on line {n} of the tree: `{}'; dropped, the job is handed out again",
                        shown(&line)
                    ),
                }
                shared.cond.notify_all();
                return;
            }
        }
        shared.cond.notify_all();
    }
}

/// The first line (1-based) of a client's tree list that is no location a
/// client may be sent, if any. Checked before the list becomes jobs: one
/// such location would make every client that gets it exit, and one over
/// 64 KiB could not even be framed.
fn bad_tree_line(list: &[u8]) -> Option<(usize, &[u8])> {
    list.split(|&b| b == b'\n')
        .enumerate()
        .find(|(_, l)| !l.is_empty() && !tree::safe_location(l))
        .map(|(i, l)| (i + 1, l))
}

/// At most 200 bytes of `bytes`, escaped, for a one-line message.
fn shown(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(200)];
    let more = if cut.len() < bytes.len() { "..." } else { "" };
    format!("{}{more}", cut.escape_ascii())
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
            if let Some(i) = st.work.claim() {
                return Some((i, st.work.job(i).location.clone()));
            }
        }
        st = shared.wait(st, None);
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
