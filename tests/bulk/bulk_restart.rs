//! Kill and restart: whole bulk builds of the example tree are killed with
//! SIGKILL at 30 random moments spread over every phase, each time resumed
//! with `bulkbuild-restart`, and must end exactly as an uninterrupted run:
//! the same `meta/` files (timestamps and the site's path masked), the same
//! packages and summaries, no package that had succeeded built again, and
//! after every kill no file in `meta/` truncated or half-written (every file
//! there is either absent, a log of whole known lines, or complete).
//!
//! How the moments are chosen: one uninterrupted reference run is timed,
//! which gives the length of every phase (the offset of each progress line
//! of its stdout). A uniform delay over the whole run would put nearly
//! every kill into the build (it takes 90% of the time; resolve and the
//! report files take milliseconds), so the 30 kills are stratified over
//! the phases instead ([`PLAN`]: pre-build, scan, resolve, build,
//! pkg_summary/SHA512, the report files, the report upload, the package
//! upload): each is a uniform random delay within (most of) its phase's
//! reference length after the stdout line that starts the phase, or after
//! the start of the program for the first part of pre-build. rsync is a
//! stand-in that takes 0.2s, as a real upload takes a while, so the two
//! uploads can be hit too. The kills are dealt to three sites built side
//! by side, each taking its ten in phase order: a kill, `bulkbuild-restart`
//! killed again, ..., and a last restart let finish. The phase a kill
//! really hit is read from the program's stdout and printed with the
//! delay, so the output shows the spread; every phase must have been hit.
//!
//! Temporary files of the atomic writes (`.<file>.<pid>.<n>`) that a kill
//! leaves in meta/ or packages/ are tolerated until the next build phase,
//! which removes those of dead writers: none may be left at the end.
//! Tolerated, and printed at the end: the log
//! directory of a package killed after it was put into packages/All but
//! before it was logged: the restart finds it up to date and pkg-build
//! exits at once, as the original does, without removing the directory.
//!
//! What is killed: the bulk build runs in a session of its own, and the
//! kill is `kill(-pgid, SIGKILL)` of its process group, as an operator
//! stops a job. Every process of the session must then be gone within
//! seconds by itself: the build scripts run in a process group of their
//! own whose keeper kills it when pbulk-build dies, and the scan's makes
//! end when they write into the dead pipe. A survivor fails the test (a
//! restart would build beside it, in the same prefix).
//!
//! The seed is printed; set PBULK_KILL_SEED to replay a plan (the moments
//! follow the seed; the machine's speed still moves them a little).

use crate::support::bulk as bulk_support;
use crate::support::common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::process::{CommandExt, ExitStatusExt};
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use bulk_support::{decompress, expected, Site};
use common::Rng;

#[path = "bulk_restart_checks.rs"]
mod checks;
use checks::*;

/// Sites built side by side, and the kills each takes.
const SITES: usize = 3;
const KILLS_PER_SITE: usize = 10;
/// A kill that finds the run already finished is tried again on the next
/// restart, at most this often.
const TRIES: usize = 4;
/// No single run of the example tree takes anywhere near this long.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// A uniform delay in `[0, window)`, in microseconds.
fn delay(rng: &mut Rng, window: Duration) -> Duration {
    Duration::from_micros(rng.below(window.as_micros() as u64))
}

/// The stdout lines that start a phase (or a step of one), with the name
/// the kill report uses for what runs after them.
const MARKERS: &[(&str, &str)] = &[
    (
        "Warning: All log files of the previous pbulk run will be",
        "pre-build",
    ),
    ("Removing old scan results", "pre-build"),
    ("Scanning...", "scan"),
    ("Resolving...", "resolve"),
    ("Building...", "build"),
    ("Building pkg_summary...", "summary"),
    ("Building SHA512...", "summary"),
    ("Build reports...", "report"),
    ("Sending report mail...", "report-upload"),
    ("Uploading report...", "report-upload"),
    ("Uploading packages...", "upload"),
];

/// Every phase a kill is meant to reach, in run order.
const PHASE_NAMES: &[&str] = &[
    "pre-build",
    "scan",
    "resolve",
    "build",
    "summary",
    "report",
    "report-upload",
    "upload",
];

/// Where a kill is aimed: a stretch of a run, starting at a stdout line
/// (or the start of the program) and as long as it was in the reference.
/// A site takes its kills in this order, so the one after a scan kill
/// can hit the rotation of the old tree.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// From the start of the program: the decision of bulkbuild-restart,
    /// the warning's sleep or a fresh pre-build.
    PreStart,
    Scan,
    /// Pre-build after the old log tree is rotated: rm, mkdir,
    /// client-clean, the platform queries, `status`.
    PreRotate,
    Resolve,
    Build,
    Summary,
    Report,
    ReportUpload,
    Upload,
}

