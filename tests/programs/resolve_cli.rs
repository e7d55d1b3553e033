//! pbulk-resolve end to end on small hand-made scans: resolution, tie
//! breaks, modes, messages and exit statuses.

use crate::support::common;

use std::path::{Path, PathBuf};
use std::process::Command;

struct Run {
    code: i32,
    out: String,
    err: String,
}

fn run(args: &[&str], dir: &Path) -> Run {
    let o = Command::new(common::bin("pbulk-resolve"))
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    Run {
        code: o.status.code().expect("exit status"),
        out: String::from_utf8(o.stdout).unwrap(),
        err: String::from_utf8(o.stderr).unwrap(),
    }
}

/// A record as pbulk-scan writes it (shortened to the fields that matter).
fn rec(name: &str, loc: &str, deps: &str) -> String {
    format!(
        "PKGNAME={name}\nPKG_LOCATION={loc}\nALL_DEPENDS={deps}\nPKG_SKIP_REASON=\nPKG_FAIL_REASON=\nCATEGORIES=x\n"
    )
}

fn files(list: &[(&str, &str)]) -> (tempfile::TempDir, Vec<PathBuf>) {
    let dir = tempfile::tempdir().unwrap();
    let paths = list
        .iter()
        .map(|(n, text)| {
            let p = dir.path().join(n);
            std::fs::write(&p, text).unwrap();
            p
        })
        .collect();
    (dir, paths)
}

#[test]
fn spec_example_highest_version_and_satisfied_patterns() {
    let scan = rec(
        "foo-1.0",
        "cat/foo",
        "bar>=1:../../cat/bar bar-[0-9]*:../../cat/bar",
    ) + &rec("bar-1.5", "cat/bar", "")
        + &rec("bar-2.0", "cat/bar", "");
    let (dir, _) = files(&[("pscan", &scan)]);
    let r = run(&["-v", "pscan"], dir.path());
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.err, "");
    let expect = rec(
        "foo-1.0",
        "cat/foo",
        "bar>=1:../../cat/bar bar-[0-9]*:../../cat/bar",
    ) + "DEPENDS=bar-2.0\n"
        + &rec("bar-1.5", "cat/bar", "")
        + &rec("bar-2.0", "cat/bar", "");
    assert_eq!(r.out, expect);
}

#[test]
fn alternates_nb_and_name_tie_breaks() {
    let scan = rec(
        "app-1",
        "c/app",
        "{gs,gs-esp}-[0-9]*:../../print/gs mpg123{,-esound,-nas}>=0.59.18:../../audio/mpg123",
    ) + &rec("gs-7.0", "print/gs", "")
        + &rec("gs-esp-7.0nb1", "print/gs-esp", "")
        + &rec("mpg123-1.33.4", "audio/mpg123", "")
        + &rec("mpg123-nas-1.33.4", "audio/mpg123-nas", "")
        + &rec("mpg123-esound-1.33.4", "audio/mpg123-esound", "");
    let (dir, _) = files(&[("pscan", &scan)]);
    let r = run(&["-v", "pscan"], dir.path());
    assert_eq!(r.code, 0);
    assert!(
        r.out.contains("DEPENDS=gs-esp-7.0nb1 mpg123-nas-1.33.4\n"),
        "{}",
        r.out
    );
    assert_eq!(
        r.err,
        "pbulk-resolve: Best matching gs-esp-7.0nb1 differs from location print/gs for dependency \
         {gs,gs-esp}-[0-9]* of package app-1\n\
         pbulk-resolve: Best matching mpg123-nas-1.33.4 differs from location audio/mpg123 for \
         dependency mpg123{,-esound,-nas}>=0.59.18 of package app-1\n"
    );
    // Without -v no location warnings.
    assert_eq!(run(&["pscan"], dir.path()).err, "");
}

