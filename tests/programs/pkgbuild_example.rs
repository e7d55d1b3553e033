//! End to end: pkg-build builds a chain of the example tree
//! (`tests/pkgsrc`) with real bmake, the stand-in pkg_install tools of
//! `tests/tools`, our client-clean (which wipes the prefix before every
//! package, so dependencies come back through pkg_add and PKG_PATH) and our
//! pkg-up-to-date deciding reuse.

use crate::support::pkgbuild as pkgbuild_support;

use pkgbuild_support::common;
use pkgbuild_support::World;
use std::fs;
use std::io::Write;
use std::process::{Command, Stdio};

/// Settings of the caller's environment that must not reach bmake.
const LEAKY: [&str; 6] = [
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "PKG_PATH",
    "PBULK_TEST_FAIL",
    "MAKEOBJDIR",
];

fn site() -> World {
    let mut w = World::new();
    let d = w.s("");
    fs::write(
        w.p("mk.conf"),
        format!("LOCALBASE={d}/pkg\nPKG_DBDIR={d}/pkg/pkgdb\nPACKAGES={d}/packages\nWRKOBJDIR={d}/work\n"),
    )
    .unwrap();
    let tools = common::root().join("tests/tools");
    let tool = |n: &str| tools.join(n).display().to_string();
    w.conf_extra.extend([
        format!("prefix={d}/pkg"),
        format!("pkgdb={d}/pkg/pkgdb"),
        format!("varbase={d}/var"),
        "bootstrapkit=".into(),
        format!("pkgsrc={}", common::root().join("tests/pkgsrc").display()),
        "make=bmake".into(),
        format!("pkg_add={}", tool("pkg_add")),
        format!("pkg_delete={}", tool("pkg_delete")),
        format!("pkg_info={}", tool("pkg_info")),
        format!("pkg_admin={}", tool("pkg_admin")),
        format!(
            "pkg_up_to_date_script={}",
            common::bin("pkg-up-to-date").display()
        ),
        "sync_buildlog=:".into(),
    ]);
    w
}

