//! pkg-up-to-date's decisions, with recording pkg_info/pkg_admin stand-ins.

use crate::support::pkgbuild as pkgbuild_support;

use filetime::{set_file_mtime, FileTime};
use pkgbuild_support::World;
use std::fs;

const RCS: &str = "$NetBSD: Makefile,v 1.1 2020/01/01 00:00:00 x Exp $";

/// foo-1.0 built from cat/foo (Makefile by RCS id, distinfo by digest)
/// against bar-1.0, which is older.
fn world() -> World {
    let w = World::new();
    w.package("cat/foo", "foo-1.0", "");
    fs::write(w.p("pkgsrc/cat/foo/distinfo"), "SHA1 (x.tar.gz) = 1234\n").unwrap();
    let hash = sha16(&w.p("pkgsrc/cat/foo/distinfo"));
    fs::write(
        w.p("packages/All/foo-1.0.tgz"),
        format!("B cat/foo/Makefile:{RCS}\nB cat/foo/distinfo:{hash}\nB \nN bar-1.0\nN \n"),
    )
    .unwrap();
    fs::write(w.p("packages/All/bar-1.0.tgz"), "dep").unwrap();
    set_file_mtime(
        w.p("packages/All/bar-1.0.tgz"),
        FileTime::from_unix_time(1_000_000, 0),
    )
    .unwrap();
    set_file_mtime(
        w.p("packages/All/foo-1.0.tgz"),
        FileTime::from_unix_time(2_000_000, 0),
    )
    .unwrap();
    w
}

/// What the pkg_admin stand-in prints for `digest <file>`.
fn sha16(path: &std::path::Path) -> String {
    let out = std::process::Command::new("sha512sum")
        .arg(path)
        .output()
        .unwrap();
    String::from_utf8_lossy(&out.stdout)[..16].to_string()
}

fn status(w: &World, args: &[&str]) -> i32 {
    let out = w.run("pkg-up-to-date", args, "");
    out.status.code().unwrap()
}

#[test]
fn reusable_package_and_the_calls_that_decide_it() {
    let w = world();
    assert_eq!(
        status(&w, &["foo-1.0", "bar-1.0", "extra-1"]),
        0,
        "an unrecorded new dependency does not matter"
    );
    assert_eq!(
        w.calls(),
        [
            "pkg_info [-qb] [T/packages/All/foo-1.0.tgz]",
            "pkg_admin [digest] [T/pkgsrc/cat/foo/distinfo]",
            "pkg_info [-qN] [T/packages/All/foo-1.0.tgz]",
        ]
    );
}

#[test]
fn changed_sources_make_it_stale() {
    let w = world();
    fs::write(
        w.p("pkgsrc/cat/foo/Makefile"),
        "# $NetBSD: Makefile,v 1.2 2021/01/01 00:00:00 x Exp $\n",
    )
    .unwrap();
    assert_eq!(status(&w, &["foo-1.0", "bar-1.0"]), 1, "RCS id changed");
    assert_eq!(w.calls().len(), 1, "stops at the first mismatch");

    let w = world();
    // The id is taken from the first line holding the marker, text around it ignored.
    fs::write(
        w.p("pkgsrc/cat/foo/Makefile"),
        format!("x\n#\t{RCS}  trailing\n# $NetBSD: other $\n"),
    )
    .unwrap();
    assert_eq!(status(&w, &["foo-1.0", "bar-1.0"]), 0);

    let w = world();
    fs::write(w.p("pkgsrc/cat/foo/distinfo"), "changed\n").unwrap();
    assert_eq!(status(&w, &["foo-1.0", "bar-1.0"]), 1, "digest changed");

    let w = world();
    fs::remove_file(w.p("pkgsrc/cat/foo/distinfo")).unwrap();
    assert_eq!(status(&w, &["foo-1.0", "bar-1.0"]), 1, "recorded file gone");
    assert_eq!(w.calls().len(), 1, "no digest of a missing file");

    let w = world();
    w.tool("pkg_admin", "log \"$@\"\nexit 5\n");
    assert_eq!(
        status(&w, &["foo-1.0", "bar-1.0"]),
        5,
        "a failing pkg_admin ends it with its status"
    );
}

