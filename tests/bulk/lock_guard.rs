//! The bulk log cannot be corrupted (issue 13, points 1-3), on whole bulk
//! builds of the example tree through the installed programs:
//! - one lock per bulk log: a second run while one is going is refused at
//!   once with one line naming the holder, and the first ends as an
//!   undisturbed run;
//! - stopping the driver stops the run: TERM to the `bulkbuild` process
//!   alone leaves no process of the run behind and a restart ends as an
//!   undisturbed run; after SIGKILL of the driver alone its phases stop by
//!   themselves;
//! - host failures are not package failures: a full file system under
//!   `${packages}`, a read-only `${packages}/All` and a missing `pkg_add`
//!   stop the build with one line naming the cause and the package and log
//!   no failure; after the fix a restart ends as an undisturbed run; a
//!   limited build of only prefailed packages still makes its report.
//!
//! "Undisturbed" is the outcome table of the example tree
//! (`tests/pkgsrc/README.md`, restated in `bulk_support::OUTCOME`): every
//! package's status, the success and error logs without a name twice, and
//! exactly the built packages in `${packages}/All`.
//!
//! The file-system cases mount a small tmpfs in a private mount namespace
//! (`unshare --mount`), which needs root: without it they print one line
//! and pass, except under CI=true.

use crate::support::bulk as bulk_support;
use crate::support::common;

use std::collections::BTreeMap;
use std::fs;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use bulk_support::{expected, sorted, Site, OUTCOME};

/// No run of the example tree takes anywhere near this long.
const LIMIT: Duration = Duration::from_secs(300);

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn show(o: &Output) -> String {
    format!(
        "status {}\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        text(&o.stdout),
        text(&o.stderr)
    )
}