#[test]
fn multiple_match_log_prints_the_current_best_twice_first() {
    let scan = rec("app-1", "c/app", "libx>=1:../../c/lib")
        + &rec("libx-1", "c/lib", "")
        + &rec("libx-3", "c/lib", "")
        + &rec("libx-2", "c/lib", "");
    let (dir, _) = files(&[("pscan", &scan)]);
    let r = run(&["-vv", "pscan"], dir.path());
    assert_eq!(r.code, 0);
    // Fast path: bucket order is reverse load order: libx-2, libx-3, libx-1.
    let m = "pbulk-resolve: Multiple matches for dependency libx>=1 of package app-1: ";
    assert_eq!(r.err, format!("{m}libx-2\n{m}libx-2\n{m}libx-3\n"));
    assert!(r.out.contains("DEPENDS=libx-3\n"));
    // Slow path (`>` among the first four bytes): load order.
    let scan = scan.replace("libx>=1", "lib*");
    std::fs::write(dir.path().join("pscan"), scan).unwrap();
    let r = run(&["-vv", "pscan"], dir.path());
    let m = "pbulk-resolve: Multiple matches for dependency lib* of package app-1: ";
    assert_eq!(r.err, format!("{m}libx-1\n{m}libx-1\n{m}libx-3\n"));
}

/// Which copy of a duplicated PKGNAME gets activated depends on the path.
#[test]
fn duplicate_names_fast_path_first_slow_path_last() {
    let main = rec("app-1", "c/app", "dupx>=1:../../c/dup");
    let slow = rec("app-1", "c/app", "du*:../../c/dup");
    let extra = "PKGNAME=dupx-1.0\nPKG_LOCATION=c/first\nALL_DEPENDS=\n".to_string()
        + "PKGNAME=dupx-1.0\nPKG_LOCATION=c/second\nALL_DEPENDS=\n";
    let (dir, _) = files(&[("fast", &main), ("slow", &slow), ("extra", &extra)]);
    let r = run(&["fast", "extra"], dir.path());
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(
        r.out.contains("PKG_LOCATION=c/first") && !r.out.contains("c/second"),
        "{}",
        r.out
    );
    let r = run(&["slow", "extra"], dir.path());
    assert!(
        r.out.contains("PKG_LOCATION=c/second") && !r.out.contains("c/first"),
        "{}",
        r.out
    );
}

#[test]
fn secondary_inputs_are_activated_when_used_and_resolved_if_not_yet_passed() {
    let first = rec("app-1", "c/app", "lib>=1:../../c/lib");
    let second = rec("lib-1", "c/lib", "base>=1:../../c/base")
        + &rec("unused-1", "c/unused", "")
        + &rec("base-1", "c/base", "");
    let (dir, _) = files(&[("a", &first), ("b", &second)]);
    let r = run(&["a", "b"], dir.path());
    assert_eq!(r.code, 0, "{}", r.err);
    let expect = rec("app-1", "c/app", "lib>=1:../../c/lib")
        + "DEPENDS=lib-1\n"
        + &rec("lib-1", "c/lib", "base>=1:../../c/base")
        + "DEPENDS=base-1\n"
        + &rec("base-1", "c/base", "");
    assert_eq!(r.out, expect);
    // Activated after the loop passed it: output, but unresolved.
    let first = rec("app-1", "c/app", "");
    let second = rec("lib-1", "c/lib", "base>=1:../../c/base")
        + &rec("base-1", "c/base", "lib>=1:../../c/lib");
    let (dir, _) = files(&[
        (
            "a",
            &(first + &rec("top-1", "c/top", "base>=1:../../c/base")),
        ),
        ("b", &second),
    ]);
    let r = run(&["a", "b"], dir.path());
    assert!(
        r.out
            .contains(&(rec("lib-1", "c/lib", "base>=1:../../c/base") + "PKGNAME=base-1")),
        "{}",
        r.out
    );
}

