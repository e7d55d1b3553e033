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

/// Mask what differs between two uninterrupted runs: the site's temporary
/// path (in SCAN_DEPENDS) and the minute-exact times of the reports.
fn normalise(text: &str, site: &Site) -> String {
    let text = text.replace(&site.path("").display().to_string(), "@SITE@/");
    let b = text.as_bytes();
    let digits = |s: &[u8], n: usize| s.len() >= n && s[..n].iter().all(u8::is_ascii_digit);
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    while i < b.len() {
        let s = &b[i..];
        // 2026-12-01 18:33
        if s.len() >= 16
            && digits(s, 4)
            && s[4] == b'-'
            && digits(&s[5..], 2)
            && s[7] == b'-'
            && digits(&s[8..], 2)
            && s[10] == b' '
            && digits(&s[11..], 2)
            && s[13] == b':'
            && digits(&s[14..], 2)
        {
            out.push_str("@ISO@");
            i += 16;
        // 20261201.1833
        } else if s.len() >= 13 && digits(s, 8) && s[8] == b'.' && digits(&s[9..], 4) {
            out.push_str("@DIR@");
            i += 13;
        } else {
            let ch = text[i..].chars().next().unwrap();
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

/// The files the phases write into meta/ for a full local build.
const META_FILES: &[&str] = &[
    "status",
    "pscan",
    "pscan.stderr",
    "presolve",
    "presolve-err.log",
    "success",
    "error",
    "pbuild",
    "report",
    "report.bz2",
    "report.html",
    "report.txt",
    "report.dot",
    "report-timeline.html",
];

/// Files compared whole (after [`normalise`]) when present.
const COMPLETE_FILES: &[&str] = &[
    "pscan",
    "presolve",
    "pbuild",
    "report",
    "report.html",
    "report.txt",
    "report.dot",
    // report-timeline.html is drawn from the build times each run records,
    // which differ from run to run: it is not compared.
];

/// A temporary name of fsutil (`.<file>.XXXXXX`, `.<file>.<pid>.<n>`), of
/// the build phase's summaries or of pkg-build's package copy, for one of
/// the files that belong there.
fn temp_of<'a>(name: &str, files: &[&'a str]) -> Option<&'a str> {
    let rest = name.strip_prefix('.')?;
    if let Some(r) = rest.strip_prefix("pkg-build.") {
        return (!r.is_empty()).then_some("package");
    }
    files
        .iter()
        .find(|f| {
            rest.strip_prefix(**f)
                .and_then(|r| r.strip_prefix('.'))
                .is_some_and(|r| !r.is_empty())
        })
        .copied()
}

