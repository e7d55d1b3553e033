//! pbulk-build: the build scheduler, its job states and logs.
//!
//! Standalone mode reproduces the reference (pbulk 0.76) byte for byte:
//! options, messages, the order of builds, the `-v` lines, the logs and the
//! `-r` report. Extensions: `-j N` local build slots ordered by a
//! duration-weighted critical path, `-H file` build-time history, durable
//! logs, and stopping running builds on SIGINT/SIGTERM.

pub mod client;
pub mod graph;
pub mod history;
pub mod jobs;
pub mod keeper;
pub mod logs;
pub mod master;
pub mod runner;
pub mod sandbox;
pub mod sched;
pub mod status;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::cli::{Error, Result};
use history::History;
use jobs::Jobs;
use logs::{Logs, Outcome, Progress};
use sched::{Key, Scheduler};

const USAGE: &str = "usage: pbulk-build -s <master>
usage: pbulk-build [ -v ] -c <master> -b <build script>
usage: pbulk-build [ -v ] [ -I <start> ] [ -r <report> ] [ -H <history> ] -m <port> <tree scan> <success file> <error file>
usage: pbulk-build [ -v ] [ -j <slots> ] [ -H <history> ] [ -S <sandbox dir> [ -P <path> ] ] [ -r <report> ] -b <build script> <tree scan> <success file> <error file>
";

/// Where our build phase has pbulk-build append one line per finished
/// build (`pkgname,slot,start,end,status`, the report's timeline).
pub const TIMELINE_FILE_ENV: &str = "PBULK_TIMELINE_FILE";

const HELP: &str = "pbulk-build: build every package of a resolved tree scan in dependency order,
appending package names to the success and error logs.

Extensions (pbulk-rs):
  -j <slots>    run up to <slots> build scripts at once (default 1: the reference
                order); with more, packages on the longest duration-weighted path go first
  -H <history>  build-time history: read at start-up, rewritten after each build
  -S <dir>      run every local build in a private mount namespace (Linux), with
                directories of its slot under <dir> mounted over the -P paths
  -P <path>     a path private to each slot (with -S; repeat for several)
";

fn usage() -> Error {
    Error::stderr(1, USAGE)
}

#[derive(Default)]
struct Opts {
    start: Option<OsString>,
    build: Option<OsString>,
    client: Option<OsString>,
    master: Option<OsString>,
    report: Option<PathBuf>,
    stat: Option<OsString>,
    verbosity: u32,
    modes: u32,
    slots: usize,
    history: Option<PathBuf>,
    sandbox: Option<PathBuf>,
    private: Vec<PathBuf>,
    args: Vec<OsString>,
}

fn parse(args: Vec<OsString>) -> Result<Opts> {
    use lexopt::prelude::*;
    let mut o = Opts {
        slots: 1,
        ..Opts::default()
    };
    let mut p = lexopt::Parser::from_args(args);
    let opt_err = |e: lexopt::Error| {
        let msg = match e {
            lexopt::Error::MissingValue { option: Some(o) } => {
                format!(
                    "option requires an argument -- '{}'",
                    o.trim_start_matches('-')
                )
            }
            lexopt::Error::UnexpectedOption(o) => {
                format!("invalid option -- '{}'", o.trim_start_matches('-'))
            }
            other => other.to_string(),
        };
        Error::stderr(1, format!("pbulk-build: {msg}\n{USAGE}"))
    };
    while let Some(arg) = p.next().map_err(opt_err)? {
        match arg {
            Short('I') => o.start = Some(p.value().map_err(opt_err)?),
            Short('b') => o.build = Some(p.value().map_err(opt_err)?),
            Short('c') => {
                o.client = Some(p.value().map_err(opt_err)?);
                o.modes += 1;
            }
            Short('m') => {
                o.master = Some(p.value().map_err(opt_err)?);
                o.modes += 1;
            }
            Short('r') => o.report = Some(p.value().map_err(opt_err)?.into()),
            Short('s') => {
                o.stat = Some(p.value().map_err(opt_err)?);
                o.modes += 1;
            }
            Short('v') => o.verbosity += 1,
            Short('j') => {
                let v = p.value().map_err(opt_err)?;
                o.slots = v
                    .to_str()
                    .and_then(|s| s.parse().ok())
                    .filter(|&n| n > 0)
                    .ok_or_else(|| {
                        Error::errx(format!(
                            "Invalid number of build slots: {}",
                            v.to_string_lossy()
                        ))
                    })?;
            }
            Short('H') => o.history = Some(p.value().map_err(opt_err)?.into()),
            Short('S') => o.sandbox = Some(p.value().map_err(opt_err)?.into()),
            Short('P') => o.private.push(p.value().map_err(opt_err)?.into()),
            Value(v) => o.args.push(v),
            other => return Err(opt_err(other.unexpected())),
        }
    }
    Ok(o)
}