/// How many of the 30 kills aim at each stretch.
const PLAN: &[(Kind, usize)] = &[
    (Kind::PreStart, 2),
    (Kind::Scan, 4),
    (Kind::PreRotate, 2),
    (Kind::Resolve, 4),
    (Kind::Build, 8),
    (Kind::Summary, 3),
    (Kind::Report, 3),
    (Kind::ReportUpload, 2),
    (Kind::Upload, 2),
];

impl Kind {
    fn marker(self) -> Option<&'static str> {
        match self {
            Kind::PreStart => None,
            Kind::PreRotate => Some("Removing old scan results"),
            Kind::Scan => Some("Scanning..."),
            Kind::Resolve => Some("Resolving..."),
            Kind::Build => Some("Building..."),
            Kind::Summary => Some("Building pkg_summary..."),
            Kind::Report => Some("Build reports..."),
            Kind::ReportUpload => Some("Uploading report..."),
            Kind::Upload => Some("Uploading packages..."),
        }
    }

    /// Before the build: only reachable in a run that starts over.
    fn early(self) -> bool {
        self < Kind::Build
    }
}

/// One finished (or killed) run of a bulkbuild program.
struct Run {
    /// stdout, each line with the time since the start it was read at.
    lines: Vec<(Duration, String)>,
    status: ExitStatus,
    elapsed: Duration,
    /// Processes outside bulkbuild's process group that were still
    /// running after the group kill.
    strays: usize,
    /// Processes of the session still running after a normal end.
    left: usize,
}

impl Run {
    fn killed(&self) -> bool {
        self.status.signal() == Some(libc::SIGKILL)
    }

    fn at(&self, line: &str) -> Option<Duration> {
        self.lines.iter().find(|(_, l)| l == line).map(|(t, _)| *t)
    }

    /// The phase the run was in when it died: the one its last marker
    /// line started.
    fn phase(&self, resumed: bool) -> &'static str {
        let mut phase = if resumed { "restart" } else { "pre-build" };
        for (_, l) in &self.lines {
            if let Some((_, p)) = MARKERS.iter().find(|(m, _)| m == l) {
                phase = p;
            }
        }
        phase
    }

    /// The package whose build was cut short, from pbulk-build's -v lines.
    fn building(&self) -> Option<String> {
        let mut current = None;
        for (_, l) in &self.lines {
            let words: Vec<&str> = l.split_whitespace().collect();
            match words.as_slice() {
                [_, "Starting", "build", "of", name] => current = Some(name.to_string()),
                [_, "Successfully", "built", _] | [_, "Failed", "to", "build", _] => current = None,
                _ => {}
            }
        }
        current
    }

    fn started_builds(&self) -> Vec<String> {
        self.lines
            .iter()
            .filter_map(|(_, l)| {
                let w: Vec<&str> = l.split_whitespace().collect();
                match w.as_slice() {
                    [_, "Starting", "build", "of", name] => Some(name.to_string()),
                    _ => None,
                }
            })
            .collect()
    }
}

/// The non-zombie processes of a session, with their process groups.
fn session_members(sid: i32) -> Vec<(i32, i32)> {
    let Ok(rd) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for e in rd.flatten() {
        let Ok(pid) = e.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        // pid (comm) state ppid pgrp session ...; comm may hold anything.
        let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
            continue;
        };
        let f: Vec<&str> = rest.split_whitespace().collect();
        if f.len() > 3 && f[3].parse() == Ok(sid) && f[0] != "Z" && f[0] != "X" {
            out.push((pid, f[2].parse().unwrap_or(0)));
        }
    }
    out
}