/// Wait until `cond` holds, polling; fails the test after [`LIMIT`].
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let start = Instant::now();
    while !cond() {
        assert!(start.elapsed() < LIMIT, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Start the driver in a process group of its own, so that a signal to its
/// pid reaches it alone and the test's group is never hit.
fn spawn(site: &Site, prog: &str) -> Child {
    site.cmd(prog)
        .process_group(0)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap()
}

/// The processes of this site's run still alive: every program of a run
/// has the site's `PBULK_CONF` in its environment (make and the build
/// scripts inherit it).
fn survivors(site: &Site) -> Vec<String> {
    let needle = format!("PBULK_CONF={}\0", site.conf().display());
    let mut found = Vec::new();
    for e in fs::read_dir("/proc").unwrap().flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        if !name.bytes().all(|b| b.is_ascii_digit()) || name == std::process::id().to_string() {
            continue;
        }
        let Ok(env) = fs::read(e.path().join("environ")) else {
            continue;
        };
        if memfind(&env, needle.as_bytes()) {
            let stat = fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            // A zombie is dead already; its parent just has not reaped it.
            if !stat.contains(") Z ") {
                let cmd = fs::read(e.path().join("cmdline")).unwrap_or_default();
                found.push(format!("{name}: {}", text(&cmd).replace('\0', " ")));
            }
        }
    }
    found
}

fn memfind(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The packages in `All`, without the summaries.
fn packages(all: &Path) -> Vec<String> {
    let mut v: Vec<String> = fs::read_dir(all)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| !n.starts_with("pkg_summary"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

/// The site ends exactly as an undisturbed full build of the example tree.
fn assert_undisturbed(site: &Site, all: &Path) {
    let want: BTreeMap<String, String> = OUTCOME
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect();
    assert_eq!(site.statuses(), want, "meta/pbuild");
    assert_eq!(sorted(site.lines("bulklog/meta/success")), expected("done"));
    assert_eq!(sorted(site.lines("bulklog/meta/error")), expected("failed"));
    let built: Vec<String> = expected("done")
        .iter()
        .map(|n| format!("{n}.tgz"))
        .collect();
    assert_eq!(packages(all), built, "{}", all.display());
    assert!(all.join("pkg_summary.gz").is_file(), "pkg_summary.gz");
    assert!(site.meta("report.html").is_file(), "the report");
}

/// Whether the bulk log's lock is free (nobody of the run holds it).
fn lock_is_free(site: &Site) -> bool {
    let f = fs::File::open(site.path("bulklog/.pbulk.lock")).unwrap();
    // SAFETY: flock on a descriptor this function owns.
    let fd = std::os::fd::AsRawFd::as_raw_fd(&f);
    unsafe { libc::flock(fd, libc::LOCK_EX | libc::LOCK_NB) == 0 }
}

/// Wait until the run's build phase has built a package or two; the run
/// must not have ended before.
fn wait_building(site: &Site, run: &mut Child) {
    wait_for("the build phase", || {
        if let Some(st) = run.try_wait().unwrap() {
            let mut err = String::new();
            let _ = std::io::Read::read_to_string(run.stderr.as_mut().unwrap(), &mut err);
            panic!("the run ended ({st}) before building:\n{err}");
        }
        site.ledger().len() >= 2
    });
}

#[test]
fn a_second_run_is_refused_and_the_first_ends_undisturbed() {
    let site = Site::new("");
    let mut first = spawn(&site, "bulkbuild");
    let pid = first.id();
    wait_building(&site, &mut first);
    let holder = format!("in use by pid {pid} (bulkbuild), started ");
    for (prog, why) in [
        ("bulkbuild", "a second bulkbuild"),
        ("bulkbuild-restart", "a restart"),
        ("pre-build", "pre-build alone (it would empty the log)"),
        ("build", "the build phase alone"),
        ("report", "the report phase alone"),
    ] {
        let o = site.run(prog, &[]);
        let err = text(&o.stderr);
        assert!(!o.status.success(), "{why} ran:\n{}", show(&o));
        assert_eq!(err.lines().count(), 1, "{why}: one line:\n{}", show(&o));
        assert!(
            err.contains(&holder) && err.contains(&site.path("bulklog").display().to_string()),
            "{why}: the line names the log and the holder ({holder}):\n{}",
            show(&o)
        );
    }
    // pbulk-build by hand on the run's logs.
    let meta = |f: &str| site.meta(f).display().to_string();
    let o = site.run(
        "pbulk-build",
        &[
            "-b",
            "/bin/true",
            &meta("presolve"),
            &meta("success"),
            &meta("error"),
        ],
    );
    assert!(
        !o.status.success(),
        "a second pbulk-build ran:\n{}",
        show(&o)
    );
    assert!(
        text(&o.stderr).contains("is in use by another pbulk-build"),
        "{}",
        show(&o)
    );

    let out = first.wait_with_output().unwrap();
    assert!(out.status.success(), "first run:\n{}", show(&out));
    assert_undisturbed(&site, &site.path("packages/All"));
    // And once it has ended, the lock is the next run's.
    assert!(lock_is_free(&site));
}

#[test]
fn term_to_the_driver_alone_stops_the_run_and_a_restart_completes_it() {
    use std::os::unix::process::ExitStatusExt;
    let site = Site::new("");
    let mut run = spawn(&site, "bulkbuild");
    wait_building(&site, &mut run);
    // SAFETY: signalling the child this test started, by its pid alone.
    unsafe { libc::kill(run.id() as i32, libc::SIGTERM) };
    let out = run.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(128 + libc::SIGTERM),
        "the driver ends with TERM's status:\n{}",
        show(&out)
    );
    assert_eq!(out.status.signal(), None);
    // The driver waits for its phase's group: nothing of the run is left.
    assert_eq!(survivors(&site), Vec::<String>::new(), "left running");
    assert!(lock_is_free(&site));

    let o = site.run("bulkbuild-restart", &[]);
    assert!(o.status.success(), "restart:\n{}", show(&o));
    assert_undisturbed(&site, &site.path("packages/All"));
}

#[test]
fn sigkill_of_the_driver_alone_stops_its_phases() {
    let site = Site::new("");
    let mut run = spawn(&site, "bulkbuild");
    wait_building(&site, &mut run);
    run.kill().unwrap();
    run.wait().unwrap();
    // The phases hear of the driver's death and stop what they started.
    wait_for("the phases to stop", || survivors(&site).is_empty());
    assert!(lock_is_free(&site));

    let o = site.run("bulkbuild-restart", &[]);
    assert!(o.status.success(), "restart:\n{}", show(&o));
    assert_undisturbed(&site, &site.path("packages/All"));
}

/// Run `script` (sh) in a private mount namespace with the site's
/// environment; `None` (after saying so) where that cannot be done here.
fn in_mount_namespace(site: &Site, script: &str) -> Option<Output> {
    let probe = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "true"])
        .output();
    if !probe.is_ok_and(|o| o.status.success()) {
        common::skip(
            "the full and read-only file system tests",
            "no private mount namespace here (needs root and unshare)",
        );
        return None;
    }
    let cmd = site.cmd("bulkbuild");
    let program = cmd.get_program().to_owned();
    let bin = Path::new(&program).parent().unwrap().to_path_buf();
    let o = Command::new("unshare")
        .args([
            "--mount",
            "--propagation",
            "private",
            "/bin/sh",
            "-c",
            script,
        ])
        .envs(cmd.get_envs().filter_map(|(k, v)| Some((k, v?))))
        .env_remove("MAKEFLAGS")
        .env_remove("MAKELEVEL")
        .env("BIN", bin)
        .env("SITE", site.path(""))
        .stdin(Stdio::null())
        .output()
        .unwrap();
    Some(o)
}

/// The host-failure line of a stopped build: one line, naming the cause
/// and a package of the tree.
fn host_failure_line(o: &Output, cause: &str) -> String {
    let err = text(&o.stderr);
    let lines: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("build host failure"))
        .collect();
    assert_eq!(lines.len(), 1, "one host-failure line:\n{}", show(o));
    let line = lines[0].to_string();
    assert!(line.contains(cause), "the line names {cause:?}: {line}");
    assert!(
        OUTCOME
            .iter()
            .any(|(n, _)| line.contains(&format!(": {n}: "))),
        "the line names the package: {line}"
    );
    println!("{line}");
    line
}