pub fn main(args: Vec<OsString>) -> Result<i32> {
    if keeper::requested() {
        keeper::keep();
    }
    if crate::cli::wants_help(&args) {
        return Err(crate::cli::help(HELP, &format!("\n{USAGE}")));
    }
    let o = parse(args)?;
    if o.modes > 1 {
        crate::cli::report(
            "pbulk-build",
            &Error::errx("Only one of client mode, statistic mode or master mode can be active"),
        );
        return Err(usage());
    }
    if o.build.is_none() && (o.modes == 0 || o.client.is_some()) {
        return Err(usage());
    }
    if let Some(addr) = &o.stat {
        if !o.args.is_empty() {
            return Err(usage());
        }
        return client::stats(addr);
    }
    if let Some(addr) = &o.client {
        if !o.args.is_empty() {
            return Err(usage());
        }
        let script = runner::Script::new(o.build.as_deref().expect("checked above"));
        return client::run(addr, &script, o.verbosity > 0);
    }
    if o.args.len() != 3 || (o.sandbox.is_none() && !o.private.is_empty()) {
        return Err(usage());
    }
    let sandbox = match &o.sandbox {
        Some(dir) if o.master.is_none() => Some(sandbox::Sandbox::new(dir.clone(), &o.private)?),
        _ => None,
    };
    // The bulk log's lock, when the build phase shares it: held as long as
    // this process lives, but not passed on to the build scripts.
    let _bulklog_lock = crate::bulklock::keep_inherited();
    let paths: Vec<&Path> = o.args.iter().map(Path::new).collect();
    let mut build = Build::load(paths[0], paths[1], paths[2], &o)?;
    if build.sched.has_job() {
        if let Some(addr) = &o.master {
            build = master::run(build, addr, o.start.as_deref())?;
        } else {
            let script = runner::Script::new(o.build.as_deref().expect("checked above"));
            runner::run(&script, o.slots, sandbox.as_ref(), &mut build)?;
        }
    }
    if let Err(e) = build.status.done(&build.jobs, &build.sched) {
        crate::cli::report("pbulk-build", &e);
    }
    if let Some(report) = &o.report {
        logs::write_report(report, &build.jobs, &build.sched, &build.depth)?;
    }
    Ok(0)
}

/// A standalone build: the jobs, their states and where results go.
pub struct Build {
    pub jobs: Jobs,
    pub sched: Scheduler,
    pub depth: Vec<u64>,
    logs: Logs,
    progress: Progress,
    status: status::Status,
    history: Option<History>,
    timeline: Option<PathBuf>,
}

impl Build {
    /// A build handed out but never answered (its client went away): the
    /// job waits again.
    fn lost(&mut self, job: u32) {
        self.sched.requeue(job);
        if let Err(e) = self.status.ended(job, false, &self.jobs, &self.sched) {
            crate::cli::report("pbulk-build", &e);
        }
    }

