//! Whole bulk builds of the example tree through the installed programs
//! (`make install-only` into a temporary prefix) with real bmake, in
//! `master_mode=no`: a full build, a limited build, a second run reusing the
//! scan, a rebuild of one package, and a missing tool.

use crate::support::bulk as bulk_support;

use std::collections::BTreeSet;
use std::fs;

use bulk_support::{decompress, expected, sorted, Site, FAILURE_LOGS, OUTCOME};

fn stdout(o: &std::process::Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn assert_ok(o: &std::process::Output, what: &str) {
    assert!(
        o.status.success(),
        "{what} failed ({}):\n--- stdout\n{}\n--- stderr\n{}",
        o.status,
        stdout(o),
        String::from_utf8_lossy(&o.stderr)
    );
}

/// The phase messages a full local run prints, in order.
const PHASE_LINES: &[&str] = &[
    "Scanning...",
    "Resolving...",
    "Building...",
    "Building pkg_summary...",
    "Building SHA512...",
    "Build reports...",
    "Sending report mail...",
    "Uploading report...",
    "Uploading packages...",
];

#[test]
fn full_bulk_build_gives_the_expected_meta_logs_and_packages() {
    let site = Site::new("");
    let out = site.run("bulkbuild", &[]);
    assert_ok(&out, "bulkbuild");

    // Operator messages: every phase line, in the reference order.
    let text = stdout(&out);
    let phase_lines: Vec<&str> = text.lines().filter(|l| PHASE_LINES.contains(l)).collect();
    assert_eq!(phase_lines, PHASE_LINES);

    // meta/: the file set of a finished local run.
    let files: BTreeSet<String> = fs::read_dir(site.meta(""))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    for f in [
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
        "report.txt",
        "report.html",
        "report.dot",
    ] {
        assert!(files.contains(f), "meta/{f} missing; have {files:?}");
    }
    assert!(
        !files.iter().any(|f| f.starts_with('.')),
        "temporary files left in meta: {files:?}"
    );

    // Every package ends as the tree's table says.
    let st = site.statuses();
    let want: std::collections::BTreeMap<String, String> = OUTCOME
        .iter()
        .map(|(n, s)| (n.to_string(), s.to_string()))
        .collect();
    assert_eq!(st, want);
    // The driver's last line: the totals, counted as the status line does.
    let count = |states: &[&str]| st.values().filter(|s| states.contains(&s.as_str())).count();
    assert_eq!(
        text.lines().last().unwrap(),
        format!(
            "Totals: {} packages: {} built, {} failed, {} depending on failed, {} broken/skipped",
            st.len(),
            count(&["done"]),
            count(&["failed"]),
            count(&["indirect-failed"]),
            count(&["prefailed", "indirect-prefailed"]),
        )
    );
    assert_eq!(sorted(site.lines("bulklog/meta/success")), expected("done"));
    assert_eq!(sorted(site.lines("bulklog/meta/error")), expected("failed"));
    let records = site
        .read("bulklog/meta/presolve")
        .lines()
        .filter(|l| l.starts_with("PKGNAME="))
        .count();
    assert_eq!(records, OUTCOME.len());

    // status keys in the reference order.
    let keys: Vec<String> = site
        .lines("bulklog/meta/status")
        .iter()
        .map(|l| l.split('=').next().unwrap().to_string())
        .collect();
    let mut want_keys = vec![
        "PLATFORM",
        "OPSYS",
        "OS_VERSION",
        "MACHINE_ARCH",
        "OS_VARIANT",
        "LOWER_VARIANT_VERSION",
        "COMPILER",
    ];
    if std::path::Path::new("/etc/os-release").exists() {
        want_keys.push("PRETTY_NAME");
    }
    want_keys.extend([
        "BUILD_START_ISO",
        "BUILD_START_DIR",
        "BUILD_START_EPOCHE",
        "BASE_URL",
        "SCAN_END_EPOCHE",
        "BUILD_END_ISO",
        "BUILD_END_EPOCHE",
    ]);
    assert_eq!(keys, want_keys);

    // report.txt counts and the failures in report.html.
    let txt = site.read("bulklog/meta/report.txt");
    for (label, n) in [
        ("Total number of packages:", 40),
        ("  Successfully built:", 27),
        ("  Failed to build:", 5),
        ("  Depending on failed package:", 2),
        ("  Explicitly broken or masked:", 4),
        ("  Depending on masked package:", 2),
    ] {
        assert!(
            txt.contains(&format!("{label:<35}{n:>5}\n")),
            "report.txt lacks {label} {n}:\n{txt}"
        );
    }
    let html = site.read("bulklog/meta/report.html");
    for p in expected("failed") {
        assert!(
            html.contains(&format!("<td>{p}</td>")),
            "report.html lacks {p}"
        );
    }

    // Per-package logs: exactly the failures keep a directory, holding the
    // logs of the steps up to the failing one.
    let mut dirs: Vec<String> = fs::read_dir(site.path("bulklog"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n != "meta" && n != ".pbulk.lock")
        .collect();
    dirs.sort();
    assert_eq!(dirs, expected("failed"));
    for (pkg, logs) in FAILURE_LOGS {
        let mut have: Vec<String> = fs::read_dir(site.path("bulklog").join(pkg))
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        have.sort();
        assert_eq!(have, *logs, "logs of {pkg}");
    }

    // ${packages}/All: the successful packages, their summary and SHA512.
    let all = site.path("packages/All");
    let mut pkgs: Vec<String> = fs::read_dir(&all)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".tgz"))
        .collect();
    pkgs.sort();
    let want_pkgs: Vec<String> = expected("done")
        .iter()
        .map(|n| format!("{n}.tgz"))
        .collect();
    assert_eq!(pkgs, want_pkgs);
    for z in ["gzip", "bzip2"] {
        let file = all.join(if z == "gzip" {
            "pkg_summary.gz"
        } else {
            "pkg_summary.bz2"
        });
        let names: Vec<String> = decompress(z, &file)
            .lines()
            .filter_map(|l| l.strip_prefix("PKGNAME="))
            .map(str::to_string)
            .collect();
        assert_eq!(sorted(names), expected("done"), "{}", file.display());
    }
    let sums = decompress("bzip2", &site.path("packages/SHA512.bz2"));
    let listed: Vec<&str> = sums.lines().collect();
    assert_eq!(listed.len(), want_pkgs.len() + 2);
    for line in listed {
        let (file, hex) = line
            .strip_prefix("SHA512 (")
            .and_then(|l| l.split_once(") = "))
            .unwrap_or_else(|| panic!("bad SHA512 line {line}"));
        let real = std::process::Command::new("sha512sum")
            .arg(site.path("packages").join(file))
            .output()
            .unwrap();
        assert!(
            String::from_utf8_lossy(&real.stdout).starts_with(hex),
            "digest of {file}"
        );
    }
}