#[test]
fn a_full_packages_file_system_is_no_package_failure_and_a_restart_completes() {
    let site = Site::new("");
    // Room for a few packages only; after the first run the file system
    // grows ("space is freed") and the restart runs in the same namespace,
    // whose packages are copied out before it ends.
    let script = r#"
        set -u
        mkdir -p "$SITE/packages"
        mount -t tmpfs -o size=48k tmpfs "$SITE/packages" || exit 99
        "$BIN/bulkbuild" > "$SITE/first.out" 2> "$SITE/first.err"
        echo $? > "$SITE/first.status"
        cp "$SITE/bulklog/meta/error" "$SITE/first.error" 2>/dev/null
        mount -o remount,size=64m "$SITE/packages" || exit 98
        "$BIN/bulkbuild-restart" > "$SITE/second.out" 2>&1
        echo $? > "$SITE/second.status"
        mkdir -p "$SITE/packages.out" && cp -R "$SITE/packages/." "$SITE/packages.out/"
        umount "$SITE/packages"
    "#;
    let Some(o) = in_mount_namespace(&site, script) else {
        return;
    };
    assert!(o.status.success(), "{}", show(&o));
    let first = Output {
        status: o.status,
        stdout: fs::read(site.path("first.out")).unwrap(),
        stderr: fs::read(site.path("first.err")).unwrap(),
    };
    assert_eq!(site.read("first.status").trim(), "75", "{}", show(&first));
    host_failure_line(&first, "No space left on device");
    // Only packages that really fail were logged as failed.
    for name in site.lines("first.error") {
        assert!(
            expected("failed").contains(&name),
            "{name} logged failed:\n{}",
            show(&first)
        );
    }
    assert_eq!(
        site.read("second.status").trim(),
        "0",
        "{}",
        site.read("second.out")
    );
    assert_undisturbed(&site, &site.path("packages.out/All"));
}

#[test]
fn a_read_only_packages_all_stops_the_build_without_failures() {
    let site = Site::new("");
    let script = r#"
        mkdir -p "$SITE/packages/All"
        mount -t tmpfs -o ro,size=64k tmpfs "$SITE/packages/All" || exit 99
        "$BIN/bulkbuild"
        echo "status $?" >&2
        umount "$SITE/packages/All"
    "#;
    let Some(o) = in_mount_namespace(&site, script) else {
        return;
    };
    assert!(text(&o.stderr).contains("status 75"), "{}", show(&o));
    host_failure_line(&o, "Read-only file system");
    assert!(!text(&o.stderr).contains("can't cd"), "{}", show(&o));
    assert_eq!(site.read("bulklog/meta/error"), "", "no failure logged");
}

#[test]
fn a_missing_pkg_add_stops_the_build_without_failures() {
    let site = Site::new("pkg_add=/nonexistent/pkg_add\n");
    let o = site.run("bulkbuild", &[]);
    assert_eq!(o.status.code(), Some(75), "{}", show(&o));
    host_failure_line(&o, "pkg_add=/nonexistent/pkg_add");
    assert_eq!(site.read("bulklog/meta/error"), "", "no failure logged");
    assert!(site.read("bulklog/meta/success").is_empty());
}

#[test]
fn a_limited_build_of_only_prefailed_packages_is_reported() {
    let site = Site::new("");
    let list = site.path("limited");
    fs::write(&list, "misc/broken\nmisc/skipped\n").unwrap();
    let conf = fs::read_to_string(site.conf()).unwrap();
    fs::write(
        site.conf(),
        format!("{conf}limited_list={}\n", list.display()),
    )
    .unwrap();
    let o = site.run("bulkbuild", &[]);
    assert!(o.status.success(), "{}", show(&o));
    let st: Vec<(String, String)> = site.statuses().into_iter().collect();
    assert_eq!(
        st,
        [("broken-1.0", "prefailed"), ("skipped-1.0", "prefailed")]
            .map(|(a, b)| (a.to_string(), b.to_string()))
    );
    assert!(site.meta("report.html").is_file(), "the report");
    assert!(site.meta("report.txt").is_file(), "the report");
}