fn pkg_build(w: &World, record: &str) -> i32 {
    let mut cmd = w.command("pkg-build");
    for v in LEAKY {
        cmd.env_remove(v);
    }
    let libexec = common::bin("client-clean").parent().unwrap().to_path_buf();
    cmd.env("PBULK_LIBEXECDIR", libexec)
        .env("MAKECONF", w.p("mk.conf"));
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(record.as_bytes());
    let out = child.wait_with_output().unwrap();
    let code = out.status.code().unwrap();
    if code != 0 {
        eprintln!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    code
}

fn record(name: &str, loc: &str, deps: &str) -> String {
    format!("PKGNAME={name}\nPKG_LOCATION={loc}\nALL_DEPENDS=ignored\nDEPENDS={deps}\nUSE_DESTDIR=user-destdir\nBOOTSTRAP_PKG=\nUSERGROUP_PHASE=\n")
}

const CHAIN: [(&str, &str, &str); 4] = [
    ("digest-20220214", "pkgtools/digest", ""),
    ("libbase-1.0nb2", "devel/libbase", "digest-20220214"),
    ("libmid-2.1", "devel/libmid", "libbase-1.0nb2"),
    ("libtop-0.9.3", "devel/libtop", "libmid-2.1 libbase-1.0nb2"),
];

fn mtime(w: &World, rel: &str) -> filetime::FileTime {
    filetime::FileTime::from_last_modification_time(&fs::metadata(w.p(rel)).unwrap())
}

#[test]
fn builds_a_dependency_chain_then_reuses_and_rebuilds() {
    let mut w = site();
    for (name, loc, deps) in CHAIN {
        assert_eq!(pkg_build(&w, &record(name, loc, deps)), 0, "{name}");
        assert!(
            w.p(&format!("packages/All/{name}.tgz")).is_file(),
            "{name} published"
        );
        assert!(
            !w.p(&format!("bulklog/{name}")).exists(),
            "{name}: logs removed on success"
        );
    }
    let recorded = Command::new(common::root().join("tests/tools/pkg_info"))
        .arg("-qN")
        .arg(w.p("packages/All/libtop-0.9.3.tgz"))
        .output()
        .unwrap();
    assert_eq!(
        String::from_utf8_lossy(&recorded.stdout),
        "libmid-2.1\nlibbase-1.0nb2\n\n",
        "the recorded dependencies (pkg_info ends with an empty line)"
    );

    // Nothing changed: the second run reuses the package without building.
    let before = mtime(&w, "packages/All/libtop-0.9.3.tgz");
    w.clear_calls();
    let (name, loc, deps) = CHAIN[3];
    assert_eq!(pkg_build(&w, &record(name, loc, deps)), 0);
    assert_eq!(mtime(&w, "packages/All/libtop-0.9.3.tgz"), before);
    assert!(w.calls().is_empty(), "no step ran: {:?}", w.calls());

    // A dependency rebuilt after it makes it stale: rebuilt too.
    fs::remove_file(w.p("packages/All/libmid-2.1.tgz")).unwrap();
    let (name, loc, deps) = CHAIN[2];
    assert_eq!(pkg_build(&w, &record(name, loc, deps)), 0);
    let (name, loc, deps) = CHAIN[3];
    assert_eq!(pkg_build(&w, &record(name, loc, deps)), 0);
    assert!(
        mtime(&w, "packages/All/libtop-0.9.3.tgz") > before,
        "libtop rebuilt"
    );

    build_phase_summarizes(&mut w);
}

/// The build phase over the chain (pbulk-build replaced by `true`): the
/// summary and checksums equal what the tools print for the sorted list.
fn build_phase_summarizes(w: &mut World) {
    fs::write(
        w.p("bulklog/meta/success"),
        "libtop-0.9.3\ndigest-20220214\nlibmid-2.1\nlibbase-1.0nb2\n",
    )
    .unwrap();
    fs::write(w.p("bulklog/meta/status"), "").unwrap();
    w.conf_extra
        .extend(["pbuild=true".into(), format!("digest={}", tool("digest"))]);
    let out = w.command("build").output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );

    let sorted = [
        "digest-20220214.tgz",
        "libbase-1.0nb2.tgz",
        "libmid-2.1.tgz",
        "libtop-0.9.3.tgz",
    ];
    let x = Command::new(tool("pkg_info"))
        .arg("-X")
        .args(sorted)
        .current_dir(w.p("packages/All"))
        .output()
        .unwrap();
    assert!(!x.stdout.is_empty());
    assert_eq!(
        unpack("gzip", &w.p("packages/All/pkg_summary.gz")),
        x.stdout
    );
    assert_eq!(
        unpack("bzip2", &w.p("packages/All/pkg_summary.bz2")),
        x.stdout
    );

    let mut files: Vec<String> = sorted.iter().map(|f| format!("All/{f}")).collect();
    files.extend(["All/pkg_summary.bz2".into(), "All/pkg_summary.gz".into()]);
    files.sort();
    let sums = Command::new(tool("digest"))
        .arg("SHA512")
        .args(&files)
        .current_dir(w.p("packages"))
        .output()
        .unwrap();
    assert_eq!(unpack("bzip2", &w.p("packages/SHA512.bz2")), sums.stdout);
}

fn tool(name: &str) -> String {
    common::root()
        .join("tests/tools")
        .join(name)
        .display()
        .to_string()
}

fn unpack(tool: &str, path: &std::path::Path) -> Vec<u8> {
    let out = Command::new(tool).arg("-dc").arg(path).output().unwrap();
    assert!(out.status.success());
    out.stdout
}

#[test]
fn a_failing_package_leaves_its_step_logs() {
    let w = site();
    assert_eq!(
        pkg_build(&w, &record("fail-build-1.0", "misc/fail-build", "")),
        1
    );
    let mut logs: Vec<_> = fs::read_dir(w.p("bulklog/fail-build-1.0"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    logs.sort();
    assert_eq!(
        logs,
        [
            "build.log",
            "checksum.log",
            "configure.log",
            "pre-clean.log",
            "work.log"
        ]
    );
    let build = w.read("bulklog/fail-build-1.0/build.log");
    assert!(
        build.contains("hello.c:3: error: expected declaration specifiers"),
        "{build}"
    );
    assert!(!w.p("packages/All/fail-build-1.0.tgz").exists());
}
