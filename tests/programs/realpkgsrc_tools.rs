//! pkg-up-to-date and pkg-build against the real pkg_install of the 2014
//! pkgsrc bootstrap (tests/common/realpkgsrc.rs): packages made by the real
//! `pkg_create`, their recorded sources and build dependencies read back by
//! the real `pkg_info -qb/-qN` (its pkg_admin of 2013 has no `digest`), dependencies installed
//! by the real `pkg_add` from PKG_PATH (with their own dependencies). The
//! stand-in tests beside these (pkgbuild*.rs) check the exact calls; these
//! check that the calls mean to pkg_install what we think.

use crate::support::pkgbuild as pkgbuild_support;

use crate::support::realpkgsrc::{self, Bootstrap, Use};
use filetime::{set_file_mtime, FileTime};
use pkgbuild_support::World;
use std::fs;
use std::path::Path;
use std::process::Command;

const RCS: &str = "$NetBSD: Makefile,v 1.3 2014/01/01 00:00:00 x Exp $";

fn boot(test: &str) -> Option<Bootstrap> {
    realpkgsrc::bootstrap(Use::Tools, test)
}

/// A world whose pbulk.conf names the real pkg_install tools.
fn world(b: &Bootstrap) -> World {
    let mut w = World::new();
    for t in ["pkg_add", "pkg_info", "pkg_admin", "pkg_delete"] {
        w.conf_extra.push(format!("{t}={}", b.tool(t).display()));
    }
    w.conf_extra
        .push(format!("digest={}", b.tool("digest").display()));
    w
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap();
    assert!(
        out.status.success(),
        "{cmd:?}: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// `packages/All/<name>.tgz` made by the real pkg_create: one file under
/// the world's prefix, run-time dependencies `deps` (patterns), build
/// dependencies `blddeps` (exact names) and `+BUILD_VERSION` lines.
fn pkg_create(
    b: &Bootstrap,
    w: &World,
    name: &str,
    deps: &[&str],
    blddeps: &[&str],
    build_version: &str,
) {
    let src = w.p(&format!("src/{name}"));
    fs::create_dir_all(src.join("share")).unwrap();
    fs::write(src.join(format!("share/{name}.txt")), format!("{name}\n")).unwrap();
    let mut plist = format!("@name {name}\n");
    for d in blddeps {
        plist.push_str(&format!("@blddep {d}\n"));
    }
    plist.push_str(&format!("share/{name}.txt\n"));
    let dir = w.p(&format!("meta/{name}"));
    fs::create_dir_all(&dir).unwrap();
    fs::write(dir.join("plist"), plist).unwrap();
    fs::write(dir.join("build-version"), build_version).unwrap();
    // pkg_add checks the platform the package says it was built for.
    let uname = |o: &str| run_ok(Command::new("uname").arg(o)).trim_end().to_string();
    let info = format!(
        "MACHINE_ARCH={}\nOPSYS={}\nOS_VERSION={}\nPKGPATH=cat/x\n",
        uname("-m"),
        uname("-s"),
        uname("-r")
    );
    fs::write(dir.join("build-info"), info).unwrap();
    let mut cmd = Command::new(b.tool("pkg_create"));
    cmd.arg("-c")
        .arg(format!("-{name} for a test"))
        .arg("-d")
        .arg(format!("-{name}, made by the real pkg_create"))
        .arg("-f")
        .arg(dir.join("plist"))
        .arg("-p")
        .arg(&src)
        .arg("-I")
        .arg(w.p("prefix"))
        .arg("-b")
        .arg(dir.join("build-version"))
        .arg("-B")
        .arg(dir.join("build-info"));
    if !deps.is_empty() {
        cmd.arg("-P").arg(deps.join(" "));
    }
    cmd.arg(w.p(&format!("packages/All/{name}.tgz")));
    run_ok(&mut cmd);
}

fn age(path: &Path, secs: i64) {
    set_file_mtime(path, FileTime::from_unix_time(secs, 0)).unwrap();
}

const FOO_C_ID: &str = "$NetBSD: foo.c,v 1.1 2014/01/01 00:00:00 x Exp $";

/// foo-1.0 from cat/foo (its Makefile and a file of `files/` recorded by
/// RCS id, as the 2014 mk/ records every file; this pkg_install's
/// pkg_admin has no `digest` command for files without one), built against
/// bar-1.0, which is older.
fn foo_world(b: &Bootstrap) -> World {
    let w = world(b);
    w.package("cat/foo", "foo-1.0", "");
    fs::write(
        w.p("pkgsrc/cat/foo/Makefile"),
        format!("# {RCS}\nPKGNAME=foo-1.0\n"),
    )
    .unwrap();
    fs::create_dir_all(w.p("pkgsrc/cat/foo/files")).unwrap();
    fs::write(
        w.p("pkgsrc/cat/foo/files/foo.c"),
        format!("/* {FOO_C_ID} */\nint main(void) {{ return 0; }}\n"),
    )
    .unwrap();
    pkg_create(b, &w, "bar-1.0", &[], &[], "");
    pkg_create(
        b,
        &w,
        "foo-1.0",
        &["bar>=1.0"],
        &["bar-1.0"],
        &format!("cat/foo/Makefile:{RCS}\ncat/foo/files/foo.c:{FOO_C_ID}\n"),
    );
    age(&w.p("packages/All/bar-1.0.tgz"), 1_000_000);
    age(&w.p("packages/All/foo-1.0.tgz"), 2_000_000);
    w
}

fn up_to_date(w: &World, args: &[&str]) -> i32 {
    let out = w.run("pkg-up-to-date", args, "");
    out.status.code().unwrap()
}

#[test]
fn up_to_date_reads_what_the_real_pkg_create_recorded() {
    let Some(b) = boot("up_to_date_reads_what_the_real_pkg_create_recorded") else {
        return;
    };
    let w = foo_world(&b);
    assert_eq!(up_to_date(&w, &["foo-1.0", "bar-1.0"]), 0, "reusable");
    // Nothing recorded, no build dependencies: pkg_info -qN prints nothing
    // at all (not even the closing empty line).
    assert_eq!(
        up_to_date(&w, &["bar-1.0"]),
        0,
        "reusable without dependencies"
    );
    assert_eq!(
        up_to_date(&w, &["foo-1.0"]),
        1,
        "recorded build dependency not asked for"
    );
    assert_eq!(
        up_to_date(&w, &["foo-1.0", "bar-1.1"]),
        1,
        "another version asked for"
    );

    age(&w.p("packages/All/bar-1.0.tgz"), 3_000_000);
    assert_eq!(
        up_to_date(&w, &["foo-1.0", "bar-1.0"]),
        1,
        "dependency newer"
    );
    age(&w.p("packages/All/bar-1.0.tgz"), 1_000_000);

    fs::write(
        w.p("pkgsrc/cat/foo/files/foo.c"),
        "/* $NetBSD: foo.c,v 1.2 2014/02/02 00:00:00 x Exp $ */\n",
    )
    .unwrap();
    assert_eq!(
        up_to_date(&w, &["foo-1.0", "bar-1.0"]),
        1,
        "a file of files/ changed"
    );

    let w = foo_world(&b);
    fs::write(
        w.p("pkgsrc/cat/foo/Makefile"),
        "# $NetBSD: Makefile,v 1.4 2014/02/02 00:00:00 x Exp $\n",
    )
    .unwrap();
    assert_eq!(up_to_date(&w, &["foo-1.0", "bar-1.0"]), 1, "RCS id changed");
}

#[test]
fn pkg_build_installs_dependencies_with_the_real_pkg_add() {
    let Some(b) = boot("pkg_build_installs_dependencies_with_the_real_pkg_add") else {
        return;
    };
    // bar needs baz at run time: the real pkg_add takes it from PKG_PATH.
    // The build itself stops at checksum, so the prefix shows what the
    // depends step installed.
    let w = world(&b);
    w.package("cat/foo", "foo-1.0", "checksum");
    pkg_create(&b, &w, "baz-2.0", &[], &[], "");
    pkg_create(&b, &w, "bar-1.0", &["baz>=2"], &[], "");
    let rec = "PKGNAME=foo-1.0\nPKG_LOCATION=cat/foo\nDEPENDS=bar-1.0\n";
    let out = w.run("pkg-build", &[], rec);
    assert_ne!(out.status.code(), Some(0), "fails at checksum");
    let log = w.p("bulklog/foo-1.0");
    assert!(
        log.join("checksum.log").exists(),
        "got past the depends step"
    );
    let pkgdb = w.s("pkgdb");
    let installed = run_ok(Command::new(b.tool("pkg_info")).args(["-K", &pkgdb, "-a"]));
    let mut names: Vec<&str> = installed
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    names.sort();
    assert_eq!(names, ["bar-1.0", "baz-2.0"], "{installed}");
    assert!(w.p("prefix/share/baz-2.0.txt").is_file());
    run_ok(Command::new(b.tool("pkg_admin")).args(["-K", &pkgdb, "check"]));

    // A dependency without its own dependency's package cannot be added:
    // the build fails at depends and goes no further.
    let w = world(&b);
    w.package("cat/foo", "foo-1.0", "");
    pkg_create(&b, &w, "bar-1.0", &["baz>=2"], &[], "");
    let out = w.run("pkg-build", &[], rec);
    assert_ne!(out.status.code(), Some(0));
    let log = w.p("bulklog/foo-1.0");
    assert!(log.join("depends.log").exists());
    assert!(!log.join("checksum.log").exists(), "stopped at depends");
    let text = fs::read_to_string(log.join("depends.log")).unwrap();
    assert!(
        text.contains("baz"),
        "pkg_add names what is missing: {text}"
    );
}