#[test]
fn records_with_depends_are_kept_and_cycles_resolve() {
    let scan =
        "PKGNAME=old-1\nPKG_LOCATION=c/old\nALL_DEPENDS=nothing>=1:../../c/none\nDEPENDS=x-1\n"
            .to_string()
            + &rec("aaa-1", "c/a", "bbb>=1:../../c/b")
            + &rec("bbb-1", "c/b", "aaa>=1:../../c/a");
    let (dir, _) = files(&[("pscan", &scan)]);
    let r = run(&["pscan"], dir.path());
    assert_eq!(r.code, 0, "{}", r.err);
    assert!(r.out.starts_with("PKGNAME=old-1\nPKG_LOCATION=c/old\nALL_DEPENDS=nothing>=1:../../c/none\nDEPENDS=x-1\nPKGNAME=aaa-1"));
    assert!(r.out.contains("DEPENDS=bbb-1\n") && r.out.contains("DEPENDS=aaa-1\n"));
}

fn unresolvable() -> String {
    rec(
        "app-1",
        "c/app",
        "lib>=1:../../c/lib gone>=2:../../c/gone other-[0-9]*:../../c/other",
    ) + &rec("lib-1", "c/lib", "")
        + "PKGNAME=user-1\nPKG_LOCATION=c/user\nALL_DEPENDS=app>=1:../../c/app\nNO_FAIL_LINE=\n"
        + "PKGNAME=nofail-1\nPKG_LOCATION=c/nofail\nALL_DEPENDS=gone>=2:../../c/gone\n"
}

#[test]
fn non_strict_marks_the_package_and_succeeds() {
    let (dir, _) = files(&[("pscan", &unresolvable())]);
    let r = run(&["pscan"], dir.path());
    assert_eq!(r.code, 0);
    let app = "PKGNAME=app-1\nPKG_LOCATION=c/app\n\
               ALL_DEPENDS=lib>=1:../../c/lib gone>=2:../../c/gone other-[0-9]*:../../c/other\n\
               PKG_SKIP_REASON=\nPKG_FAIL_REASON=\"could not resolve dependency \"gone>=2\"\"\nCATEGORIES=x\n";
    assert!(
        r.out.starts_with(&(app.to_string() + "PKGNAME=lib-1\n")),
        "{}",
        r.out
    );
    assert!(r
        .out
        .contains("ALL_DEPENDS=app>=1:../../c/app\nNO_FAIL_LINE=\nDEPENDS=app-1\n"));
    // Without a PKG_FAIL_REASON line the marking line is appended.
    assert!(r.out.ends_with(
        "ALL_DEPENDS=gone>=2:../../c/gone\nPKG_FAIL_REASON=\"could not resolve dependency \"gone>=2\"\"\n"
    ));
    let m = "pbulk-resolve: No match found for dependency";
    assert_eq!(
        r.err,
        format!("{m} gone>=2 of package app-1\n{m} other-[0-9]* of package app-1\n{m} gone>=2 of package nofail-1\n")
    );
}

#[test]
fn strict_fails_without_output() {
    let (dir, _) = files(&[("pscan", &unresolvable())]);
    let r = run(&["-s", "pscan"], dir.path());
    assert_eq!((r.code, r.out.as_str()), (1, ""));
    assert!(r
        .err
        .contains("No match found for dependency gone>=2 of package app-1\n"));
}

#[test]
fn incremental_writes_missing_locations_and_leaves_records_unresolved() {
    let (dir, _) = files(&[("pscan", &unresolvable()), ("old", "stale\n")]);
    let r = run(&["-i", "old", "-imissing", "-v", "pscan"], dir.path());
    assert_eq!(r.code, 0);
    assert_eq!(r.err, "");
    assert_eq!(
        std::fs::read_to_string(dir.path().join("missing")).unwrap(),
        "c/gone\nc/other\nc/gone\n"
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("old")).unwrap(),
        "",
        "earlier -i file is truncated"
    );
    let app = rec(
        "app-1",
        "c/app",
        "lib>=1:../../c/lib gone>=2:../../c/gone other-[0-9]*:../../c/other",
    );
    assert!(r.out.starts_with(&(app + "PKGNAME=lib-1")));
    let r = run(&["-i", "/nonexistent/dir/missing", "pscan"], dir.path());
    assert_eq!(
        r.err,
        "pbulk-resolve: Cannot open output file: No such file or directory\n"
    );
    assert_eq!(r.code, 1);
}

