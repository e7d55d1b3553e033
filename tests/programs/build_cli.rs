//! pbulk-build on small synthetic trees: options and usage, load errors,
//! the cycle report, states and propagation, log replay, the `-v` lines,
//! how the build script is run, `-j` and SIGTERM.

use crate::support::common;

use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use common::bin;

const USAGE: &str = "usage: pbulk-build -s <master>
usage: pbulk-build [ -v ] -c <master> -b <build script>
usage: pbulk-build [ -v ] [ -I <start> ] [ -r <report> ] [ -H <history> ] -m <port> <tree scan> <success file> <error file>
usage: pbulk-build [ -v ] [ -j <slots> ] [ -H <history> ] [ -S <sandbox dir> [ -P <path> ] ] [ -r <report> ] -b <build script> <tree scan> <success file> <error file>
";

fn rec(name: &str, deps: &str) -> String {
    let mut r =
        format!("PKGNAME={name}\nPKG_LOCATION=cat/{name}\nPKG_SKIP_REASON=\nPKG_FAIL_REASON=\n");
    if !deps.is_empty() {
        r.push_str(&format!("DEPENDS={deps}\n"));
    }
    r
}

struct Tree {
    dir: tempfile::TempDir,
}

impl Tree {
    /// A scratch directory with `presolve` and a build script `b.sh` that
    /// fails the packages named in `fail` (a `case` pattern).
    fn new(presolve: &str, fail: &str) -> Tree {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("presolve"), presolve).unwrap();
        let script = format!(
            "#!/bin/sh\nIFS= read -r l\nn=${{l#PKGNAME=}}\necho \"$n\" >> ledger\n\
             case \"$n\" in {fail}) exit 1;; esac\nexit 0\n"
        );
        let t = Tree { dir };
        t.script("b.sh", &script);
        t
    }

    fn path(&self, f: &str) -> PathBuf {
        self.dir.path().join(f)
    }

    fn script(&self, name: &str, text: &str) {
        use std::os::unix::fs::PermissionsExt;
        let p = self.path(name);
        std::fs::write(&p, text).unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    fn read(&self, f: &str) -> String {
        std::fs::read_to_string(self.path(f)).unwrap_or_default()
    }

    fn run(&self, args: &[&str]) -> Output {
        Command::new(bin("pbulk-build"))
            .args(args)
            .current_dir(self.dir.path())
            .output()
            .unwrap()
    }

    fn build(&self, extra: &[&str]) -> Output {
        let mut args = vec!["-r", "report", "-b", "b.sh"];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["presolve", "success", "error"]);
        self.run(&args)
    }
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn run_args(args: &[&str]) -> Output {
    Command::new(bin("pbulk-build"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn usage_and_mode_validation_follow_the_reference_order() {
    for args in [
        &[][..],
        &["a", "b", "c"],
        &["-b", "x", "a", "b"],
        &["-s", "h", "extra"],
        &["-c", "h"],
    ] {
        let out = run_args(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&out.stderr), USAGE, "{args:?}");
    }
    let out = run_args(&["-c", "h", "-m", "p", "-b", "x"]);
    assert_eq!(
        text(&out.stderr),
        format!("pbulk-build: Only one of client mode, statistic mode or master mode can be active\n{USAGE}")
    );
    let out = run_args(&["-x"]);
    assert_eq!(
        text(&out.stderr),
        format!("pbulk-build: invalid option -- 'x'\n{USAGE}")
    );
    // Past the reference's checks each mode goes to work: the clients try
    // to connect, the master first loads its input.
    for (args, last) in [
        (
            &["-s", "h"][..],
            "pbulk-build: Could not create connection to h",
        ),
        (
            &["-c", "h", "-b", "x"],
            "pbulk-build: Could not create connection to h",
        ),
        (
            &["-m", "p", "a", "b", "c"],
            "pbulk-build: Cannot open input: No such file or directory",
        ),
    ] {
        let out = run_args(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert_eq!(err.lines().last(), Some(last), "{args:?}: {err}");
    }
    let out = run_args(&["--help"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(text(&out.stderr).contains("-j <slots>") && text(&out.stderr).ends_with(USAGE));
}

#[test]
fn load_errors_name_what_is_wrong() {
    let cases = [
        (
            rec("aaaa-1", "nope-1"),
            "pbulk-build: Dependency `nope-1' doesn't exist\n",
        ),
        (
            "PKGNAME=abc\nPKG_SKIP_REASON=\n".to_string(),
            "pbulk-build: Invalid input: presolve, line 1: \
             a PKGNAME too short, with a blank or without newline\n",
        ),
        (
            "PKGNAME=abcd-1\nPKG_SKIP_REASON=".to_string(),
            "pbulk-build: Invalid input: presolve, line 2: the last line has no newline\n",
        ),
        (
            "PKGNAME=abcd-1\nPKG_FAIL_REASON=\n".to_string(),
            "pbulk-build: Invalid scan output\n",
        ),
        (
            "PKGNAME=ab\0cd\n".to_string(),
            "pbulk-build: Invalid input (NUL character found): presolve, line 1\n",
        ),
    ];
    for (input, want) in cases {
        let t = Tree::new(&input, "none");
        let out = t.build(&[]);
        assert_eq!(out.status.code(), Some(1), "{input:?}");
        assert_eq!(text(&out.stderr), want, "{input:?}");
    }
    let t = Tree::new(&rec("aaaa-1", ""), "none");
    let out = t.run(&["-b", "b.sh", "missing", "s", "e"]);
    assert_eq!(
        text(&out.stderr),
        "pbulk-build: Cannot open input: No such file or directory\n"
    );
}

#[test]
fn cycle_is_printed_like_the_reference() {
    let input = [
        rec("base-1", ""),
        rec("loop-a-1", "base-1 loop-b-1"),
        rec("loop-b-1", "loop-a-1"),
    ]
    .concat();
    let t = Tree::new(&input, "none");
    let out = t.build(&[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "Cyclic dependency for package:\nloop-a-1\nloop-b-1\nloop-a-1\n"
    );
    assert_eq!(t.read("ledger"), "");
}

/// base <- mid <- top; base <- other; skip (prefailed) <- user; dup twice.
fn sample() -> String {
    [
        rec("top-1", "mid-1"),
        rec("base-1", ""),
        rec("mid-1", "base-1"),
        rec("other-1", "base-1 base-1"),
        "PKGNAME=skip-1\nPKG_SKIP_REASON=not here\nPKG_FAIL_REASON=\n".to_string(),
        rec("user-1", "skip-1 base-1"),
        rec("dup-1", ""),
        "PKGNAME=dup-1\nPKG_SKIP_REASON=\nPKG_FAIL_REASON=broken\n".to_string(),
        rec("leaf-1", "dup-1"),
    ]
    .concat()
}

#[test]
fn states_order_logs_and_verbose_lines() {
    let t = Tree::new(&sample(), "mid-1");
    let out = t.build(&["-v"]);
    assert_eq!(text(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(t.read("ledger"), "base-1\nmid-1\ndup-1\nother-1\n");
    assert_eq!(t.read("success"), "base-1\ndup-1\nother-1\n");
    assert_eq!(t.read("error"), "mid-1\n");
    // Depth = 1 + transitive dependents; the second dup-1 wins lookups, so
    // leaf-1 hangs below the prefailed one and the first dup-1 is a leaf.
    assert_eq!(
        t.read("report"),
        "top-1|indirect-failed||1\nbase-1|done||5\nmid-1|failed||2\nother-1|done||1\n\
         skip-1|prefailed||2\nuser-1|indirect-prefailed||1\ndup-1|done||1\n\
         dup-1|prefailed||2\nleaf-1|indirect-prefailed||1\n"
    );
    // The counter is the number of jobs not waiting; a failure's line is
    // printed before it breaks its dependents; depth ties are FIFO.
    assert_eq!(
        text(&out.stdout),
        "Initialisation complete.\n\
         [5/9] Starting build of  base-1\n[5/9] Successfully built base-1\n\
         [6/9] Starting build of  mid-1\n[6/9] Failed to build    mid-1\n\
         [8/9] Starting build of  dup-1\n[8/9] Successfully built dup-1\n\
         [9/9] Starting build of  other-1\n[9/9] Successfully built other-1\n"
    );
}

#[test]
fn restart_replays_success_then_error_log() {
    let t = Tree::new(&sample(), "none");
    std::fs::write(t.path("success"), "base-1\nmid-1\nskip-1\n").unwrap();
    std::fs::write(t.path("error"), "mid-1\n").unwrap();
    let out = t.build(&["-v"]);
    assert_eq!(text(&out.stderr), "");
    // Replayed jobs are neither rebuilt nor logged again; the error log
    // overrides the success log; a prefailed job in the success log is done.
    assert_eq!(t.read("ledger"), "other-1\ndup-1\n");
    assert_eq!(t.read("success"), "base-1\nmid-1\nskip-1\nother-1\ndup-1\n");
    assert_eq!(t.read("error"), "mid-1\n");
    let report = t.read("report");
    assert!(report.starts_with("top-1|indirect-failed||1\nbase-1|done||5\nmid-1|failed||2\n"));
    assert!(report.contains("skip-1|done||2\nuser-1|indirect-prefailed||1\n"));
    assert!(text(&out.stdout)
        .starts_with("Initialisation complete.\n[8/9] Starting build of  other-1\n"));

    for (success, error, want) in [
        (
            "nope-1\n",
            "",
            "pbulk-build: Package from successful build log doesn't exist: nope-1\n",
        ),
        (
            "",
            "base-1\n\n",
            "pbulk-build: Package from failing build log doesn't exist: \n",
        ),
        (
            "base-1",
            "",
            "pbulk-build: Invalid input: success, line 1: the last line has no newline\n",
        ),
    ] {
        let t = Tree::new(&sample(), "none");
        std::fs::write(t.path("success"), success).unwrap();
        std::fs::write(t.path("error"), error).unwrap();
        let out = t.build(&[]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(text(&out.stderr), want);
        assert_eq!(t.read("ledger"), "");
    }
}

#[test]
fn nothing_buildable_still_writes_the_report() {
    let t = Tree::new(
        "PKGNAME=skip-1\nPKG_SKIP_REASON=x\nPKG_FAIL_REASON=\n",
        "none",
    );
    let out = t.build(&["-v"]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(text(&out.stdout), "Initialisation complete.\n");
    assert_eq!(t.read("report"), "skip-1|prefailed||1\n");
    assert!(t.path("success").exists() && t.path("error").exists());
}

#[test]
fn script_gets_basename_no_arguments_and_the_record() {
    // A shell run with no arguments reads its commands from stdin, so the
    // record itself reports argv[0] and the argument count.
    let probe = "PROBE=1; echo \"$0|$#\" >> args\n";
    let input = format!(
        "{}{probe}{}{probe}",
        rec("base-1", ""),
        rec("top-1", "base-1")
    );
    let t = Tree::new(&input, "none");
    std::fs::create_dir(t.path("sub")).unwrap();
    std::os::unix::fs::symlink("/bin/sh", t.path("sub/probe")).unwrap();
    let out = t.run(&["-b", "sub/probe", "presolve", "s", "e"]);
    assert_eq!(text(&out.stderr), "");
    assert_eq!(t.read("args"), "probe|0\nprobe|0\n");
    assert_eq!(t.read("s"), "base-1\ntop-1\n");
    t.script(
        "cat.sh",
        "#!/bin/sh\ncat > got.$$\nmv got.$$ \"$(head -1 got.$$ | cut -c9-).rec\"\n",
    );
    t.run(&["-b", "cat.sh", "presolve", "s1", "e1"]);
    assert_eq!(
        t.read("top-1.rec"),
        format!("{}{probe}", rec("top-1", "base-1"))
    );

    // Without a slash the path is relative to the working directory, never
    // searched in PATH; a script that cannot be run is a failed build.
    let out = Command::new(bin("pbulk-build"))
        .args(["-b", "true", "presolve", "s2", "e2"])
        .current_dir(t.dir.path())
        .env("PATH", "/bin:/usr/bin")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(t.read("e2"), "base-1\n");
    assert_eq!(t.read("s2"), "");
}

#[test]
fn a_script_that_does_not_read_its_record_is_judged_by_exit_status() {
    let big = "X".repeat(1 << 20);
    let input = format!("{}BIG={big}\n{}", rec("early-1", ""), rec("late-1", ""));
    let t = Tree::new(&input, "none");
    t.script("quit.sh", "#!/bin/sh\nexit 0\n");
    let out = t.run(&["-b", "quit.sh", "presolve", "s", "e"]);
    assert_eq!(text(&out.stderr), "");
    assert_eq!(t.read("s"), "early-1\nlate-1\n");
    t.script("sig.sh", "#!/bin/sh\nkill -TERM $$\n");
    t.run(&["-b", "sig.sh", "presolve", "s3", "e3"]);
    assert_eq!(t.read("e3"), "early-1\nlate-1\n");
}

#[test]
fn verbose_twice_prefixes_the_local_minute() {
    let t = Tree::new(&rec("only-1", ""), "none");
    let out = t.build(&["-vv"]);
    let lines: Vec<String> = text(&out.stdout).lines().map(String::from).collect();
    assert_eq!(lines[0], "Initialisation complete.");
    let l = &lines[1];
    // "YYYY-MM-DD HH:MM [1/1] Starting build of  only-1"
    assert_eq!(&l[16..], " [1/1] Starting build of  only-1", "{l}");
    assert!(l[..16].bytes().enumerate().all(|(i, b)| match i {
        4 | 7 => b == b'-',
        10 => b == b' ',
        13 => b == b':',
        _ => b.is_ascii_digit(),
    }));
}

#[test]
fn weights_make_the_priority_a_weighted_sum() {
    let input = format!(
        "{}PBULK_WEIGHT=300\n{}{}",
        rec("base-1", ""),
        rec("a-1x", "base-1"),
        rec("b-1x", "base-1")
    );
    let t = Tree::new(&input, "none");
    t.build(&[]);
    assert_eq!(
        t.read("report"),
        "base-1|done||500\na-1x|done||100\nb-1x|done||100\n"
    );
}

/// Packages `p00`..: a wide tree where `-j 3` keeps three scripts busy.
fn wide(n: usize) -> String {
    let mut s = rec("root-1", "");
    for i in 0..n {
        s.push_str(&rec(&format!("p{i:02}-1"), "root-1"));
    }
    s
}

#[test]
fn slots_run_builds_at_once_and_record_history() {
    let t = Tree::new(&wide(6), "none");
    t.script(
        "slow.sh",
        "#!/bin/sh\nIFS= read -r l\necho start >> events\nsleep 0.3\necho end >> events\n",
    );
    let start = Instant::now();
    let out = t.run(&[
        "-j", "3", "-H", "hist", "-r", "report", "-b", "slow.sh", "presolve", "s", "e",
    ]);
    assert_eq!(text(&out.stderr), "");
    let took = start.elapsed();
    // Seven builds of 0.3 s: 1 + 2 rounds of three, not seven in a row.
    assert!(took < Duration::from_millis(1900), "{took:?}");
    let events = t.read("events");
    let max_running = events
        .lines()
        .scan(0i32, |n, l| {
            *n += if l == "start" { 1 } else { -1 };
            Some(*n)
        })
        .max();
    assert_eq!(max_running, Some(3));
    assert_eq!(t.read("s").lines().count(), 7);
    let hist = t.read("hist");
    assert_eq!(hist.lines().filter(|l| !l.starts_with('#')).count(), 7);
    assert!(hist.lines().any(|l| l.starts_with("root-1\t")));
    let out = t.run(&["-j", "0", "-b", "slow.sh", "presolve", "s", "e"]);
    assert_eq!(
        text(&out.stderr),
        "pbulk-build: Invalid number of build slots: 0\n"
    );
}

#[test]
fn critical_path_from_history_orders_the_slots() {
    // chain-1 <- chain-2 <- chain-3 is long by history; many short leaves
    // have a higher reference depth through fan-in.
    let mut input = rec("chain-1", "");
    input.push_str(&rec("chain-2", "chain-1"));
    input.push_str(&rec("chain-3", "chain-2"));
    input.push_str(&rec("hub-1", ""));
    for i in 0..5 {
        input.push_str(&rec(&format!("leaf-{i}"), "hub-1"));
    }
    let t = Tree::new(&input, "none");
    let mut hist = String::from("# history\n");
    for (n, ms) in [
        ("chain-1", 9000),
        ("chain-2", 9000),
        ("chain-3", 9000),
        ("hub-1", 10),
    ] {
        hist.push_str(&format!("{n}\t{ms}\n"));
    }
    std::fs::write(t.path("hist"), hist).unwrap();
    // Both roots start at once; the one started first is the longer path.
    let out = t.build(&["-v", "-j", "2", "-H", "hist"]);
    let first = text(&out.stdout).lines().nth(1).map(String::from);
    assert_eq!(first.as_deref(), Some("[1/9] Starting build of  chain-1"));
    // One slot keeps the reference order (hub-1 has the higher depth).
    let t1 = Tree::new(&input, "none");
    std::fs::copy(t.path("hist"), t1.path("hist")).unwrap();
    t1.build(&["-H", "hist"]);
    assert!(
        t1.read("ledger").starts_with("hub-1\n"),
        "{}",
        t1.read("ledger")
    );
}

/// Two builds that start a `sleep 30` each and wait, after root-1; the
/// program in a process group of its own when `own_group`.
fn start_hanging_builds(own_group: bool) -> (Tree, std::process::Child) {
    let t = Tree::new(&wide(3), "none");
    t.script(
        "hang.sh",
        "#!/bin/sh\nIFS= read -r l\ncase \"$l\" in *root*) exit 0;; esac\n\
         sleep 30 & echo $! >> sleepers\nwait\n",
    );
    let mut cmd = Command::new(bin("pbulk-build"));
    cmd.args(["-j", "2", "-b", "hang.sh", "presolve", "s", "e"])
        .current_dir(t.dir.path())
        .stderr(Stdio::piped());
    if own_group {
        cmd.process_group(0);
    }
    let child = cmd.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    while t.read("sleepers").lines().count() < 2 {
        assert!(Instant::now() < deadline, "builds did not start");
        std::thread::sleep(Duration::from_millis(20));
    }
    (t, child)
}

/// Every `sleep` the builds started is gone within `secs` (a zombie
/// waiting for its new parent to reap it counts as gone).
fn assert_sleepers_gone(t: &Tree, secs: u64, what: &str) {
    for pid in t.read("sleepers").lines() {
        let gone = || {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            stat.is_empty() || stat.rsplit(')').next().is_some_and(|r| r.starts_with(" Z"))
        };
        let deadline = Instant::now() + Duration::from_secs(secs);
        while !gone() {
            assert!(Instant::now() < deadline, "sleep {pid} survived {what}");
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

#[test]
fn sigterm_stops_running_builds_without_logging_them() {
    let (t, mut child) = start_hanging_builds(false);
    let start = Instant::now();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(start.elapsed() < Duration::from_secs(5));
    assert_eq!(status.code(), Some(128 + 15));
    assert_eq!(t.read("s"), "root-1\n");
    assert_eq!(t.read("e"), "");
    // The scripts' children went with their process group.
    assert_sleepers_gone(&t, 2, "SIGTERM");
}

#[test]
fn report_through_a_symlink_and_logs_that_are_not_files() {
    let t = Tree::new(
        "PKGNAME=skip-1\nPKG_SKIP_REASON=x\nPKG_FAIL_REASON=\n",
        "none",
    );
    std::os::unix::fs::symlink("real", t.path("link")).unwrap();
    let out = t.run(&["-r", "link", "-b", "b.sh", "presolve", "s", "e"]);
    assert_eq!(out.status.code(), Some(0));
    assert!(std::fs::symlink_metadata(t.path("link"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(t.read("real"), "skip-1|prefailed||1\n");
    let out = t.run(&["-b", "b.sh", "presolve", "s", "/dev/null"]);
    assert_eq!(
        text(&out.stderr),
        "pbulk-build: Input is not regular file\n"
    );
    let out = t.run(&["-b", "b.sh", ".", "s", "e"]);
    assert_eq!(
        text(&out.stderr),
        "pbulk-build: Input is not regular file\n"
    );
}

#[test]
fn a_group_kill_of_pbulk_build_takes_its_builds_along() {
    // As with the original, whose scripts share its process group: SIGKILL
    // to pbulk-build's group must leave no build running (a restart would
    // build beside it in the same prefix).
    let (t, mut child) = start_hanging_builds(true);
    let pgid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::killpg(pgid, nix::sys::signal::SIGKILL).unwrap();
    child.wait().unwrap();
    assert_sleepers_gone(&t, 5, "the group kill");
    assert_eq!(t.read("s"), "root-1\n");
}
