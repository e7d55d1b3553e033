//! `pbulk-build -c ADDR -b script`, a build client, and `pbulk-build -s
//! ADDR`, the statistics query (c-programs.md §4.10, §4.11): messages and
//! exit statuses as the reference's.

use std::ffi::OsStr;
use std::io::{self, ErrorKind, Write};
use std::net::TcpStream;

use super::runner::{End, Script};
use crate::cli::{Error, Result, HOST_FAILURE};
use crate::net;
use crate::wire::{fill, read_len, BuildCommand, BuildStats, Fill};
use crate::wire::{MAX_BUILD_INFO, MIN_BUILD_INFO};

const PROG: &str = "pbulk-build";

/// One command byte. `Ok(false)`: the master closed the connection, which
/// ends the client quietly.
fn command(s: &mut TcpStream, c: BuildCommand) -> Result<bool> {
    match s.write(&[c.byte()]) {
        Ok(0) => Ok(false),
        Ok(_) => Ok(true),
        Err(e) if e.kind() == ErrorKind::WriteZero => Err(Error::errx(
            "Premature end of stream while writing to socket",
        )),
        Err(e) => Err(Error::err("Could not write to socket", &e)),
    }
}

/// An end of stream or a reset before the first byte ends the client.
fn quiet_end(e: &io::Error) -> bool {
    e.kind() == ErrorKind::ConnectionReset
}

/// The client loop; returns the exit status (0 when the master ends it).
pub fn run(addr: &OsStr, script: &Script, verbose: bool) -> Result<i32> {
    let mut s = net::connect(PROG, addr)?;
    loop {
        if !command(&mut s, BuildCommand::Get)? {
            return Ok(0);
        }
        let len = match read_len::<_, 4>(&mut s) {
            Ok((Fill::Eof, _)) => return Ok(0),
            Err(e) if quiet_end(&e) => return Ok(0),
            Err(e) => return Err(Error::err("Could not read from socket", &e)),
            Ok((Fill::Short(_), _)) => {
                return Err(Error::errx(
                    "Premature end while reading build info from socket",
                ))
            }
            Ok((Fill::Full, 0)) => return Ok(0),
            Ok((Fill::Full, n)) => n,
        };
        if !(MIN_BUILD_INFO..=MAX_BUILD_INFO).contains(&len) {
            return Err(Error::errx("Invalid build info length from master"));
        }
        let mut record = vec![0u8; len];
        let got =
            fill(&mut s, &mut record).map_err(|e| Error::err("Could not read from socket", &e))?;
        if got != Fill::Full || memchr::memchr(0, &record).is_some() {
            // "path" is the reference's word, kept for log watchers.
            return Err(Error::errx(
                "Premature end of stream while reading path from socket",
            ));
        }
        let name = record
            .strip_prefix(b"PKGNAME=")
            .and_then(|r| memchr::memchr(b'\n', r).map(|i| &r[..i]));
        if verbose {
            let name = name.ok_or_else(|| Error::errx("Inconsistent build info from server"))?;
            let mut out = io::stdout().lock();
            let _ = out.write_all(b"Building package ");
            let _ = out.write_all(name);
            let _ = out.write_all(b"\n");
            let _ = out.flush();
        }
        let status = match script.run_one(&record)? {
            End::Built => BuildCommand::Done,
            End::Failed => BuildCommand::Failed,
            // No status at all: either master, ours or the reference's,
            // takes the job back from a client gone in the middle of a
            // build and hands it to another, and no byte of ours can say
            // more to the reference's without crashing it (it reads a
            // byte other than D or F after freeing the client).
            End::Host => {
                let name = String::from_utf8_lossy(name.unwrap_or(b"the job"));
                return Err(Error::errx(format!(
                    "the build host failed the build of {name} (see above); \
                     left to the master to hand to another client"
                ))
                .with_code(HOST_FAILURE));
            }
        };
        if !command(&mut s, status)? {
            return Ok(0);
        }
    }
}

/// Ask a running master for its counters and print them.
pub fn stats(addr: &OsStr) -> Result<i32> {
    let mut s = net::connect(PROG, addr)?;
    if !command(&mut s, BuildCommand::Stats)? {
        return Ok(0);
    }
    let mut block = [0u8; BuildStats::WIRE_LEN];
    match fill(&mut s, &mut block) {
        Ok(Fill::Full) => {}
        Ok(Fill::Eof) => return Ok(0),
        Err(e) if quiet_end(&e) => return Ok(0),
        Err(e) => return Err(Error::err("Could not read from socket", &e)),
        Ok(Fill::Short(_)) => {
            return Err(Error::errx(
                "Premature end while reading statistics from socket",
            ))
        }
    }
    let text = BuildStats::from_wire(&block).render();
    let mut out = io::stdout().lock();
    let _ = out.write_all(text.as_bytes());
    let _ = out.flush();
    Ok(0)
}
