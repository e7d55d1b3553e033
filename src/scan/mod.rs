//! pbulk-scan: run `make pbulk-index` over a pkgsrc tree.
//!
//! Local mode runs the makes itself, one at a time like the original or
//! `-j N` at once (our extension; the result is the same bytes whatever the
//! timing). In master mode (`-m`, [`master`]) clients connecting over TCP
//! run the makes ([`client`], `-c`); the master drives the same job queue
//! ([`jobs`]) and writer ([`output`]) as a local scan.

pub mod child;
pub mod client;
pub mod jobs;
pub mod master;
pub mod oldscan;
pub mod output;
pub mod tree;

use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::cli::{self, Error, Result};
use child::{Failure, Pool, Stop, Watch};
use jobs::{JobQueue, Progress};
use oldscan::OldScan;
use output::Writer;

/// The reference's two lines (typo included) with our `-j` added.
const USAGE: &str = "usage: pbulk-scan -c <master> [ -v ] [ -j <procs> ] -M <make> <pkgsrc tree>\n\
usage: pbulk-scan [ -I <start> ] [ -j <procs> ] [ -L <old scan> ] [ -l ] [ -v ]\n                  [ -m <port> ] -M <make> <pksgrc tree> <output file>\n";

const HELP: &str =
    "pbulk-scan: run `make pbulk-index` in every package directory of a pkgsrc tree\n\
(or in the locations listed on stdin with -l) and write the records, each with its\n\
PKG_LOCATION, to the output file. -j N runs N makes at once; -L reuses an old scan.\n\
-m ADDR hands the jobs to `pbulk-scan -c ADDR` clients over TCP instead.\n\
PBULK_SCAN_TIMEOUT (seconds, default 3600, 0 = none) limits each make run;\n\
PBULK_SCAN_CLIENT_TIMEOUT (default 7200) drops a silent client in master mode.\n";

/// Environment variable holding the per-make time limit in seconds.
pub const TIMEOUT_ENV: &str = "PBULK_SCAN_TIMEOUT";
/// A make stuck for an hour in one package directory is hung, not slow.
pub const DEFAULT_TIMEOUT_SECS: u64 = 3600;

fn usage() -> Error {
    Error::stderr(1, USAGE)
}

/// The command line, as getopt("I:M:L:lc:m:v") plus our `-j N` sees it.
#[derive(Debug, Default)]
struct Options {
    start: Option<OsString>,
    make: Option<OsString>,
    old_scan: Option<PathBuf>,
    limited: bool,
    client: Option<OsString>,
    master: Option<OsString>,
    verbose: u32,
    procs: Option<usize>,
    args: Vec<OsString>,
}

fn parse(args: Vec<OsString>) -> Result<Options> {
    use lexopt::Arg::{Long, Short, Value};
    let mut o = Options::default();
    let mut p = lexopt::Parser::from_args(args);
    loop {
        let arg = match p.next() {
            Ok(Some(a)) => a,
            Ok(None) => break,
            Err(e) => return Err(getopt_error(&e)),
        };
        let value = |p: &mut lexopt::Parser, c: char| {
            p.value().map_err(|_| {
                eprintln!("pbulk-scan: option requires an argument -- {c}");
                usage()
            })
        };
        match arg {
            Short('I') => o.start = Some(value(&mut p, 'I')?),
            Short('M') => o.make = Some(value(&mut p, 'M')?),
            Short('L') => o.old_scan = Some(value(&mut p, 'L')?.into()),
            Short('l') => o.limited = true,
            Short('c') => o.client = Some(value(&mut p, 'c')?),
            Short('m') => o.master = Some(value(&mut p, 'm')?),
            Short('v') => o.verbose += 1,
            Short('j') => {
                let v = value(&mut p, 'j')?;
                match v
                    .to_str()
                    .and_then(|s| s.parse::<usize>().ok())
                    .filter(|&n| n > 0)
                {
                    Some(n) => o.procs = Some(n),
                    None => {
                        return Err(Error::errx(format!(
                            "-j needs a positive number of make processes, not `{}`",
                            v.to_string_lossy()
                        )))
                    }
                }
            }
            Short(c) => {
                eprintln!("pbulk-scan: unknown option -- {c}");
                return Err(usage());
            }
            Long(name) => {
                eprintln!("pbulk-scan: unknown option -- -{name}");
                return Err(usage());
            }
            Value(v) => o.args.push(v),
        }
    }
    Ok(o)
}

fn getopt_error(e: &lexopt::Error) -> Error {
    eprintln!("pbulk-scan: {e}");
    usage()
}

/// What every part of a local scan needs to run make.
pub struct Ctx<'w> {
    pub make: OsString,
    pub pkgsrc: PathBuf,
    pub procs: usize,
    pub timeout: Option<Duration>,
    pub watch: &'w Watch,
}

impl Ctx<'_> {
    /// Say why a run was killed (other failures speak for themselves
    /// through make's stderr).
    pub fn note_failure(&self, dir: &Path, args: &[&str], why: &Failure) {
        if let Failure::TimedOut(_) = why {
            eprintln!(
                "pbulk-scan: {} in {}: {why}, process group killed",
                child::describe(&self.make, args),
                dir.display()
            );
        }
    }
}

