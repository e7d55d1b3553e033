//! pbulk-scan in local mode on fake pkgsrc trees (a stand-in make answers
//! from files): command line, tree discovery, output format and warnings,
//! `-v` counters, `-l` lists, `-j` determinism.

use crate::support::common;
use crate::support::scan_fake;

use scan_fake::{record, scanned, text, Tree};

const USAGE: &str = "usage: pbulk-scan -c <master> [ -v ] [ -j <procs> ] -M <make> <pkgsrc tree>\n\
usage: pbulk-scan [ -I <start> ] [ -j <procs> ] [ -L <old scan> ] [ -l ] [ -v ]\n                  [ -m <port> ] -M <make> <pksgrc tree> <output file>\n";

fn run(args: &[&str]) -> std::process::Output {
    std::process::Command::new(common::bin("pbulk-scan"))
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn usage_and_validation_order() {
    for args in [
        &[][..],
        &["tree", "out"],
        &["-M", "make", "tree"],
        &["-M", "make", "tree", "out", "extra"],
        &["-c", "host:1", "-l", "-M", "make", "tree"],
        &["-c", "host:1", "-M", "make", "tree", "out"],
    ] {
        let o = run(args);
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&o.stderr), USAGE, "{args:?}");
        assert!(o.stdout.is_empty());
    }
    let o = run(&["-x", "-M", "make", "t", "o"]);
    assert_eq!(
        text(&o.stderr),
        format!("pbulk-scan: unknown option -- x\n{USAGE}")
    );
    let o = run(&["-v", "-M"]);
    assert_eq!(
        text(&o.stderr),
        format!("pbulk-scan: option requires an argument -- M\n{USAGE}")
    );
    let o = run(&["-c", "a:1", "-m", "b:2", "-M", "make", "t", "o"]);
    assert_eq!(
        text(&o.stderr),
        format!("pbulk-scan: Only client mode or master mode can be active\n{USAGE}")
    );
    // -M is checked before the mode conflict.
    let o = run(&["-c", "a:1", "-m", "b:2", "t", "o"]);
    assert_eq!(text(&o.stderr), USAGE);

    // The old scan is loaded (and refused) before the argument count is checked.
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().to_str().unwrap();
    let o = run(&["-L", d, "-M", "make", "tree"]);
    assert_eq!(
        (o.status.code(), text(&o.stderr)),
        (Some(1), "pbulk-scan: Input is not regular file\n".into())
    );
    // ... but not in client mode.
    let o = run(&["-L", d, "-c", "a:b:1", "-M", "make", "tree"]);
    assert_eq!(
        (o.status.code(), text(&o.stderr)),
        (
            Some(1),
            "pbulk-scan: invalid network with colon in host name: a:b:1\n\
             pbulk-scan: Could not create connection to a:b:1\n"
                .into()
        )
    );
    // A master that cannot listen fails before running its start script.
    let o = run(&["-m", "a:b:1", "-I", "/nonexistent", "-M", "make", "t", "o"]);
    assert_eq!(
        (o.status.code(), text(&o.stderr)),
        (
            Some(1),
            "pbulk-scan: invalid network with colon in host name: a:b:1\n\
             pbulk-scan: Could not create listen socket for a:b:1\n"
                .into()
        )
    );

    let o = run(&["--help"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(o.stdout.is_empty());
    assert!(text(&o.stderr).starts_with("pbulk-scan: ") && text(&o.stderr).ends_with(USAGE));
}

/// A tree with two categories, a SUBDIR word holding a `/`, a category
/// whose listing fails and packages that misbehave in every way the writer
/// must survive.
fn awkward_tree() -> (Tree, String) {
    let t = Tree::new();
    t.subdirs("", "cat1 broken\tcat2\nwip/extra\n");
    t.subdirs("cat1", "a b multi\n");
    t.file("broken", "README", b"a category without a SUBDIR answer\n");
    t.subdirs("cat2", "dup fail garbage nul\n  unterminated gone late\n");
    let a = record("a-1.0", "b>=1:../../cat1/b", "/x/Makefile");
    let b = record("b-1.0", "", "");
    let m1 = record("py311-m-1", "", "") + "MULTI_VERSION= PYTHON_VERSION_REQD=311\n";
    let m2 = record("py312-m-1", "", "") + "MULTI_VERSION= PYTHON_VERSION_REQD=312\n";
    let extra = record("extra-2", "", "");
    let late = record("late-1", "", "");
    t.package("cat1/a", &a);
    t.package("cat1/b", &b);
    t.package("cat1/multi", &(m1.clone() + &m2));
    // A duplicate of a-1.0 followed by a new record: only the new one stays.
    let dup_new = record("dupnew-1", "", "");
    t.package("cat2/dup", &(a.clone() + &dup_new));
    t.package("cat2/fail", &record("fail-1", "", ""));
    t.file("cat2/fail", "fail", b"");
    t.package(
        "cat2/garbage",
        &format!("make: noise\n{}", record("garbage-1", "", "")),
    );
    t.file("cat2/nul", "index", b"PKGNAME=nul-1\nX=\0\n");
    t.package(
        "cat2/unterminated",
        &format!("{}PKGNAME=unt-1\nX=1", record("term-1", "", "")),
    );
    t.package("cat2/late", &late);
    t.package("wip/extra", &extra);
    let expected = [
        scanned(&a, "cat1/a"),
        scanned(&b, "cat1/b"),
        scanned(&m1, "cat1/multi"),
        scanned(&m2, "cat1/multi"),
        scanned(&dup_new, "cat2/dup"),
        scanned(&record("term-1", "", ""), "cat2/unterminated"),
        scanned(&late, "cat2/late"),
        scanned(&extra, "wip/extra"),
    ]
    .concat();
    (t, expected)
}

fn awkward_stderr(t: &Tree) -> String {
    format!(
        "pbulk-scan: Cannot extract subdirectories for broken\n\
         Cannot change directory to \"{}/cat2/gone\".\n\
         pbulk-scan: Duplicate package: a-1.0\n\
         pbulk-scan: Scan failed for cat2/fail\n\
         pbulk-scan: pbulk-index output not recognized for cat2/garbage\n\
         pbulk-scan: Scan failed for cat2/nul\n\
         pbulk-scan: pbulk-index output not recognized for cat2/unterminated\n\
         pbulk-scan: Scan failed for cat2/gone\n",
        t.root.display()
    )
}

#[test]
fn full_tree_output_warnings_and_progress() {
    let (t, expected) = awkward_tree();
    let o = t.scan(&["-v"], "pscan");
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&std::fs::read(t.path("pscan")).unwrap()), expected);
    assert_eq!(text(&o.stderr), awkward_stderr(&t));
    assert_eq!(text(&o.stdout), "........... 11/11\n");
    let calls = t.calls();
    assert_eq!(
        calls[..4],
        [
            "show-subdir-var .",
            "show-subdir-var cat1",
            "show-subdir-var broken",
            "show-subdir-var cat2"
        ]
    );
    // The failed chdir never reaches make.
    assert_eq!(calls.len(), 4 + 10);
    assert_eq!(calls[4], "pbulk-index cat1/a");
    assert_eq!(calls.last().unwrap(), "pbulk-index wip/extra");
}