#[test]
fn dependencies_must_be_asked_for_and_older() {
    let w = world();
    assert_eq!(
        status(&w, &["foo-1.0"]),
        1,
        "bar-1.0 recorded but not given"
    );
    assert_eq!(status(&w, &["foo-1.0", "bar-1.1"]), 1);
    assert_eq!(
        status(&w, &["foo-1.0", "x-1 bar-1.0"]),
        0,
        "arguments are word-split again"
    );

    set_file_mtime(
        w.p("packages/All/bar-1.0.tgz"),
        FileTime::from_unix_time(3_000_000, 0),
    )
    .unwrap();
    assert_eq!(
        status(&w, &["foo-1.0", "bar-1.0"]),
        1,
        "dependency newer than the package"
    );
    set_file_mtime(
        w.p("packages/All/bar-1.0.tgz"),
        FileTime::from_unix_time(2_000_000, 0),
    )
    .unwrap();
    assert_eq!(
        status(&w, &["foo-1.0", "bar-1.0"]),
        1,
        "same age is not older"
    );
    set_file_mtime(
        w.p("packages/All/bar-1.0.tgz"),
        FileTime::from_unix_time(1_999_999, 999_999_999),
    )
    .unwrap();
    assert_eq!(status(&w, &["foo-1.0", "bar-1.0"]), 0, "nanoseconds count");

    fs::remove_file(w.p("packages/All/bar-1.0.tgz")).unwrap();
    assert_eq!(
        status(&w, &["foo-1.0", "bar-1.0"]),
        1,
        "-ot is false for a missing dependency file"
    );
}

#[test]
fn skip_age_check_is_case_insensitive() {
    let mut w = world();
    set_file_mtime(
        w.p("packages/All/bar-1.0.tgz"),
        FileTime::from_unix_time(3_000_000, 0),
    )
    .unwrap();
    w.conf_extra.push("skip_age_check=yEs".into());
    assert_eq!(status(&w, &["foo-1.0", "bar-1.0"]), 0);
    fs::remove_file(w.p("packages/All/bar-1.0.tgz")).unwrap();
    assert_eq!(status(&w, &["foo-1.0", "bar-1.0"]), 0);
    assert_eq!(
        status(&w, &["foo-1.0"]),
        1,
        "the recorded dependency is still required"
    );
    w.conf_extra.push("skip_age_check=y".into());
    fs::write(w.p("packages/All/bar-1.0.tgz"), "newer").unwrap();
    assert_eq!(status(&w, &["foo-1.0", "bar-1.0"]), 1);
}

#[test]
fn missing_package_is_not_up_to_date() {
    let w = world();
    assert_eq!(status(&w, &["nope-1.0"]), 1);
    assert!(w.calls().is_empty());
    fs::create_dir(w.p("packages/All/dir-1.0.tgz")).unwrap();
    assert_eq!(status(&w, &["dir-1.0"]), 1, "must be a regular file");
}

#[test]
fn pkg_build_reuses_an_up_to_date_package_through_the_real_script() {
    let mut w = world();
    w.conf_extra.push(format!(
        "pkg_up_to_date_script={}",
        pkgbuild_support::common::bin("pkg-up-to-date").display()
    ));
    let rec = "PKGNAME=foo-1.0\nPKG_LOCATION=cat/foo\nDEPENDS=bar-1.0\n";
    let out = w.run("pkg-build", &[], rec);
    assert_eq!(out.status.code(), Some(0));
    assert!(!w
        .calls()
        .iter()
        .any(|c| c.starts_with("client-clean") || c.starts_with("make")));

    fs::write(w.p("pkgsrc/cat/foo/distinfo"), "changed\n").unwrap();
    let out = w.run("pkg-build", &[], rec);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        w.calls()
            .iter()
            .any(|c| c.starts_with("make [stage-package-create]")),
        "rebuilt"
    );
    let pkg = fs::read_to_string(w.p("packages/All/foo-1.0.tgz")).unwrap();
    assert!(pkg.contains("PKG foo-1.0"), "replaced by the fresh build");
}