#[test]
fn malformed_dependency_fails_even_incrementally() {
    let scan = rec("app-1", "c/app", "lib>=1:../../c/lib bad:c/x") + &rec("lib-1", "c/lib", "");
    let (dir, _) = files(&[("pscan", &scan)]);
    for args in [&["pscan"][..], &["-i", "m", "pscan"][..]] {
        let r = run(args, dir.path());
        assert_eq!((r.code, r.out.as_str()), (1, ""));
        assert_eq!(
            r.err,
            "pbulk-resolve: Incorrect dependency for app-1, skipping\n"
        );
    }
    // A token without colon makes the search run on into later lines.
    let scan = "PKGNAME=app-1\nPKG_LOCATION=c/app\nALL_DEPENDS=lib>=1\nX=lib>=1:../../c/lib\n"
        .to_string()
        + &rec("lib-1", "c/lib", "");
    let (dir, _) = files(&[("pscan", &scan)]);
    let r = run(&["pscan"], dir.path());
    assert_eq!(r.code, 0);
    assert_eq!(
        r.err,
        "pbulk-resolve: No match found for dependency lib>=1\nX=lib>=1 of package app-1\n"
    );
    // ... and on past the record, to the end of the file: malformed.
    let scan = "PKGNAME=app-1\nPKG_LOCATION=c/app\nALL_DEPENDS=lib>=1\nX=lib-1:../../c/lib more\n"
        .to_string()
        + &rec("lib-1", "c/lib", "");
    let (dir, _) = files(&[("pscan", &scan)]);
    let r = run(&["pscan"], dir.path());
    assert_eq!((r.code, r.out.as_str()), (1, ""));
    assert!(r.err.ends_with("No match found for dependency lib>=1\nX=lib-1 of package app-1\npbulk-resolve: Incorrect dependency for app-1, skipping\n"), "{}", r.err);
}

#[test]
fn fatal_record_and_pattern_errors() {
    let cases: &[(&str, &str)] = &[
        ("PKGNAME=app-1\nPKG_LOCATION=c/app\n", "pbulk-resolve: No ALL_DEPENDS line for app-1\n"),
        (
            "PKGNAME=app-1\nALL_DEPENDS=\n",
            "pbulk-resolve: Invalid input: pscan, line 1: a record without PKG_LOCATION\n",
        ),
        (
            "PKGNAME=app-1\nPKG_LOCATION=c/app\nALL_DEPENDS=ab{c:../../c/x\nPKGNAME=abcd\nPKG_LOCATION=c\nALL_DEPENDS=\n",
            "pbulk-resolve: Malformed alternate `ab{c'\n",
        ),
        (
            "PKGNAME=app-1\nPKG_LOCATION=c/app\nALL_DEPENDS=abc*:../../c/x\nPKGNAME=abcd\nPKG_LOCATION=c\nALL_DEPENDS=\nPKGNAME=abce\nPKG_LOCATION=c\nALL_DEPENDS=\n",
            "pbulk-resolve: Internal error\n",
        ),
    ];
    for (text, err) in cases {
        let (dir, _) = files(&[("pscan", text)]);
        let r = run(&["pscan"], dir.path());
        assert_eq!(
            (r.code, r.out.as_str(), r.err.as_str()),
            (1, "", *err),
            "{text}"
        );
    }
}