#[test]
fn parallel_scans_write_the_same_bytes() {
    let (t, expected) = awkward_tree();
    // Many more packages with random delays, so completion order differs
    // from job order.
    let mut words = String::new();
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    for i in 0..40 {
        let loc = format!("many/p{i:02}");
        words.push_str(&format!("p{i:02} "));
        t.package(&loc, &record(&format!("p{i:02}-1"), "", ""));
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        t.file(&loc, "delay", format!("0.0{}", seed % 6).as_bytes());
    }
    t.subdirs("many", &words);
    t.subdirs("", "cat1 broken\tcat2\nwip/extra\nmany\n");
    let mut first = None;
    for j in ["1", "2", "4"] {
        let o = t.scan(&["-v", "-j", j], &format!("pscan.{j}"));
        assert_eq!(o.status.code(), Some(0));
        let out = std::fs::read(t.path(&format!("pscan.{j}"))).unwrap();
        assert!(text(&out).starts_with(&expected));
        assert_eq!(
            text(&o.stdout),
            format!("{}. 50/51\n. 51/51\n", ".".repeat(49))
        );
        assert_eq!(text(&o.stderr), awkward_stderr(&t));
        match &first {
            None => first = Some(out),
            Some(f) => assert!(f == &out, "-j {j} differs from -j 1"),
        }
    }
    // All 40 delayed packages ran (none reused, none lost) in every run.
    assert_eq!(
        t.calls()
            .iter()
            .filter(|c| c.starts_with("pbulk-index many/"))
            .count(),
        120
    );
}

#[test]
fn category_listing_failure_of_the_top_level_is_fatal() {
    let t = Tree::new();
    let o = t.scan(&[], "pscan");
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "pbulk-scan: Cannot extract categories: exit status 1\n"
    );
    assert!(!t.path("pscan").exists());
}