fn names(dir: &Path) -> BTreeSet<String> {
    fs::read_dir(dir)
        .map(|rd| {
            rd.map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default()
}

/// What an uninterrupted run leaves, normalised.
struct Reference {
    meta: BTreeMap<String, String>,
    /// Files of the reference's meta/ that this test does not know (an
    /// extension's, such as a progress snapshot): they must be there at the
    /// end and, if JSON, be whole after every kill; their content is not
    /// compared.
    extra: BTreeSet<String>,
    status_keys: Vec<String>,
    status: BTreeMap<String, String>,
    success: BTreeSet<String>,
    error: BTreeSet<String>,
    bulklog: BTreeMap<String, BTreeSet<String>>,
    packages: BTreeSet<String>,
    summary: String,
    sha512: Vec<String>,
    /// Packages packaged (make stage-package-create) by the run.
    ledger: usize,
    /// Offset of each marker line in the reference run.
    times: BTreeMap<String, Duration>,
    elapsed: Duration,
}

/// The keys pre-build writes, then scan's, then build's (once a run).
const TIME_KEYS: &[&str] = &[
    "BUILD_START_ISO",
    "BUILD_START_DIR",
    "BUILD_START_EPOCHE",
    "SCAN_END_EPOCHE",
    "BUILD_END_ISO",
    "BUILD_END_EPOCHE",
];

fn status_pairs(text: &str) -> Vec<(String, String)> {
    text.lines()
        .map(|l| {
            let (k, v) = l
                .split_once('=')
                .unwrap_or_else(|| panic!("status line without '=': {l:?}"));
            (k.to_string(), v.to_string())
        })
        .collect()
}

/// pkg_summary without what differs between two builds of a package.
fn summary_text(all: &Path) -> String {
    decompress("gzip", &all.join("pkg_summary.gz"))
        .lines()
        .filter(|l| !l.starts_with("BUILD_DATE=") && !l.starts_with("FILE_SIZE="))
        .map(|l| format!("{l}\n"))
        .collect()
}

fn sha512_names(site: &Site) -> Vec<String> {
    decompress("bzip2", &site.path("packages/SHA512.bz2"))
        .lines()
        .map(|l| {
            l.strip_prefix("SHA512 (")
                .and_then(|l| l.split_once(") = "))
                .unwrap_or_else(|| panic!("bad SHA512 line {l:?}"))
                .0
                .to_string()
        })
        .collect()
}

fn bulklog_dirs(site: &Site) -> BTreeMap<String, BTreeSet<String>> {
    names(&site.path("bulklog"))
        .into_iter()
        .filter(|n| n != "meta")
        .map(|n| {
            let logs = names(&site.path("bulklog").join(&n));
            (n, logs)
        })
        .collect()
}

fn package_files(site: &Site) -> BTreeSet<String> {
    names(&site.path("packages/All"))
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect()
}

impl Reference {
    fn take(site: &Site, r: &Run) -> Reference {
        let mut meta = BTreeMap::new();
        let listed = names(&site.meta(""));
        let known: BTreeSet<String> = META_FILES.iter().map(|s| s.to_string()).collect();
        let missing: Vec<&String> = known.difference(&listed).collect();
        assert!(missing.is_empty(), "the reference run wrote no {missing:?}");
        let extra: BTreeSet<String> = listed.difference(&known).cloned().collect();
        assert!(
            !extra.iter().any(|n| n.starts_with('.')),
            "temporary files in the reference's meta/: {extra:?}"
        );
        for f in META_FILES {
            let text = if *f == "report.bz2" {
                decompress("bzip2", &site.meta(f))
            } else {
                fs::read_to_string(site.meta(f)).unwrap()
            };
            meta.insert(f.to_string(), normalise(&text, site));
        }
        let pairs = status_pairs(&meta["status"]);
        let success: BTreeSet<String> = site.lines("bulklog/meta/success").into_iter().collect();
        let error: BTreeSet<String> = site.lines("bulklog/meta/error").into_iter().collect();
        assert_eq!(success, expected("done").into_iter().collect());
        assert_eq!(error, expected("failed").into_iter().collect());
        let mut times = BTreeMap::new();
        for (m, _) in MARKERS {
            if let Some(t) = r.at(m) {
                times.insert(m.to_string(), t);
            }
        }
        Reference {
            extra,
            status_keys: pairs.iter().map(|(k, _)| k.clone()).collect(),
            status: pairs.into_iter().collect(),
            meta,
            success,
            error,
            bulklog: bulklog_dirs(site),
            packages: package_files(site),
            summary: summary_text(&site.path("packages/All")),
            sha512: sha512_names(site),
            ledger: site.ledger().len(),
            times,
            elapsed: r.elapsed,
        }
    }

    fn t(&self, marker: &str) -> Duration {
        *self
            .times
            .get(marker)
            .unwrap_or_else(|| panic!("the reference run printed no {marker:?}"))
    }

    /// How long the stretch a kind aims at lasted in the reference run.
    fn window(&self, kind: Kind, remaining: usize) -> Duration {
        let span = |a: &str, b: &str| self.t(b).saturating_sub(self.t(a));
        // Three quarters of a stretch, half of the two short ones (a few
        // milliseconds), so that a kill does not run over into the next.
        let w = match kind {
            Kind::PreStart | Kind::PreRotate => self.t("Scanning..."),
            Kind::Scan => span("Scanning...", "Resolving..."),
            Kind::Resolve => span("Resolving...", "Building...") * 2 / 3,
            Kind::Build => {
                let all = self.success.len() + self.error.len();
                let w = span("Building...", "Building pkg_summary...");
                return (w * remaining as u32 / all as u32).max(Duration::from_millis(2));
            }
            Kind::Summary => span("Building pkg_summary...", "Build reports..."),
            Kind::Report => span("Build reports...", "Sending report mail...") * 2 / 3,
            Kind::ReportUpload => span("Uploading report...", "Uploading packages..."),
            Kind::Upload => self.elapsed.saturating_sub(self.t("Uploading packages...")),
        };
        (w * 3 / 4).max(Duration::from_millis(2))
    }
}

/// What a site looked like right after a kill.
struct Snapshot {
    success: BTreeSet<String>,
    error: BTreeSet<String>,
    ledger: usize,
}

/// The lines of a log: whole, known to the log, none twice.
fn log_lines(site: &Site, name: &str, allowed: &BTreeSet<String>, when: &str) -> BTreeSet<String> {
    let text = fs::read_to_string(site.meta(name)).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{when}: meta/{name} ends in a partial line: {text:?}"
    );
    let lines: Vec<String> = text.lines().map(str::to_string).collect();
    let set: BTreeSet<String> = lines.iter().cloned().collect();
    assert_eq!(
        set.len(),
        lines.len(),
        "{when}: meta/{name} names a package twice: {lines:?}"
    );
    let stray: Vec<&String> = set.difference(allowed).collect();
    assert!(stray.is_empty(), "{when}: meta/{name} has {stray:?}");
    set
}

/// meta/status: the complete pre-build block of the reference, then
/// scan's line, then build's pairs (one more per resumed build).
fn check_status(site: &Site, rf: &Reference, when: &str, finished: bool) {
    let text = fs::read_to_string(site.meta("status")).unwrap();
    assert!(
        text.ends_with('\n'),
        "{when}: meta/status ends in a partial line: {text:?}"
    );
    let pairs = status_pairs(&text);
    let head = rf
        .status_keys
        .iter()
        .position(|k| k == "SCAN_END_EPOCHE")
        .unwrap();
    assert!(
        pairs.len() >= head,
        "{when}: meta/status is cut short: {text:?}"
    );
    for (i, (k, v)) in pairs.iter().enumerate() {
        if i < head {
            assert_eq!(
                k, &rf.status_keys[i],
                "{when}: meta/status key {i}: {text:?}"
            );
        }
        if TIME_KEYS.contains(&k.as_str()) {
            let ok = match k.as_str() {
                "BUILD_START_ISO" | "BUILD_END_ISO" => normalise(v, site) == "@ISO@",
                "BUILD_START_DIR" => normalise(v, site) == "@DIR@",
                _ => !v.is_empty() && v.bytes().all(|b| b.is_ascii_digit()),
            };
            assert!(ok, "{when}: meta/status {k}={v:?}");
        } else {
            assert_eq!(Some(v), rf.status.get(k), "{when}: meta/status {k}");
        }
    }
    let tail: Vec<&str> = pairs[head..].iter().map(|(k, _)| k.as_str()).collect();
    let mut rest = tail.as_slice();
    if let Some(r) = rest.strip_prefix(&["SCAN_END_EPOCHE"]) {
        rest = r;
        while let Some(r) = rest.strip_prefix(&["BUILD_END_ISO", "BUILD_END_EPOCHE"]) {
            rest = r;
        }
    }
    assert!(rest.is_empty(), "{when}: meta/status tail {tail:?}");
    if finished {
        assert!(
            tail.len() >= 3,
            "{when}: meta/status lacks the end of the build: {tail:?}"
        );
    }
}

/// After a kill (or at the end): every file in meta/ is well-formed and,
/// where it is written whole, equal to the reference's; the package
/// directory holds only complete packages and summaries. Returns the
/// temporary files found.
fn check_site(site: &Site, rf: &Reference, when: &str) -> Vec<String> {
    let mut temps = Vec::new();
    let meta = site.meta("");
    let listed = names(&meta);
    let extra: Vec<&str> = rf.extra.iter().map(String::as_str).collect();
    let all_files: Vec<&str> = META_FILES.iter().copied().chain(extra).collect();
    for name in &listed {
        if META_FILES.contains(&name.as_str()) {
            continue;
        }
        if rf.extra.contains(name) {
            if name.ends_with(".json") {
                let text = site.read(&format!("bulklog/meta/{name}"));
                let t = text.trim();
                assert!(
                    t.starts_with('{') && t.ends_with('}'),
                    "{when}: meta/{name} is not whole: {text:?}"
                );
            }
            continue;
        }
        assert!(
            temp_of(name, &all_files).is_some(),
            "{when}: unexpected meta/{name}"
        );
        temps.push(format!("meta/{name}"));
    }
    let has = |f: &str| listed.contains(f);
    if has("status") {
        check_status(site, rf, when, false);
    }
    for f in COMPLETE_FILES {
        if has(f) {
            let text = fs::read_to_string(meta.join(f)).unwrap();
            assert!(
                normalise(&text, site) == rf.meta[*f],
                "{when}: meta/{f} differs from the reference's ({} bytes):\n{text}",
                text.len()
            );
        }
    }
    if has("report.bz2") {
        let text = decompress("bzip2", &meta.join("report.bz2"));
        assert!(
            normalise(&text, site) == rf.meta["report"],
            "{when}: meta/report.bz2 is not the report"
        );
    }
    // The stderr logs are complete once the output they go with is.
    // (A kill while pre-build clears the old tree may take either first.)
    for (out, log) in [("pscan", "pscan.stderr"), ("presolve", "presolve-err.log")] {
        if has(out) && has(log) {
            let text = site.read(&format!("bulklog/meta/{log}"));
            assert_eq!(normalise(&text, site), rf.meta[log], "{when}: meta/{log}");
        }
    }
    // Both logs without presolve would stop bulkbuild-restart (it cannot
    // check them); one of them alone is a run that starts over.
    assert!(
        !(has("success") && has("error")) || has("presolve"),
        "{when}: meta/success and meta/error without meta/presolve"
    );
    let mut success = BTreeSet::new();
    for (log, allowed) in [("success", &rf.success), ("error", &rf.error)] {
        if has(log) {
            let set = log_lines(site, log, allowed, when);
            if log == "success" {
                success = set;
            }
        }
    }

    // Packages: whole files of the reference's set; the summaries, when
    // there, complete (they are made only after a whole build).
    let all = site.path("packages/All");
    let mut tgz = Vec::new();
    for name in names(&all) {
        if name.starts_with('.') {
            assert!(
                temp_of(&name, &["pkg_summary.gz", "pkg_summary.bz2"]).is_some(),
                "{when}: unexpected packages/All/{name}"
            );
            temps.push(format!("packages/All/{name}"));
            continue;
        }
        assert!(
            rf.packages.contains(&name),
            "{when}: unexpected packages/All/{name}"
        );
        if name.ends_with(".tgz") {
            tgz.push(all.join(&name));
        }
    }
    for name in names(&site.path("packages")) {
        if name.starts_with('.') {
            assert!(
                temp_of(&name, &["SHA512.bz2"]).is_some(),
                "{when}: unexpected packages/{name}"
            );
            temps.push(format!("packages/{name}"));
        }
    }
    for p in &success {
        assert!(
            all.join(format!("{p}.tgz")).is_file(),
            "{when}: {p} is in meta/success but not in packages/All"
        );
    }
    if !tgz.is_empty() {
        let st = Command::new("gzip").arg("-tq").args(&tgz).status().unwrap();
        assert!(st.success(), "{when}: a package in packages/All is damaged");
    }
    if all.join("pkg_summary.gz").exists() {
        assert_eq!(summary_text(&all), rf.summary, "{when}: pkg_summary.gz");
    }
    if all.join("pkg_summary.bz2").exists() {
        let a = decompress("bzip2", &all.join("pkg_summary.bz2"));
        let b = decompress("gzip", &all.join("pkg_summary.gz"));
        assert_eq!(a, b, "{when}: pkg_summary.bz2 is not pkg_summary.gz");
    }
    if site.path("packages/SHA512.bz2").exists() {
        assert_eq!(sha512_names(site), rf.sha512, "{when}: SHA512.bz2");
    }
    temps
}

/// The end of a site: what an uninterrupted run leaves, exactly, but for
/// one thing: a package killed after pkg-build had put it into
/// packages/All but before pbulk-build logged it is found up to date by the
/// restart, and pkg-build then exits at once, as the original does, leaving
/// the log directory of the interrupted build behind. Such directories
/// (of packages that succeed and were being built at a kill) are returned.
fn check_final(site: &Site, rf: &Reference, interrupted: &BTreeSet<String>) -> Vec<String> {
    let when = "after the last restart";
    let listed: BTreeSet<String> = names(&site.meta(""))
        .into_iter()
        .filter(|n| !n.starts_with('.'))
        .collect();
    let want: BTreeSet<String> = rf.meta.keys().chain(&rf.extra).cloned().collect();
    assert_eq!(listed, want, "{when}: meta/");
    check_site(site, rf, when);
    check_status(site, rf, when, true);
    let success: BTreeSet<String> = site.lines("bulklog/meta/success").into_iter().collect();
    let error: BTreeSet<String> = site.lines("bulklog/meta/error").into_iter().collect();
    assert_eq!(success, rf.success, "{when}: meta/success");
    assert_eq!(error, rf.error, "{when}: meta/error");
    let mut dirs = bulklog_dirs(site);
    let stale: Vec<String> = dirs
        .keys()
        .filter(|d| !rf.bulklog.contains_key(*d))
        .cloned()
        .collect();
    let shown = stale.iter().map(|d| format!("{d} {:?}", dirs[d])).collect();
    for d in &stale {
        assert!(
            rf.success.contains(d) && interrupted.contains(d),
            "{when}: bulklog/{d} is left ({:?})",
            dirs[d]
        );
        dirs.remove(d);
    }
    assert_eq!(dirs, rf.bulklog, "{when}: the failure logs");
    let stale: Vec<String> = shown;
    assert_eq!(package_files(site), rf.packages, "{when}: packages/All");
    assert_eq!(summary_text(&site.path("packages/All")), rf.summary);
    assert_eq!(sha512_names(site), rf.sha512);
    for line in decompress("bzip2", &site.path("packages/SHA512.bz2")).lines() {
        let (file, hex) = line
            .strip_prefix("SHA512 (")
            .and_then(|l| l.split_once(") = "))
            .unwrap();
        let real = Command::new("sha512sum")
            .arg(site.path("packages").join(file))
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&real.stdout).starts_with(hex),
            "{when}: digest of {file}"
        );
    }
    stale
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
