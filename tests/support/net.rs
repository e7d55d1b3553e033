//! What the master/client tests of pbulk-scan and pbulk-build share: free
//! ports, programs killed when a test fails, connections with timeouts,
//! bounded waits. Everything talks to 127.0.0.1 only. Included by
//! scan_net_util and build_net_util.
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Every wait in these tests gives up after this long.
pub const LIMIT: Duration = Duration::from_secs(30);

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A started program, killed (by its pid) if the test ends early.
pub struct Proc(pub Option<Child>);

impl Proc {
    /// Start `cmd` with its output captured (its stdin is the caller's
    /// to set).
    pub fn spawn(cmd: &mut Command) -> Proc {
        Proc(Some(
            cmd.stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap(),
        ))
    }

    pub fn pid(&self) -> i32 {
        self.0.as_ref().unwrap().id() as i32
    }

    /// Whether the program is still running.
    pub fn running(&mut self) -> bool {
        self.0.as_mut().unwrap().try_wait().unwrap().is_none()
    }

    /// Wait (bounded) for the program to end and collect its output.
    pub fn finish(mut self) -> Output {
        let mut child = self.0.take().unwrap();
        let start = Instant::now();
        while child.try_wait().unwrap().is_none() {
            if start.elapsed() > LIMIT {
                let _ = child.kill();
                let o = child.wait_with_output().unwrap();
                panic!(
                    "program did not finish in time; stdout: {}; stderr: {}",
                    text(&o.stdout),
                    text(&o.stderr)
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        child.wait_with_output().unwrap()
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn with_timeouts(s: TcpStream) -> TcpStream {
    s.set_read_timeout(Some(LIMIT)).unwrap();
    s.set_write_timeout(Some(LIMIT)).unwrap();
    s
}

/// Connect to a master that may still be starting.
pub fn connect(port: u16) -> TcpStream {
    let start = Instant::now();
    loop {
        match TcpStream::connect(("127.0.0.1", port)) {
            Ok(s) => return with_timeouts(s),
            Err(_) if start.elapsed() < LIMIT => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("cannot connect to the master: {e}"),
        }
    }
}

/// Accept one connection within the limit.
pub fn accept(l: &TcpListener) -> TcpStream {
    l.set_nonblocking(true).unwrap();
    let start = Instant::now();
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                return with_timeouts(s);
            }
            Err(_) if start.elapsed() < LIMIT => std::thread::sleep(Duration::from_millis(10)),
            Err(e) => panic!("no client connected: {e}"),
        }
    }
}

/// Wait (bounded) until `cond` holds.
pub fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Wait until something listens on TCP `port` of this machine, without
/// connecting (a master would take a connection for a client).
pub fn wait_listening(port: u16) {
    let hex = format!(":{port:04X} ");
    let listening = || {
        ["/proc/net/tcp", "/proc/net/tcp6"].iter().any(|f| {
            std::fs::read_to_string(f).is_ok_and(|t| {
                t.lines().skip(1).any(|l| {
                    let cols: Vec<&str> = l.split_whitespace().collect();
                    cols.len() > 3 && format!("{} ", cols[1]).ends_with(&hex) && cols[3] == "0A"
                })
            })
        })
    };
    wait_for(&format!("a listener on port {port}"), listening);
}
