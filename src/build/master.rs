//! `pbulk-build -m ADDR`: the build master. It builds nothing itself; it
//! hands the ready jobs, in the scheduler's order, to the clients that ask
//! with `G`, one job per client at a time, and logs the `D`/`F` they send
//! back exactly as a standalone build logs its script's results
//! (c-programs.md §4.10).
//!
//! One thread per connection and one per listening socket share the
//! [`Build`] under a mutex; the main thread runs the start script (`-I`)
//! and ends the session once no job is ready and none is being built.
//!
//! Beyond the reference: a client that drops its connection, sends a
//! status byte other than `D`/`F`, or an unknown command is named in one
//! line on stderr, and the job it held goes back to the ready list
//! (the original freed the peer and then used it). TCP keepalive finds a
//! client whose host died during a build; `PBULK_BUILD_CLIENT_TIMEOUT`
//! (seconds, default 0 = none, since one build can take a day) bounds how
//! long a client may hold one job. `S` is answered once per command
//! instead of repeatedly until the peer closes.

use std::ffi::OsStr;
use std::io::{self, ErrorKind};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use super::runner::Driver;
use super::sched::State;
use super::Build;
use crate::cli::{Error, Result};
use crate::net;
use crate::wire::{self, fill, BuildCommand, BuildStats, Fill, MAX_BUILD_INFO};

/// Environment variable: seconds a client may hold one job.
pub const CLIENT_TIMEOUT_ENV: &str = "PBULK_BUILD_CLIENT_TIMEOUT";

type Shared = net::Hub<Option<Build>>;

/// The build, while the session is on (every caller checks `shutdown`
/// first; the main thread takes it back at the end).
fn build_of(st: &mut net::Session<Option<Build>>) -> &mut Build {
    st.work.as_mut().expect("the session is on")
}

/// Serve the build to clients until it is over; the build is handed back
/// for the report.
pub fn run(build: Build, addr: &OsStr, start: Option<&OsStr>) -> Result<Build> {
    let timeout = net::env_seconds(CLIENT_TIMEOUT_ENV, None)?;
    let listeners = net::listen("pbulk-build", addr)?;
    let script = start.map(net::start_script).transpose()?;
    let hub = Shared::new(Some(build), script.is_none());
    hub.serve_on(listeners, "pbulk-build", move |hub, s, peer| {
        serve(hub, s, peer, timeout)
    });
    let mut st = hub.run(script, |st| Ok(build_of(st).sched.idle()))?;
    // Connection threads left now only wait for their clients to close;
    // they find the session over and the build gone.
    Ok(st.work.take().expect("taken once"))
}

/// Probe an idle connection after a minute, then every 10 s, 6 times: a
/// client whose host went away is noticed within about two minutes even
/// while its build would still be running.
fn keepalive(s: &TcpStream) {
    use std::os::fd::AsRawFd;
    let fd = s.as_raw_fd();
    let set = |level: libc::c_int, name: libc::c_int, v: libc::c_int| {
        // SAFETY: setsockopt on an open socket with a c_int of the right size.
        unsafe {
            libc::setsockopt(
                fd,
                level,
                name,
                (&v as *const libc::c_int).cast(),
                std::mem::size_of::<libc::c_int>() as libc::socklen_t,
            );
        }
    };
    set(libc::SOL_SOCKET, libc::SO_KEEPALIVE, 1);
    #[cfg(any(target_os = "linux", target_os = "freebsd", target_os = "netbsd"))]
    {
        set(libc::IPPROTO_TCP, libc::TCP_KEEPIDLE, 60);
        set(libc::IPPROTO_TCP, libc::TCP_KEEPINTVL, 10);
        set(libc::IPPROTO_TCP, libc::TCP_KEEPCNT, 6);
    }
}

/// Why a client holding a job was dropped.
enum Dropped {
    Lost,
    Silent(u64),
    BadStatus(u8),
}