#[test]
fn limited_build_scans_and_builds_exactly_the_dependency_closure() {
    let site = Site::new("");
    let list = site.path("limited");
    fs::write(
        &list,
        "# two leaves\nmisc/needs-needs-fail\ndevel/libtop   \n\n",
    )
    .unwrap();
    let text = fs::read_to_string(site.conf()).unwrap();
    fs::write(
        site.conf(),
        format!("{text}limited_list={}\n", list.display()),
    )
    .unwrap();

    let out = site.run("bulkbuild", &[]);
    assert_ok(&out, "bulkbuild (limited)");
    let st = site.statuses();
    let want: Vec<(String, String)> = [
        ("digest-20220214", "done"),
        ("fail-build-1.0", "failed"),
        ("libbase-1.0nb2", "done"),
        ("libmid-2.1", "done"),
        ("libtop-0.9.3", "done"),
        ("needs-fail-build-1.0", "indirect-failed"),
        ("needs-needs-fail-1.0", "indirect-failed"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(st.into_iter().collect::<Vec<_>>(), want);
    // Only the closure's locations were scanned.
    let scanned: BTreeSet<String> = site
        .lines("index-calls")
        .iter()
        .map(|d| {
            d.rsplitn(3, '/')
                .take(2)
                .collect::<Vec<_>>()
                .into_iter()
                .rev()
                .collect::<Vec<_>>()
                .join("/")
        })
        .collect();
    let want_locs: BTreeSet<String> = [
        "devel/libbase",
        "devel/libmid",
        "devel/libtop",
        "misc/fail-build",
        "misc/needs-fail-build",
        "misc/needs-needs-fail",
        "pkgtools/digest",
    ]
    .iter()
    .map(|s| s.to_string())
    .collect();
    assert_eq!(scanned, want_locs);
    assert_eq!(
        site.read("bulklog/meta/missing"),
        "",
        "nothing left unresolved"
    );
}

#[test]
fn second_run_reuses_the_scan_and_the_packages() {
    let site = Site::new("reuse_scan_results=yes\n");
    assert_ok(&site.run("bulkbuild", &[]), "first bulkbuild");
    let pscan = site.read("bulklog/meta/pscan");
    let presolve = site.read("bulklog/meta/presolve");
    let built_first = site.ledger().len();
    assert_eq!(
        built_first,
        expected("done").len() + 1,
        "every success packaged once, plus fail-package"
    );
    fs::remove_file(site.path("index-calls")).unwrap();

    let out = site.run("bulkbuild", &[]);
    assert_ok(&out, "second bulkbuild");
    assert!(
        stdout(&out).contains("Reusing old scan results"),
        "{}",
        stdout(&out)
    );
    assert!(
        stdout(&out).contains("Using old scan results from"),
        "{}",
        stdout(&out)
    );
    assert_eq!(
        site.read("index-calls"),
        "",
        "no make pbulk-index for an unchanged tree"
    );
    assert_eq!(site.read("bulklog/meta/pscan"), pscan);
    assert_eq!(site.read("bulklog/meta/presolve"), presolve);
    // Up-to-date packages are reused, not rebuilt; only the failure that
    // gets as far as packaging packages again.
    assert_eq!(
        site.ledger()[built_first..],
        ["fail-package-1.0".to_string()]
    );
    assert_eq!(sorted(site.lines("bulklog/meta/success")), expected("done"));
    assert!(site.path("bulklog.old/meta/pscan").is_file());
}

#[test]
fn rebuild_of_one_package_leaves_meta_alone() {
    let site = Site::new("");
    site.copy_tree();
    assert_ok(&site.run("bulkbuild", &[]), "bulkbuild");
    let meta_before: Vec<(String, Vec<u8>)> = meta_files(&site);
    let pkg = site.path("packages/All/hello-2.12.tgz");
    let before = fs::read(&pkg).unwrap();
    let ledger_before = site.ledger().len();

    // A new revision of the Makefile makes the package out of date.
    let mk = site.path("pkgsrc/misc/hello/Makefile");
    let text = fs::read_to_string(&mk).unwrap();
    let bumped = text.replacen("Makefile,v 1.", "Makefile,v 2.", 1);
    assert_ne!(bumped, text, "the Makefile has an RCS id to bump");
    fs::write(&mk, bumped).unwrap();

    let out = site.run("bulkbuild-rebuild", &["hello-2.12"]);
    assert_ok(&out, "bulkbuild-rebuild");
    assert_eq!(stdout(&out), "Building package hello-2.12... done\n");
    assert_eq!(site.ledger()[ledger_before..], ["hello-2.12".to_string()]);
    assert_ne!(fs::read(&pkg).unwrap(), before, "the package was replaced");
    assert_eq!(meta_files(&site), meta_before, "meta/ untouched");

    let out = site.run("bulkbuild-rebuild", &["nosuch-1.0"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "Package nosuch-1.0 not found, aborting.\n");
}

#[test]
fn missing_make_stops_before_any_work() {
    let site = Site::new("make=/nonexistent/bmake\n");
    let out = site.run("bulkbuild", &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "one line: {err}");
    assert!(err.contains("make=/nonexistent/bmake"), "{err}");
    assert!(!site.meta("status").exists(), "nothing written");
}

fn meta_files(site: &Site) -> Vec<(String, Vec<u8>)> {
    let mut v: Vec<(String, Vec<u8>)> = fs::read_dir(site.meta(""))
        .unwrap()
        .map(|e| {
            let e = e.unwrap();
            (
                e.file_name().to_string_lossy().into_owned(),
                fs::read(e.path()).unwrap(),
            )
        })
        .collect();
    v.sort();
    v
}