#[test]
fn bad_input_files() {
    const SHORT_OR_BLANK_1: &str =
        "Invalid input: pscan, line 1: a PKGNAME shorter than 4 bytes or with a blank";
    let good = rec("app-1", "c/app", "");
    let cases: Vec<(String, &str)> = vec![
        (
            good.trim_end().to_string(),
            "Invalid input: pscan, line 6: the last line has no newline",
        ),
        (
            good.replace("c/app", "c/a\0pp"),
            "Invalid input (NUL character found): pscan, line 2",
        ),
        (good.replace("app-1", "app 1"), SHORT_OR_BLANK_1),
        (good.replace("app-1", "ap1"), SHORT_OR_BLANK_1),
        (
            format!("junk\n{good}"),
            "Invalid input: pscan, line 1: text before the first PKGNAME= line",
        ),
        (
            format!("{good}PKGNAME=bad name\n"),
            "Invalid input: pscan, line 7: a PKGNAME shorter than 4 bytes or with a blank",
        ),
    ];
    for (text, msg) in cases {
        let (dir, _) = files(&[("pscan", &text)]);
        let r = run(&["pscan"], dir.path());
        assert_eq!((r.code, r.out.as_str()), (1, ""), "{text:?}");
        assert_eq!(r.err, format!("pbulk-resolve: {msg}\n"), "{text:?}");
    }
    let (dir, _) = files(&[("empty", "")]);
    // The reference accepts an empty scan: no records, no output.
    let r = run(&["empty"], dir.path());
    assert_eq!((r.code, r.out.as_str(), r.err.as_str()), (0, "", ""));
    let r = run(&["."], dir.path());
    assert_eq!(
        (r.code, r.err.as_str()),
        (1, "pbulk-resolve: Input is not regular file\n")
    );
    let r = run(&["nonexistent"], dir.path());
    assert_eq!(
        (r.code, r.err.as_str()),
        (
            1,
            "pbulk-resolve: Cannot open input: No such file or directory\n"
        )
    );
}

#[test]
fn usage() {
    let dir = tempfile::tempdir().unwrap();
    let usage = "usage: pbulk-resolve [ -sv ] [ -i <missing> ] <pscan output> [ ... ]\n";
    for args in [
        &[][..],
        &["-x", "f"][..],
        &["-i"][..],
        &["-v"][..],
        &["--long", "f"][..],
    ] {
        let r = run(args, dir.path());
        assert_eq!(
            (r.code, r.out.as_str(), r.err.as_str()),
            (1, "", usage),
            "{args:?}"
        );
    }
    let r = run(&["--help"], dir.path());
    assert_eq!((r.code, r.out.as_str()), (1, ""));
    assert!(r.err.starts_with("pbulk-resolve: ") && r.err.ends_with(usage));
}

#[test]
fn long_lines_and_errors_beyond_the_first_read() {
    // A line far longer than one read, and records on both sides of it.
    let long = "x".repeat(3 << 20);
    let scan = rec("app-1", "c/app", "libx>=1:../../c/lib")
        + &format!("SCAN_DEPENDS={long}\n")
        + &rec("libx-1", "c/lib", "");
    let (dir, _) = files(&[("pscan", &scan)]);
    let r = run(&["pscan"], dir.path());
    assert_eq!(r.code, 0, "{}", r.err);
    assert_eq!(r.out.len(), scan.len() + "DEPENDS=libx-1\n".len());
    // The NUL check covers the whole file, and wins over a format error
    // found earlier, as the reference checks it before parsing.
    for tail in ["\0\n", "\0"] {
        let text = format!("junk\n{scan}{tail}");
        let line = text.matches('\n').count() + usize::from(tail == "\0");
        std::fs::write(dir.path().join("pscan"), text).unwrap();
        let r = run(&["pscan"], dir.path());
        assert_eq!(
            r.err,
            format!("pbulk-resolve: Invalid input (NUL character found): pscan, line {line}\n")
        );
    }
    // Options end at the first operand, as with getopt.
    std::fs::write(dir.path().join("pscan"), &scan).unwrap();
    let r = run(&["pscan", "-v"], dir.path());
    assert_eq!(
        (r.code, r.err.as_str()),
        (
            1,
            "pbulk-resolve: Cannot open input: No such file or directory\n"
        )
    );
}