    fn load(scan: &Path, success: &Path, error: &Path, o: &Opts) -> Result<Build> {
        let input = std::fs::File::open(scan).map_err(|e| Error::err("Cannot open input", &e))?;
        let mut logs = Logs::open(success, error)?;
        logs.lock(success)?;
        let buf = crate::record::read_opened(input, scan)?;
        let jobs = Jobs::parse(buf, scan)?;
        let history = o.history.as_deref().map(History::load).transpose()?;
        // A master serves as many slots as clients connect.
        let several = o.slots > 1 || o.master.is_some();
        let (depth, key) = priorities(&jobs, history.as_ref().filter(|_| several))?;
        let mut sched = Scheduler::new(jobs.dependents.clone(), jobs.open_depends.clone(), key);
        for j in 0..jobs.len() as u32 {
            // A record whose name or location would lead outside the bulk
            // log is never built; it counts as failed before the build.
            if let Some(why) = crate::record::record_problem(jobs.text(j)) {
                let line = crate::record::line_of(&jobs.buf, jobs.spans[j as usize].start);
                eprintln!(
                    "pbulk-build: {}, line {line}: {why}; not built",
                    scan.display()
                );
                sched.prefail(j);
            } else if jobs.prefailed(j)? {
                sched.prefail(j);
            }
        }
        logs.replay(&jobs, &mut sched)?;
        let progress = Progress {
            verbosity: o.verbosity,
        };
        progress.initialised();
        sched.open_remaining();
        Ok(Build {
            jobs,
            sched,
            depth,
            logs,
            progress,
            status: status::Status::from_env(),
            history,
            timeline: std::env::var_os(TIMELINE_FILE_ENV)
                .filter(|v| !v.is_empty())
                .map(PathBuf::from),
        })
    }
}

/// The reference depth of every job and the ready-list keys. A cycle is
/// reported the reference's way (exit 1). With a history (several slots),
/// the key is the duration-weighted critical path.
fn priorities(jobs: &Jobs, history: Option<&History>) -> Result<(Vec<u64>, Vec<Key>)> {
    let Some(order) = graph::topo_order(&jobs.dependents, &jobs.open_depends) else {
        let text = graph::cycle_report(&jobs.dependents, |j| jobs.name_str(j).into_owned());
        return Err(Error::stderr(1, text));
    };
    let depth = graph::depths(&jobs.dependents, &order, jobs.weights.as_deref());
    let key = match history {
        Some(h) if !h.is_empty() => {
            let known: Vec<Option<u64>> = (0..jobs.len() as u32)
                .map(|j| h.duration(&jobs.name_str(j)))
                .collect();
            sched::critical_path_keys(&jobs.dependents, &order, &depth, &known)
        }
        _ => sched::reference_keys(&depth),
    };
    Ok((depth, key))
}

impl runner::Driver for Build {
    fn next_job(&mut self) -> Option<u32> {
        let job = self.sched.next_job()?;
        let name = self.jobs.name_str(job);
        let (done, total) = (self.sched.progress(), self.sched.len());
        self.status.clear_line();
        self.progress
            .line(done, total, format_args!("Starting build of  {name}"));
        if let Err(e) = self.status.started(job, &self.jobs, &self.sched) {
            // Progress is no reason to stop a build.
            crate::cli::report("pbulk-build", &e);
        }
        Some(job)
    }

    fn host_failed(&mut self, job: u32) -> String {
        self.lost(job);
        self.jobs.name_str(job).into_owned()
    }

    fn record(&self, job: u32) -> Vec<u8> {
        self.jobs.text(job).to_vec()
    }

    fn finish(&mut self, job: u32, ok: bool, ms: u64, slot: &str) -> Result<()> {
        // Finishing changes no job's `Open` state before the reference
        // prints; a failure's propagation comes after its line.
        let (done, total) = (self.sched.progress(), self.sched.len());
        self.sched.finish(job, ok);
        let name = self.jobs.name_str(job).into_owned();
        let outcome = if ok {
            Outcome::Success
        } else {
            Outcome::Failure
        };
        self.logs.append(outcome, &name)?;
        if let Some(h) = &mut self.history {
            h.record(&name, ms)?;
        }
        if let Some(t) = &self.timeline {
            if let Err(e) = logs::append_timeline(t, &name, slot, ms, ok) {
                // The timeline is informative; the build goes on.
                crate::cli::report("pbulk-build", &e);
            }
        }
        let msg = if ok {
            "Successfully built"
        } else {
            "Failed to build   "
        };
        self.status.clear_line();
        self.progress
            .line(done, total, format_args!("{msg} {name}"));
        if let Err(e) = self.status.ended(job, true, &self.jobs, &self.sched) {
            crate::cli::report("pbulk-build", &e);
        }
        Ok(())
    }
}