#[test]
fn limited_list_from_stdin() {
    let t = Tree::new();
    t.package("x/a", &record("a-1", "", ""));
    t.package("x/b", &record("b-1", "", ""));
    let mut c = t.cmd(&["-l", "-v"]);
    c.arg(&t.root)
        .arg(t.path("pscan"))
        .stdin(std::process::Stdio::piped());
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"# comment\nx/b\n\nx/a\n#x/c\nx/b\n")
        .unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        text(&std::fs::read(t.path("pscan")).unwrap()),
        scanned(&record("b-1", "", ""), "x/b") + &scanned(&record("a-1", "", ""), "x/a")
    );
    assert_eq!(text(&o.stderr), "pbulk-scan: Duplicate package: b-1\n");
    assert_eq!(text(&o.stdout), "... 3/3\n");
    assert_eq!(
        t.calls(),
        ["pbulk-index x/b", "pbulk-index x/a", "pbulk-index x/b"]
    );

    // An unterminated last line is an error, and no output is written.
    let mut c = t.cmd(&["-l"]);
    c.arg(&t.root)
        .arg(t.path("pscan2"))
        .stdin(std::process::Stdio::piped());
    c.stderr(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    child.stdin.take().unwrap().write_all(b"x/a\nx/b").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "pbulk-scan: Incomplete or too long input line\n"
    );
    assert!(!t.path("pscan2").exists());
    assert!(t.calls().is_empty());

    // An empty list writes an empty file; with -v the count line is absent
    // (0 is a multiple of 50, as in the original).
    let o = t
        .cmd(&["-l", "-v"])
        .arg(&t.root)
        .arg(t.path("empty"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(o.stdout.is_empty());
    assert_eq!(std::fs::read(t.path("empty")).unwrap(), b"");
}

#[test]
fn children_inherit_environment_and_run_in_the_package_directory() {
    let t = Tree::new();
    // A make that reports its cwd and an inherited variable as a record.
    let make = t.path("envmake");
    scan_fake::write_exec(&make, "#!/bin/sh\nprintf 'PKGNAME=%s\\nARGS=%s\\nDIR=%s\\n' \"$PBULK_TEST_VAR\" \"$*\" \"$(pwd)\"\n");
    t.file("a/b", "Makefile", b"");
    let mut c = std::process::Command::new(common::bin("pbulk-scan"));
    c.args(["-l", "-M"])
        .arg(&make)
        .arg(&t.root)
        .arg(t.path("out"))
        .env("PBULK_TEST_VAR", "env-1");
    c.stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped());
    let mut child = c.spawn().unwrap();
    use std::io::Write;
    child.stdin.take().unwrap().write_all(b"a/b\n").unwrap();
    let o = child.wait_with_output().unwrap();
    assert_eq!(o.status.code(), Some(0));
    let dir = std::fs::canonicalize(t.root.join("a/b")).unwrap();
    assert_eq!(
        text(&std::fs::read(t.path("out")).unwrap()),
        format!(
            "PKGNAME=env-1\nPKG_LOCATION=a/b\nARGS=pbulk-index\nDIR={}\n",
            dir.display()
        )
    );
}

#[test]
fn output_and_make_problems_are_reported_before_scanning() {
    let t = Tree::new();
    t.subdirs("", "x\n");
    t.subdirs("x", "a\n");
    t.package("x/a", &record("a-1", "", ""));
    let out = t.path("no/such/dir/pscan");
    let o = t.cmd(&[]).arg(&t.root).arg(&out).output().unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        format!(
            "pbulk-scan: Cannot create output file {}: No such file or directory\n",
            out.display()
        )
    );
    assert_eq!(t.calls(), ["show-subdir-var .", "show-subdir-var x"]);

    let o = std::process::Command::new(common::bin("pbulk-scan"))
        .args(["-M", "/nonexistent/make"])
        .arg(&t.root)
        .arg(t.path("pscan"))
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "pbulk-scan: Cannot extract categories: No such file or directory\n"
    );

    // -I without -m is accepted and ignored, as in the original.
    let o = t.scan(&["-I", "/nonexistent/start"], "pscan");
    assert_eq!(o.status.code(), Some(0));
    assert_eq!(
        text(&std::fs::read(t.path("pscan")).unwrap()),
        scanned(&record("a-1", "", ""), "x/a")
    );
}

#[test]
fn output_through_a_symlink_or_to_a_pipe() {
    let t = Tree::new();
    t.subdirs("", "x\n");
    t.subdirs("x", "a\n");
    t.package("x/a", &record("a-1", "", ""));
    let want = scanned(&record("a-1", "", ""), "x/a");
    // A symlink keeps pointing at the (replaced) target.
    std::fs::write(t.path("real"), "old\n").unwrap();
    std::os::unix::fs::symlink(t.path("real"), t.path("link")).unwrap();
    assert_eq!(t.scan(&[], "link").status.code(), Some(0));
    assert!(std::fs::symlink_metadata(t.path("link"))
        .unwrap()
        .file_type()
        .is_symlink());
    assert_eq!(text(&std::fs::read(t.path("real")).unwrap()), want);
    // /dev/stdout on a pipe is written in place.
    let o = t.cmd(&[]).arg(&t.root).arg("/dev/stdout").output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), want);
}