impl From<Stop> for Error {
    fn from(s: Stop) -> Error {
        match s {
            Stop::Signal(sig) => {
                let name =
                    nix::sys::signal::Signal::try_from(sig).map_or("a signal", |s| s.as_str());
                Error::errx(format!(
                    "stopped by {name}; the output file was left unchanged"
                ))
                .with_code(128 + sig)
            }
            Stop::Read(e) => Error::err("read failed", &e),
        }
    }
}

fn timeout_from_env() -> Result<Option<Duration>> {
    crate::net::env_seconds(TIMEOUT_ENV, Some(Duration::from_secs(DEFAULT_TIMEOUT_SECS)))
}

pub fn main(args: Vec<OsString>) -> Result<i32> {
    if cli::wants_help(&args) {
        return Err(cli::help(HELP, USAGE));
    }
    let o = parse(args)?;
    let Some(make) = o.make.clone() else {
        return Err(usage());
    };
    if o.client.is_some() && o.master.is_some() {
        eprintln!("pbulk-scan: Only client mode or master mode can be active");
        return Err(usage());
    }
    let old = if o.client.is_none() {
        OldScan::load(o.old_scan.as_deref())?
    } else {
        OldScan::default()
    };
    let timeout = timeout_from_env()?;
    if let Some(addr) = &o.client {
        if o.limited || o.args.len() != 1 {
            return Err(usage());
        }
        let watch =
            Watch::install().map_err(|e| Error::err("Cannot install signal handlers", &e))?;
        let ctx = Ctx {
            make,
            pkgsrc: PathBuf::from(&o.args[0]),
            procs: o.procs.unwrap_or(1),
            timeout,
            watch: &watch,
        };
        return client::run(&ctx, addr, o.verbose >= 1);
    }
    if o.args.len() != 2 {
        return Err(usage());
    }
    let pkgsrc = PathBuf::from(&o.args[0]);
    let mut q = JobQueue::new(
        pkgsrc.clone(),
        old,
        Progress {
            verbose: o.verbose >= 1,
        },
    );
    // The list is read before the stop signals are caught, so an operator
    // typing it can still interrupt the plain way.
    if o.limited {
        tree::limited_list(&mut std::io::stdin().lock(), &mut q)?;
    }
    let watch = Watch::install().map_err(|e| Error::err("Cannot install signal handlers", &e))?;
    let output = Path::new(&o.args[1]);
    let kept = if let Some(addr) = &o.master {
        // A location clients refuse would make each of them exit in turn
        // and leave the master waiting for ever.
        if let Some(bad) = q.jobs().iter().find(|j| !tree::safe_location(&j.location)) {
            return Err(Error::errx(format!(
                "Location `{}' of the list cannot be sent to scan clients",
                bad.location.escape_ascii()
            )));
        }
        if !o.limited {
            q.add_full_tree_job();
        }
        // Like the original, no client is served (and no start script run)
        // when the old scan answers every job.
        if q.has_job() {
            master::run(q, addr, o.start.as_deref(), output, &watch)?
        } else {
            finish(q, Writer::create(output)?, &watch)?
        }
    } else {
        let ctx = Ctx {
            make,
            pkgsrc,
            procs: o.procs.unwrap_or(1),
            timeout,
            watch: &watch,
        };
        if !o.limited {
            tree::full_tree(&ctx, &mut q)?;
        }
        let mut writer = Writer::create(output)?;
        scan_all(&ctx, &mut q, &mut writer)?;
        finish(q, writer, &watch)?
    };
    if !kept {
        return Err(Stop::Signal(watch.stopped().unwrap_or(libc::SIGTERM)).into());
    }
    Ok(0)
}

/// The closing progress line and the rest of the output.
fn finish(mut q: JobQueue, writer: Writer, watch: &Watch) -> Result<bool> {
    q.progress().finished(q.done(), q.len());
    writer.finish(&mut q, || watch.stopped().is_none())
}

/// Scan every job, `ctx.procs` at a time, handing results to the writer
/// as soon as the jobs before them are done.
fn scan_all(ctx: &Ctx, q: &mut JobQueue, writer: &mut Writer) -> Result<()> {
    const INDEX: &[&str] = &["pbulk-index"];
    let mut pool = Pool::new(ctx.procs, ctx.timeout, ctx.watch);
    loop {
        while pool.has_room() {
            let Some(i) = q.claim() else { break };
            let dir = tree::under(&ctx.pkgsrc, &q.job(i).location);
            pool.start(i, &dir, OsStr::new(&ctx.make), INDEX);
        }
        writer.write_ready(q)?;
        let Some((i, outcome)) = pool.next_done()? else {
            break;
        };
        if let Err(why) = &outcome {
            ctx.note_failure(&tree::under(&ctx.pkgsrc, &q.job(i).location), INDEX, why);
        }
        q.finish(i, outcome.ok());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(args: &[&str]) -> Result<Options> {
        parse(args.iter().map(OsString::from).collect())
    }

    #[test]
    fn getopt_clusters_and_attached_values() {
        let o = opts(&["-vvl", "-Mbmake", "-L", "old", "-j", "4", "tree", "out"]).unwrap();
        assert_eq!(o.verbose, 2);
        assert!(o.limited);
        assert_eq!(o.make.as_deref(), Some(OsStr::new("bmake")));
        assert_eq!(o.old_scan.as_deref(), Some(Path::new("old")));
        assert_eq!(o.procs, Some(4));
        assert_eq!(o.args, ["tree", "out"]);
        assert!(opts(&["-x"]).is_err());
        assert!(opts(&["-M"]).is_err());
        assert!(opts(&["-j", "0"]).is_err());
    }
}
