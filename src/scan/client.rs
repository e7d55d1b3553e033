//! `pbulk-scan -c ADDR`: a scan client. It connects to the master, scans
//! every location it is sent with its own make and pkgsrc tree and sends the
//! output back, until the master says `00 00` or closes the connection
//! (c-programs.md §2.8, messages and exit statuses as the reference's).

use std::ffi::OsStr;
use std::io::{self, ErrorKind, Write};
use std::net::TcpStream;

use super::child::{run_one, Failure};
use super::jobs::{JobQueue, Progress};
use super::oldscan::OldScan;
use super::{tree, Ctx};
use crate::cli::{Error, Result};
use crate::net;
use crate::wire::{encode_u32_frame, fill, read_len, Fill, FIND_FULL_TREE};

/// Send one u32-framed reply; `too_large` names the payload in the error.
fn reply(s: &mut TcpStream, payload: &[u8], too_large: &str) -> Result<()> {
    let frame = encode_u32_frame(payload).ok_or_else(|| Error::errx(too_large))?;
    s.write_all(&frame).map_err(|e| match e.kind() {
        ErrorKind::WriteZero => Error::errx("Premature end of stream while writing to socket"),
        _ => Error::err("Could not write to socket", &e),
    })
}

/// Whether the master's location is one a client may scan: relative,
/// exactly one `/`, and not climbing out of the tree.
pub fn valid_location(loc: &[u8]) -> bool {
    let slashes = loc.iter().filter(|&&b| b == b'/').count();
    slashes == 1 && loc[0] != b'/' && !loc.starts_with(b"../") && !loc.ends_with(b"/..")
}

/// The session; returns the exit status (0 when the master ends it).
pub fn run(ctx: &Ctx, addr: &OsStr, verbose: bool) -> Result<i32> {
    let mut s = net::connect("pbulk-scan", addr)?;
    let read_err = |e: &io::Error| Error::err("Could not read from socket", e);
    loop {
        let len = match read_len::<_, 2>(&mut s).map_err(|e| read_err(&e))? {
            (Fill::Eof, _) => return Ok(0),
            (Fill::Short(_), _) => {
                return Err(Error::errx(
                    "Premature end while reading path length from socket",
                ))
            }
            (Fill::Full, 0) => return Ok(0),
            (Fill::Full, n) if n < 3 => return Err(Error::errx("Invalid path length from master")),
            (Fill::Full, n) => n,
        };
        let mut loc = vec![0u8; len];
        let got = fill(&mut s, &mut loc).map_err(|e| read_err(&e))?;
        if got != Fill::Full || loc.contains(&0) {
            return Err(Error::errx(
                "Premature end of stream while reading path from socket",
            ));
        }
        if loc == FIND_FULL_TREE {
            let list = enumerate(ctx)?;
            reply(&mut s, &list, "Directory list too large")?;
            continue;
        }
        if !valid_location(&loc) {
            return Err(Error::errx("Invalid path from master"));
        }
        if verbose {
            let mut out = io::stdout().lock();
            let _ = out.write_all(b"Scanning ");
            let _ = out.write_all(&loc);
            let _ = out.write_all(b"\n");
            let _ = out.flush();
        }
        let output = scan(ctx, &loc)?;
        reply(&mut s, &output, "Output too large")?;
    }
}

/// The tree's locations, one per line, as the master expects them.
fn enumerate(ctx: &Ctx) -> Result<Vec<u8>> {
    let mut q = JobQueue::new(ctx.pkgsrc.clone(), OldScan::default(), Progress::default());
    tree::full_tree(ctx, &mut q)?;
    let mut list = Vec::new();
    for job in q.jobs() {
        list.extend_from_slice(&job.location);
        list.push(b'\n');
    }
    Ok(list)
}

/// `make pbulk-index` in the location; empty when it failed (the wire's
/// "scan failed").
fn scan(ctx: &Ctx, loc: &[u8]) -> Result<Vec<u8>> {
    const INDEX: &[&str] = &["pbulk-index"];
    let dir = tree::under(&ctx.pkgsrc, loc);
    match run_one(ctx.watch, ctx.timeout, &dir, &ctx.make, INDEX)? {
        Ok(text) => Ok(text),
        Err(why) => {
            if let Failure::TimedOut(_) = why {
                ctx.note_failure(&dir, INDEX, &why);
            }
            Ok(Vec::new())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn location_rules_of_the_reference() {
        assert!(valid_location(b"devel/gmake"));
        assert!(valid_location(b"a/b"));
        for bad in [
            &b"/etc/passwd"[..],
            b"nocat",
            b"a/b/c",
            b"../x",
            b"cat/..",
            b"/ab",
        ] {
            assert!(!valid_location(bad), "{}", String::from_utf8_lossy(bad));
        }
    }
}
