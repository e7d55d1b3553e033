//! The generators' answers to bad invocations and missing inputs: one
//! line on stderr naming the problem, non-zero status, no output file.

use crate::support::common;

use std::process::Command;

#[test]
fn missing_inputs_are_named() {
    let tmp = tempfile::tempdir().unwrap();
    for prog in [
        "create-report",
        "create-report-txt",
        "create-broken-graph",
        "compute-packages",
    ] {
        let out = Command::new(common::bin(prog))
            .arg(tmp.path())
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(1), "{prog}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{prog}: {err}");
        assert!(
            err.starts_with(&format!("{prog}: cannot read {}/", tmp.path().display())),
            "{prog}: {err}"
        );
        assert!(
            err.trim_end().ends_with("No such file or directory"),
            "{prog}: {err}"
        );
    }
    let out = Command::new(common::bin("create-report-html"))
        .arg(tmp.path())
        .arg(tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(
        std::fs::read_dir(tmp.path()).unwrap().next().is_none(),
        "nothing written"
    );
}

#[test]
fn wrong_argument_counts_print_usage() {
    let out = Command::new(common::bin("create-report")).output().unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "usage: create-report <metadir>\n"
    );
    let out = Command::new(common::bin("create-report-html"))
        .arg("x")
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "usage: create-report-html <metadir> <logdir>\n"
    );
    let out = Command::new(common::bin("create-broken-graph"))
        .arg("--help")
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    assert!(
        String::from_utf8_lossy(&out.stderr).ends_with("usage: create-broken-graph <metadir>\n")
    );
}

#[test]
fn an_unwritable_meta_dir_keeps_the_old_report() {
    let tmp = tempfile::tempdir().unwrap();
    let meta = tmp.path();
    std::fs::write(meta.join("presolve"), "PKGNAME=a-1\n").unwrap();
    std::fs::write(meta.join("pbuild"), "a-1|done||1\n").unwrap();
    std::fs::write(meta.join("report"), "old\n").unwrap();
    // The report file is replaced by rename, never rewritten in place: a
    // generator that fails before the rename leaves the old one.
    std::fs::remove_file(meta.join("presolve")).unwrap();
    let out = Command::new(common::bin("create-report"))
        .arg(meta)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        std::fs::read_to_string(meta.join("report")).unwrap(),
        "old\n"
    );
    std::fs::write(meta.join("presolve"), "PKGNAME=a-1\n").unwrap();
    let out = Command::new(common::bin("create-report"))
        .arg(meta)
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        std::fs::read_to_string(meta.join("report")).unwrap(),
        "PKGNAME=a-1\nPKG_DEPTH=1\nBUILD_STATUS=done\n"
    );
}
