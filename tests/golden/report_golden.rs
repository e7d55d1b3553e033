//! The report generators against the golden files of the original awk
//! scripts (one-true-awk, LC_ALL=C) for the report-A scenario: every output
//! must be byte-identical.

use crate::support::common;

use std::path::Path;
use std::process::Command;

/// The report-A inputs: `meta/` with presolve, pbuild, error, success and
/// status; `log/` with build.log and pre-clean.log for every error package.
fn setup(dir: &Path) {
    let data = common::data();
    let meta = dir.join("meta");
    std::fs::create_dir_all(&meta).unwrap();
    common::unzstd_to(&data.join("presolve.zst"), &meta, "presolve");
    common::unzstd_to(&data.join("golden/build-A/report.zst"), &meta, "pbuild");
    common::unzstd_to(&data.join("golden/build-A/error.zst"), &meta, "error");
    common::unzstd_to(&data.join("golden/build-A/success.zst"), &meta, "success");
    std::fs::copy(data.join("golden/report-A/status"), meta.join("status")).unwrap();
    let errors = std::fs::read_to_string(meta.join("error")).unwrap();
    for pkg in errors.lines() {
        let d = dir.join("log").join(pkg);
        std::fs::create_dir_all(&d).unwrap();
        std::fs::write(d.join("build.log"), "build failed\n").unwrap();
        std::fs::write(d.join("pre-clean.log"), "cleaned\n").unwrap();
    }
}

fn run(prog: &str, args: &[&Path]) {
    let out = Command::new(common::bin(prog)).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "{prog} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Compare byte for byte; on mismatch name the first differing line.
fn assert_same(what: &str, got: &[u8], want: &[u8]) {
    if got == want {
        return;
    }
    let g: Vec<&[u8]> = got.split(|&b| b == b'\n').collect();
    let w: Vec<&[u8]> = want.split(|&b| b == b'\n').collect();
    let n = g
        .iter()
        .zip(&w)
        .position(|(a, b)| a != b)
        .unwrap_or(g.len().min(w.len()));
    let show = |v: &Vec<&[u8]>| v.get(n).map(|l| String::from_utf8_lossy(l).into_owned());
    panic!(
        "{what} differs from the golden file at line {}:\n  got:  {:?}\n  want: {:?}\n  ({} vs {} lines)",
        n + 1,
        show(&g),
        show(&w),
        g.len(),
        w.len()
    );
}

fn golden(name: &str) -> Vec<u8> {
    common::unzstd(
        &common::data()
            .join("golden/report-A")
            .join(format!("{name}.zst")),
    )
}

#[test]
fn report_files_match_the_goldens() {
    let tmp = tempfile::tempdir().unwrap();
    setup(tmp.path());
    let meta = tmp.path().join("meta");
    let log = tmp.path().join("log");

    run("create-report", &[&meta]);
    assert_same(
        "report",
        &std::fs::read(meta.join("report")).unwrap(),
        &golden("report"),
    );

    run("create-report-txt", &[&meta]);
    assert_same(
        "report.txt",
        &std::fs::read(meta.join("report.txt")).unwrap(),
        &golden("report.txt"),
    );

    run("create-report-html", &[&meta, &log]);
    assert_same(
        "report.html",
        &std::fs::read(meta.join("report.html")).unwrap(),
        &golden("report.html"),
    );

    run("create-broken-graph", &[&meta]);
    assert_same(
        "report.dot",
        &std::fs::read(meta.join("report.dot")).unwrap(),
        &golden("report.dot"),
    );

    // No temporary file is left behind (the scripts used meta/tmp_sort).
    let mut names: Vec<String> = std::fs::read_dir(&meta)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "error",
            "pbuild",
            "presolve",
            "report",
            "report-timeline.html",
            "report.dot",
            "report.html",
            "report.txt",
            "status",
            "success"
        ]
    );
}

#[test]
fn compute_packages_lists_unrestricted_successes() {
    use std::collections::{HashMap, HashSet};
    let tmp = tempfile::tempdir().unwrap();
    let data = common::data();
    let meta = tmp.path();
    common::unzstd_to(&data.join("presolve.zst"), meta, "presolve");
    common::unzstd_to(&data.join("golden/build-A/success.zst"), meta, "success");
    let out = Command::new(common::bin("compute-packages"))
        .arg(meta)
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();

    // The expectation, computed independently: NO_BIN_ON_FTP packages and
    // everything depending on them, transitively, are restricted.
    let presolve = std::fs::read_to_string(meta.join("presolve")).unwrap();
    let mut cur = "";
    let mut seeds = Vec::new();
    let mut rdeps: HashMap<&str, Vec<&str>> = HashMap::new();
    let mut cats: HashMap<&str, &str> = HashMap::new();
    for l in presolve.lines() {
        if let Some(n) = l.strip_prefix("PKGNAME=") {
            cur = n;
        } else if let Some(v) = l.strip_prefix("NO_BIN_ON_FTP=") {
            if !v.is_empty() {
                seeds.push(cur);
            }
        } else if let Some(v) = l.strip_prefix("DEPENDS=") {
            for d in v.split_whitespace() {
                rdeps.entry(d).or_default().push(cur);
            }
        } else if let Some(v) = l.strip_prefix("CATEGORIES=") {
            cats.insert(cur, v);
        }
    }
    let mut restricted = HashSet::new();
    while let Some(p) = seeds.pop() {
        if restricted.insert(p) {
            seeds.extend(rdeps.get(p).into_iter().flatten());
        }
    }
    let success = std::fs::read_to_string(meta.join("success")).unwrap();
    let mut want: Vec<String> = Vec::new();
    let mut dirs = HashSet::new();
    for pkg in success.lines().filter(|p| !restricted.contains(p)) {
        let mut c: Vec<&str> = cats
            .get(pkg)
            .map_or(vec![], |v| v.split_whitespace().collect());
        c.push("All");
        for cat in c {
            if dirs.insert(cat) {
                want.push(format!("+ {cat}/"));
            }
            want.push(format!("+ {cat}/{pkg}.tgz"));
        }
    }
    let mut got: Vec<String> = text.lines().map(str::to_string).collect();
    assert!(
        restricted.len() > 202,
        "the closure grows beyond the 202 direct ones"
    );
    assert!(got.len() > 26_000);
    got.sort();
    want.sort();
    assert_eq!(got.len(), want.len());
    assert!(
        got == want,
        "compute-packages output differs from the independent computation"
    );
}