/// SIGKILL the process group `sid`, then wait for the rest of the session
/// to end by itself. Returns how many processes outlived the group kill
/// for a moment.
fn kill_build(sid: i32) -> usize {
    // SAFETY: plain kill(2) calls.
    unsafe { libc::kill(-sid, libc::SIGKILL) };
    let mut strays = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let alive = session_members(sid);
        if alive.is_empty() {
            return strays.len();
        }
        strays.extend(alive.iter().map(|&(pid, _)| pid));
        if Instant::now() > deadline {
            for &(pid, _) in &alive {
                unsafe { libc::kill(pid, libc::SIGKILL) };
            }
            panic!("processes of session {sid} outlived the group kill by 10 s: {alive:?}");
        }
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// Run `prog` in a session of its own; with a target, kill it `delay`
/// after the target's stdout line (or the start) was read.
fn run(site: &Site, prog: &str, target: Option<(Option<&str>, Duration)>) -> Run {
    let mut cmd = site.cmd(prog);
    let stderr = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(site.path("stderr.log"))
        .unwrap();
    cmd.stdout(Stdio::piped()).stderr(stderr);
    // SAFETY: setsid(2) is async-signal-safe.
    unsafe {
        cmd.pre_exec(|| {
            if libc::setsid() < 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let start = Instant::now();
    let mut child = cmd.spawn().unwrap();
    let sid = child.id() as i32;
    let out = child.stdout.take().unwrap();
    let (tx, rx) = mpsc::channel();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(out).lines() {
            let Ok(line) = line else { break };
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    let mut lines = Vec::new();
    let mut strays = 0;
    let mut fired = false;
    let deadline = start + RUN_TIMEOUT;
    let too_long = |site: &Site| -> ! {
        kill_build(sid);
        panic!(
            "{prog} ran longer than {RUN_TIMEOUT:?}; stderr:\n{}",
            site.read("stderr.log")
        )
    };
    if let Some((marker, delay)) = target {
        let base = match marker {
            None => Some(start),
            Some(m) => loop {
                match rx.recv_timeout(deadline.saturating_duration_since(Instant::now())) {
                    Ok((at, l)) => {
                        let found = l == m;
                        lines.push((at - start, l));
                        if found {
                            break Some(at);
                        }
                    }
                    Err(mpsc::RecvTimeoutError::Disconnected) => break None,
                    Err(mpsc::RecvTimeoutError::Timeout) => too_long(site),
                }
            },
        };
        if let Some(base) = base {
            let when = base + delay;
            loop {
                let now = Instant::now();
                if now >= when {
                    break;
                }
                match rx.recv_timeout(when - now) {
                    Ok((at, l)) => lines.push((at - start, l)),
                    Err(mpsc::RecvTimeoutError::Timeout) => break,
                    Err(mpsc::RecvTimeoutError::Disconnected) => {
                        std::thread::sleep(when.saturating_duration_since(Instant::now()));
                        break;
                    }
                }
            }
            strays = kill_build(sid);
            fired = true;
        }
    }
    let status = loop {
        if let Some(st) = child.try_wait().unwrap() {
            break st;
        }
        if Instant::now() > deadline {
            too_long(site);
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let mut left = 0;
    if !fired {
        // A finished run should not leave anything behind.
        left = session_members(sid).len();
        kill_build(sid);
    }
    for (at, l) in rx.iter() {
        lines.push((at - start, l));
    }
    reader.join().unwrap();
    Run {
        lines,
        status,
        elapsed,
        strays,
        left,
    }
}

fn assert_ok(site: &Site, r: &Run, what: &str) {
    assert!(
        r.status.success(),
        "{what} failed ({:?}):\n--- stdout\n{}\n--- stderr\n{}",
        r.status,
        r.lines
            .iter()
            .map(|(_, l)| l.as_str())
            .collect::<Vec<_>>()
            .join("\n"),
        site.read("stderr.log")
    );
}

/// One kill as the report shows it.
struct Kill {
    site: usize,
    planned: Kind,
    aimed: Kind,
    prog: &'static str,
    delay: Duration,
    phase: &'static str,
    at: Duration,
    detail: String,
}

struct SiteResult {
    kills: Vec<Kill>,
    strays: usize,
    temps: BTreeSet<String>,
    temps_left: Vec<String>,
    stale: Vec<String>,
    left: usize,
    /// Packagings beyond the reference's: builds cut short and redone.
    repackaged: usize,
    rounds: usize,
    elapsed: Duration,
}

/// Build one site through its kills in order, then let a restart finish.
fn drive_site(index: usize, plan: Vec<Kind>, seed: u64, rf: &Reference, extra: &str) -> SiteResult {
    let started = Instant::now();
    let mut rng = Rng(seed);
    let site = Site::new(extra);
    let mut kills = Vec::new();
    let mut snaps: Vec<Snapshot> = Vec::new();
    let mut interrupted = BTreeSet::new();
    let mut temps = BTreeSet::new();
    let mut strays = 0;
    let mut left = 0;
    let mut rounds = 0;
    let mut prog = "bulkbuild";
    let mut fresh = true;
    for planned in plan {
        let mut tries = 0;
        loop {
            tries += 1;
            assert!(
                tries <= TRIES,
                "site {index}: a kill aimed at {planned:?} missed {TRIES} times"
            );
            // What bulkbuild-restart will do: resume when both logs exist
            // (check_site has made sure they hold only known names).
            let resumed = !fresh && site.meta("success").exists() && site.meta("error").exists();
            let mut aimed = planned;
            if resumed && aimed.early() {
                aimed = Kind::Build;
            }
            if aimed == Kind::PreRotate && !site.meta("").is_dir() {
                aimed = Kind::PreStart;
            }
            let remaining = {
                let error: BTreeSet<String> =
                    site.lines("bulklog/meta/error").into_iter().collect();
                rf.success
                    .iter()
                    .filter(|p| !site.path(&format!("packages/All/{p}.tgz")).exists())
                    .count()
                    + rf.error.difference(&error).count()
            };
            let delay = delay(&mut rng, rf.window(aimed, remaining));
            let r = run(&site, prog, Some((aimed.marker(), delay)));
            rounds += 1;
            strays += r.strays;
            left += r.left;
            let when = format!("site {index} after kill {} ({prog})", kills.len() + 1);
            if resumed {
                // A resumed build starts nothing that was logged before.
                if let Some(last) = snaps.last() {
                    for name in r.started_builds() {
                        assert!(
                            !last.success.contains(&name) && !last.error.contains(&name),
                            "{when}: the resumed build started {name} again"
                        );
                    }
                }
            }
            if !r.killed() {
                assert_ok(&site, &r, &format!("site {index}: {prog}"));
                check_site(&site, rf, &format!("{when}: run ended first"));
                prog = "bulkbuild-restart";
                fresh = false;
                continue;
            }
            temps.extend(check_site(&site, rf, &when));
            let success: BTreeSet<String> = if site.meta("success").exists() {
                site.lines("bulklog/meta/success").into_iter().collect()
            } else {
                BTreeSet::new()
            };
            let error: BTreeSet<String> = if site.meta("error").exists() {
                site.lines("bulklog/meta/error").into_iter().collect()
            } else {
                BTreeSet::new()
            };
            let phase = r.phase(resumed);
            interrupted.extend(r.building());
            let detail = match (phase, r.building()) {
                ("build", Some(p)) => format!("building {p}; "),
                _ => String::new(),
            } + &format!("success {}, error {}", success.len(), error.len());
            let k = Kill {
                site: index,
                planned,
                aimed,
                prog,
                delay,
                phase,
                at: r.elapsed,
                detail,
            };
            eprintln!(
                "site {} kill {:>2}: {:<17} {:<18} {:>7.3}s after {:<27} -> {} at {:.3}s ({})",
                k.site,
                kills.len() + 1,
                k.prog,
                if k.aimed == k.planned {
                    format!("{:?}", k.aimed)
                } else {
                    format!("{:?}>{:?}", k.planned, k.aimed)
                },
                k.delay.as_secs_f64(),
                format!("{:?}", k.aimed.marker().unwrap_or("start")),
                k.phase,
                k.at.as_secs_f64(),
                k.detail
            );
            kills.push(k);
            snaps.push(Snapshot {
                success,
                error,
                ledger: site.ledger().len(),
            });
            prog = "bulkbuild-restart";
            fresh = false;
            break;
        }
    }
    let r = run(&site, "bulkbuild-restart", None);
    rounds += 1;
    strays += r.strays;
    left += r.left;
    assert_ok(
        &site,
        &r,
        &format!("site {index}: the last bulkbuild-restart"),
    );
    let stale = check_final(&site, rf, &interrupted);

    // No package that had succeeded before a kill was packaged again.
    let ledger = site.ledger();
    for name in &ledger {
        assert!(
            rf.success.contains(name) || rf.error.contains(name),
            "site {index}: {name} packaged"
        );
    }
    for (i, s) in snaps.iter().enumerate() {
        for name in &ledger[s.ledger..] {
            assert!(
                !s.success.contains(name),
                "site {index}: {name} was in meta/success at kill {} and was built again \
                 (ledger: {ledger:?})",
                i + 1
            );
        }
    }
    let temps_left: Vec<String> = ["bulklog/meta", "packages/All", "packages"]
        .iter()
        .flat_map(|d| {
            names(&site.path(d))
                .into_iter()
                .filter(|n| n.starts_with('.'))
                .map(move |n| format!("{d}/{n}"))
        })
        .collect();
    assert!(
        temps_left.is_empty(),
        "site {index}: temporary files left at the end: {temps_left:?}"
    );
    SiteResult {
        kills,
        strays,
        temps,
        temps_left,
        stale,
        left,
        repackaged: ledger.len().saturating_sub(rf.ledger),
        rounds,
        elapsed: started.elapsed(),
    }
}

/// A stand-in rsync that takes a moment, as a real upload does, so the
/// two upload steps are long enough to be killed in.
fn slow_rsync(dir: &Path) -> String {
    let p = dir.join("rsync");
    fs::write(&p, "#!/bin/sh\ncat >/dev/null\nexec sleep 0.2\n").unwrap();
    bulk_support::chmod_x(&p);
    format!("rsync={}\n", p.display())
}

#[test]
fn sigkill_at_30_moments_then_restart_ends_as_an_uninterrupted_run() {
    let seed = common::seed("PBULK_KILL_SEED");
    let started = Instant::now();
    let tools = tempfile::tempdir().unwrap();
    let extra = slow_rsync(tools.path());

    let reference = Site::new(&extra);
    let r = run(&reference, "bulkbuild", None);
    assert_ok(&reference, &r, "the reference bulkbuild");
    let rf = Reference::take(&reference, &r);
    if !rf.extra.is_empty() {
        eprintln!("meta/ files checked for presence only: {:?}", rf.extra);
    }
    eprintln!(
        "reference run {:.3}s; phases start at {}",
        rf.elapsed.as_secs_f64(),
        MARKERS
            .iter()
            .filter_map(|(m, _)| rf
                .times
                .get(*m)
                .map(|t| format!("{m} {:.3}s", t.as_secs_f64())))
            .collect::<Vec<_>>()
            .join(", ")
    );

    // Deal the stratified plan out, each site taking its share in run order.
    let mut rng = Rng(seed);
    let kinds: Vec<Kind> = PLAN
        .iter()
        .flat_map(|(k, n)| std::iter::repeat(*k).take(*n))
        .collect();
    assert_eq!(kinds.len(), SITES * KILLS_PER_SITE);
    let offset = rng.below(SITES as u64) as usize;
    let mut plans = vec![Vec::new(); SITES];
    for (i, k) in kinds.iter().enumerate() {
        plans[(i + offset) % SITES].push(*k);
    }
    let seeds: Vec<u64> = (0..SITES).map(|_| rng.next() | 1).collect();

    let results: Vec<SiteResult> = std::thread::scope(|s| {
        let handles: Vec<_> = plans
            .into_iter()
            .zip(seeds)
            .enumerate()
            .map(|(i, (plan, seed))| {
                let (rf, extra) = (&rf, &extra);
                std::thread::Builder::new()
                    .name(format!("site {i}"))
                    .spawn_scoped(s, move || drive_site(i, plan, seed, rf, extra))
                    .unwrap()
            })
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).collect()
    });

    let kills: Vec<&Kill> = results.iter().flat_map(|r| &r.kills).collect();
    assert_eq!(kills.len(), SITES * KILLS_PER_SITE);
    let mut spread: BTreeMap<&str, usize> = BTreeMap::new();
    for k in &kills {
        *spread.entry(k.phase).or_default() += 1;
    }
    let shown: Vec<String> = PHASE_NAMES
        .iter()
        .chain(&["restart"])
        .map(|p| format!("{p} {}", spread.get(p).copied().unwrap_or(0)))
        .collect();
    let redirected = kills
        .iter()
        .filter(|k| k.planned.early() && k.aimed == Kind::Build)
        .count();
    for (i, r) in results.iter().enumerate() {
        eprintln!(
            "site {i}: {} runs in {:.1}s, {} packagings redone after a kill, {} processes that outlived \
             the group kill for a moment, \
             {} left running by runs that ended by themselves, temporary files seen after \
             kills: {:?}, left at the end: {:?}, log directories of interrupted builds left: {:?}",
            r.rounds,
            r.elapsed.as_secs_f64(),
            r.repackaged,
            r.strays,
            r.left,
            r.temps,
            r.temps_left,
            r.stale
        );
    }
    eprintln!(
        "{} kills hit: {}; {redirected} aimed at the build instead of an earlier phase \
         (the site had resumed); total {:.1}s",
        kills.len(),
        shown.join(", "),
        started.elapsed().as_secs_f64()
    );
    for p in PHASE_NAMES {
        assert!(
            spread.get(p).copied().unwrap_or(0) > 0,
            "no kill hit {p}: {spread:?}"
        );
    }
}
