//! Helpers for the pbulk-build master/client/statistics tests: a scratch
//! directory with a resolved tree scan, free ports, processes killed when a
//! test fails, raw protocol frames (c-programs.md §4.10, §4.11, §9.4) and
//! bounded waits. Everything talks to 127.0.0.1 only.
#![allow(dead_code)]

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use super::net as net_util;
pub use net_util::*;

/// The program under test.
pub fn pbulk_build() -> PathBuf {
    super::common::bin("pbulk-build")
}

/// A resolved record as pbulk-resolve writes it: `DEPENDS=` last.
pub fn rec(name: &str, deps: &str) -> String {
    format!(
        "PKGNAME={name}\nPKG_LOCATION=cat/{name}\nPKG_SKIP_REASON=\nPKG_FAIL_REASON=\n\
         MULTI_VERSION=\nDEPENDS={deps}\n"
    )
}

/// A record the scan marked as not to be built.
pub fn skipped(name: &str, deps: &str) -> String {
    format!(
        "PKGNAME={name}\nPKG_LOCATION=cat/{name}\nPKG_SKIP_REASON=not here\nPKG_FAIL_REASON=\n\
         MULTI_VERSION=\nDEPENDS={deps}\n"
    )
}

/// A scratch directory holding `presolve` (the master's input) and
/// whatever scripts a test writes.
pub struct Tree {
    pub dir: tempfile::TempDir,
}

impl Tree {
    pub fn new(presolve: &str) -> Tree {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("presolve"), presolve).unwrap();
        Tree { dir }
    }

    pub fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    /// Write an executable script.
    pub fn script(&self, name: &str, body: &str) -> PathBuf {
        use std::os::unix::fs::PermissionsExt;
        let p = self.path(name);
        std::fs::write(&p, body).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// A file's text, empty when it does not exist.
    pub fn read(&self, f: &str) -> String {
        std::fs::read_to_string(self.path(f)).unwrap_or_default()
    }

    /// `pbulk-build` run in the directory.
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(pbulk_build());
        c.args(args).current_dir(self.dir.path());
        c
    }

    /// `pbulk-build ARGS -m 127.0.0.1:PORT presolve success error`.
    pub fn master(&self, port: u16, args: &[&str], env: &[(&str, &str)]) -> Proc {
        let mut c = self.cmd(args);
        c.envs(env.iter().copied())
            .arg("-m")
            .arg(format!("127.0.0.1:{port}"))
            .args(["presolve", "success", "error"]);
        Proc::spawn(&mut c)
    }

    /// `pbulk-build ARGS presolve success error` to its end: exit status
    /// and stderr.
    pub fn load_and_run(&self, args: &[&str]) -> (Option<i32>, String) {
        let mut c = self.cmd(args);
        c.args(["presolve", "success", "error"]);
        let o = Proc::spawn(&mut c).finish();
        (o.status.code(), text(&o.stderr))
    }
}

/// Send one command or status byte.
pub fn send_byte(s: &mut TcpStream, b: u8) {
    s.write_all(&[b]).unwrap();
}

/// Read one byte a client sends.
pub fn read_byte(s: &mut TcpStream) -> u8 {
    let mut b = [0u8; 1];
    s.read_exact(&mut b).unwrap();
    b[0]
}

/// A master's answer to `G`: `Some(record)`, or `None` for the zero length.
pub fn read_frame(s: &mut TcpStream) -> Option<Vec<u8>> {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).unwrap();
    let n = u32::from_be_bytes(len) as usize;
    if n == 0 {
        return None;
    }
    let mut rec = vec![0u8; n];
    s.read_exact(&mut rec).unwrap();
    Some(rec)
}

/// `G`, then the master's answer.
pub fn get(s: &mut TcpStream) -> Option<Vec<u8>> {
    send_byte(s, b'G');
    read_frame(s)
}

/// A frame as a master sends it: u32 BE length and the payload.
pub fn frame(payload: &[u8]) -> Vec<u8> {
    let mut f = (payload.len() as u32).to_be_bytes().to_vec();
    f.extend_from_slice(payload);
    f
}

/// `S`, then the 28-byte block as seven counters: open, in_processing,
/// failed, prefailed, indirect_failed, indirect_prefailed, done.
pub fn stats(s: &mut TcpStream) -> [u32; 7] {
    send_byte(s, b'S');
    let mut block = [0u8; 28];
    s.read_exact(&mut block).unwrap();
    let mut out = [0u32; 7];
    for (i, v) in out.iter_mut().enumerate() {
        *v = u32::from_be_bytes(block[i * 4..i * 4 + 4].try_into().unwrap());
    }
    out
}

/// Nothing arrives on `s` for `d` (the peer neither sends nor closes).
pub fn silent_for(s: &mut TcpStream, d: Duration) -> bool {
    s.set_read_timeout(Some(d)).unwrap();
    let mut b = [0u8; 1];
    let r = s.read(&mut b);
    s.set_read_timeout(Some(LIMIT)).unwrap();
    matches!(r, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut))
}

/// The peer closed the connection (end of stream or reset), sending
/// nothing more.
pub fn closed_by_peer(s: &mut TcpStream) -> bool {
    let mut b = [0u8; 16];
    match s.read(&mut b) {
        Ok(0) => true,
        Ok(_) => false,
        Err(e) => e.kind() == ErrorKind::ConnectionReset,
    }
}

/// The process group of a running process, from `/proc/PID/stat`.
pub fn pgid_of(pid: i32) -> Option<i32> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    // pid (comm) state ppid pgrp ...; comm may contain anything but ')'
    // is last before the fixed fields.
    let rest = stat.rsplit_once(')')?.1;
    rest.split_whitespace().nth(2)?.parse().ok()
}