/// One client: commands in, jobs and statistics out.
fn serve(shared: &Shared, mut s: TcpStream, peer: SocketAddr, timeout: Option<Duration>) {
    keepalive(&s);
    loop {
        let mut cmd = [0u8; 1];
        if !matches!(fill(&mut s, &mut cmd), Ok(Fill::Full)) {
            return;
        }
        match BuildCommand::from_byte(cmd[0]) {
            Some(BuildCommand::Stats) => {
                let stats = match &shared.lock().work {
                    Some(b) => stats(b),
                    None => return,
                };
                if wire::send(&mut s, &stats.to_wire()).is_err() {
                    return;
                }
            }
            Some(BuildCommand::Get) => {
                let Some((job, frame)) = next_job(shared, &s) else {
                    net::end_session(&mut s, &0u32.to_be_bytes());
                    return;
                };
                let started = Instant::now();
                let result = exchange(&mut s, &frame, timeout);
                let mut st = shared.lock();
                if st.shutdown {
                    return;
                }
                match result {
                    Ok(ok) => {
                        let ms = started.elapsed().as_millis() as u64;
                        if let Err(e) = build_of(&mut st).finish(job, ok, ms, &peer.to_string()) {
                            st.fatal = Some(e);
                        }
                        shared.cond.notify_all();
                    }
                    Err(why) => {
                        let b = build_of(&mut st);
                        b.lost(job);
                        let name = b.jobs.name_str(job).into_owned();
                        match why {
                            Dropped::Lost => eprintln!(
                                "pbulk-build: Lost client {peer} while it built {name}; the job is handed out again"
                            ),
                            Dropped::Silent(secs) => eprintln!(
                                "pbulk-build: Client {peer} held {name} for {secs} seconds; dropped, the job is handed out again"
                            ),
                            Dropped::BadStatus(b) => eprintln!(
                                "pbulk-build: Invalid status byte 0x{b:02x} from client {peer} for {name}; dropped, the job is handed out again"
                            ),
                        }
                        shared.cond.notify_all();
                        return;
                    }
                }
            }
            _ => {
                eprintln!(
                    "pbulk-build: Invalid command byte 0x{:02x} from client {peer}; dropped",
                    cmd[0]
                );
                return;
            }
        }
    }
}

/// The counters `pbulk-build -s` prints.
fn stats(b: &Build) -> BuildStats {
    let n = |s: State| b.sched.count(s) as u32;
    BuildStats {
        open: n(State::Open),
        in_processing: n(State::InProcessing),
        failed: n(State::Failed),
        prefailed: n(State::Prefailed),
        indirect_failed: n(State::IndirectFailed),
        indirect_prefailed: n(State::IndirectPrefailed),
        done: n(State::Done),
    }
}

/// Whether the client closed its end while it waited for a job: such a
/// client is not handed the job (and counted as building it) at all.
fn gone(s: &TcpStream) -> bool {
    if s.set_nonblocking(true).is_err() {
        return true;
    }
    let mut b = [0u8; 1];
    let closed = match s.peek(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() != ErrorKind::WouldBlock,
    };
    closed || s.set_nonblocking(false).is_err()
}

/// Wait for a ready job and frame it, or `None` when the session is over
/// or the client left while waiting. A client asking before the start
/// script is done waits, as in the reference.
fn next_job(shared: &Shared, s: &TcpStream) -> Option<(u32, Vec<u8>)> {
    let mut st = shared.lock();
    loop {
        if st.shutdown || st.fatal.is_some() {
            return None;
        }
        if st.started && build_of(&mut st).sched.has_job() {
            if gone(s) {
                return None;
            }
            let b = build_of(&mut st);
            if let Some(job) = b.next_job() {
                let record = b.record(job);
                if record.len() > MAX_BUILD_INFO {
                    st.fatal = Some(Error::errx("Build info too long"));
                    shared.cond.notify_all();
                    return None;
                }
                let frame = wire::encode_u32_frame(&record).expect("length checked");
                return Some((job, frame));
            }
        }
        st = shared.wait(st, None);
    }
}

/// Send the job and wait for its status byte: `D` is success, `F` failure.
fn exchange(
    s: &mut TcpStream,
    frame: &[u8],
    timeout: Option<Duration>,
) -> std::result::Result<bool, Dropped> {
    let io_drop = |e: io::Error| match e.kind() {
        ErrorKind::WouldBlock | ErrorKind::TimedOut => {
            Dropped::Silent(timeout.map_or(0, |t| t.as_secs()))
        }
        _ => Dropped::Lost,
    };
    wire::send(s, frame).map_err(io_drop)?;
    let _ = s.set_read_timeout(timeout);
    let mut status = [0u8; 1];
    let got = fill(s, &mut status).map_err(io_drop);
    let _ = s.set_read_timeout(None);
    if got? != Fill::Full {
        return Err(Dropped::Lost);
    }
    match BuildCommand::from_byte(status[0]) {
        Some(BuildCommand::Done) => Ok(true),
        Some(BuildCommand::Failed) => Ok(false),
        _ => Err(Dropped::BadStatus(status[0])),
    }
}
