//! Names are contained, inputs bounded, errors say where (issue 13, points
//! 4, 6 and 8): a `../` PKGNAME never reaches outside the bulk log, pre-build
//! refuses a bulklog that resolves above itself or around the trees it must
//! keep, 30 brace groups are refused at once naming the package, huge
//! environment values are refused instead of panicking, an empty pbulk.conf
//! is an error, `Invalid input` names the file and line, and a scan that
//! fills the disk says so on the terminal.

use crate::support::pkgbuild as pkgbuild_support;
use crate::support::scan_fake;

use std::io::Write;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use pkgbuild_support::common::{self, bin};
use pkgbuild_support::World;

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Run `cmd` with `stdin`, killing it after a minute (a hang fails the
/// test instead of stalling the suite).
fn bounded(cmd: &mut Command, stdin: &[u8]) -> Output {
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(stdin);
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!("still running after 60 s: {}", text(&o.stderr));
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    child.wait_with_output().unwrap()
}

fn conf(dir: &Path, body: &str) -> std::path::PathBuf {
    let p = dir.join("pbulk.conf");
    std::fs::write(&p, body).unwrap();
    p
}

#[test]
fn pkg_build_refuses_a_dotdot_pkgname_and_touches_nothing_outside() {
    let w = World::new();
    w.package("cat/foo", "foo-1.0", "");
    // ${bulklog}/../victim-1.0 is the directory beside the bulk log.
    std::fs::create_dir_all(w.p("victim-1.0")).unwrap();
    std::fs::write(w.p("victim-1.0/marker"), "keep").unwrap();
    let rec = "PKGNAME=../victim-1.0\nPKG_LOCATION=cat/foo\nDEPENDS=\nCATEGORIES=x\n\
               USE_DESTDIR=user-destdir\n";
    let out = w.run("pkg-build", &[], rec);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "pkg-build: PKGNAME `../victim-1.0' contains a /; not built\n"
    );
    assert!(w.calls().is_empty(), "nothing ran: {:?}", w.calls());
    assert_eq!(
        std::fs::read_to_string(w.p("victim-1.0/marker")).unwrap(),
        "keep"
    );
    // A location climbing out of pkgsrc, and a dependency name with a /.
    for (rec, want) in [
        (
            "PKGNAME=foo-1.0\nPKG_LOCATION=../../etc\n",
            "pkg-build: PKG_LOCATION `../../etc' of foo-1.0 has a . or .. part; not built\n",
        ),
        (
            "PKGNAME=foo-1.0\nPKG_LOCATION=cat/foo\nDEPENDS=ok-1 ../../x-1\n",
            "pkg-build: dependency `../../x-1' of foo-1.0 contains a /; not built\n",
        ),
    ] {
        let out = w.run("pkg-build", &[], rec);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(text(&out.stderr), want);
        assert!(w.calls().is_empty());
    }
}

#[test]
fn pbulk_build_never_builds_a_record_with_an_unsafe_name() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("bulklog")).unwrap();
    std::fs::create_dir_all(d.join("esc-1")).unwrap();
    std::fs::write(d.join("esc-1/marker"), "keep").unwrap();
    let rec = |n: &str, loc: &str, deps: &str| {
        format!(
            "PKGNAME={n}\nPKG_LOCATION={loc}\nALL_DEPENDS=\nPKG_SKIP_REASON=\nPKG_FAIL_REASON=\n\
             DEPENDS={deps}\n"
        )
    };
    let presolve = [
        rec("good-1", "cat/good", ""),
        rec("../esc-1", "cat/esc", ""),
        rec("user-1", "cat/user", "../esc-1"),
        rec("far-1", "../../far", ""),
    ]
    .concat();
    std::fs::write(d.join("presolve"), &presolve).unwrap();
    // What a build script does with the name: its log directory, emptied.
    let script = d.join("b.sh");
    std::fs::write(
        &script,
        "#!/bin/sh\nIFS= read -r l\nn=${l#PKGNAME=}\necho \"$n\" >> ledger\n\
         rm -rf \"bulklog/$n\"\nmkdir -p \"bulklog/$n\"\n",
    )
    .unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&script, mode).unwrap();
    let out = bounded(
        Command::new(bin("pbulk-build"))
            .args([
                "-r", "report", "-b", "./b.sh", "presolve", "success", "error",
            ])
            .current_dir(d),
        b"",
    );
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        "pbulk-build: presolve, line 7: PKGNAME `../esc-1' contains a /; not built\n\
         pbulk-build: presolve, line 19: PKG_LOCATION `../../far' has a . or .. part; not built\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("ledger")).unwrap(),
        "good-1\n"
    );
    assert_eq!(
        std::fs::read_to_string(d.join("esc-1/marker")).unwrap(),
        "keep"
    );
    let report = std::fs::read_to_string(d.join("report")).unwrap();
    assert!(report.contains("../esc-1|prefailed|"), "{report}");
    assert!(report.contains("user-1|indirect-prefailed|"), "{report}");
    assert!(report.contains("far-1|prefailed|"), "{report}");
}

#[test]
fn pre_build_refuses_a_bulklog_resolving_above_itself_or_its_trees() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().canonicalize().unwrap();
    std::fs::create_dir_all(d.join("x/y")).unwrap();
    std::fs::create_dir_all(d.join("pkgsrc/pkgtools/pkg_install")).unwrap();
    std::fs::write(d.join("x/marker"), "keep").unwrap();
    std::os::unix::fs::symlink(&d, d.join("x/up")).unwrap();
    let cases = [
        (
            format!("{}/x/y/..", d.display()),
            format!(
                "it resolves to {0}/x, which holds {0}/x/y named in it",
                d.display()
            ),
        ),
        (
            format!("{}/x/up", d.display()),
            format!(
                "it resolves to {0}, which holds pkgsrc={0}/pkgsrc",
                d.display()
            ),
        ),
        (
            format!("{}/x/y/../../..", d.display()),
            format!(
                "it resolves to {}, which holds {}/x/y named in it",
                d.parent().unwrap().display(),
                d.display()
            ),
        ),
    ];
    for (bulklog, why) in cases {
        let c = conf(
            &d,
            &format!(
                "config_version=0.68\nmaster_mode=no\ncross_compile=no\nbulklog={bulklog}\nloc=${{bulklog}}/meta\n\
                 pkgsrc={0}/pkgsrc\npackages={0}/packages\nprefix={0}/prefix\nmake=/bin/false\n",
                d.display()
            ),
        );
        let out = bounded(Command::new(bin("pre-build")).env("PBULK_CONF", &c), b"");
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        assert_eq!(
            text(&out.stderr),
            format!(
                "pre-build: refusing to clear bulklog=\"{bulklog}\" (from {}): {why}\n",
                c.display()
            )
        );
        assert_eq!(std::fs::read_to_string(d.join("x/marker")).unwrap(), "keep");
        assert!(d.join("x/y").is_dir() && d.join("pkgsrc").is_dir());
    }
}

fn pscan_with_dependency(pattern: &str) -> String {
    format!(
        "PKGNAME=app-1\nPKG_LOCATION=cat/app\nALL_DEPENDS={pattern}:../../cat/lib\n\
         PKGNAME=lib-1\nPKG_LOCATION=cat/lib\nALL_DEPENDS=\n"
    )
}

#[test]
fn thirty_brace_groups_are_refused_at_once_naming_the_package() {
    let dir = tempfile::tempdir().unwrap();
    let pattern = "lib{,a}{,b}{,c}{,d}{,e}{,f}{,g}{,h}{,i}{,j}{,k}{,l}{,m}{,n}{,o}\
                   {,p}{,q}{,r}{,s}{,t}{,u}{,v}{,w}{,x}{,y}{,z}{,A}{,B}{,C}{,D}-[0-9]*";
    std::fs::write(dir.path().join("pscan"), pscan_with_dependency(pattern)).unwrap();
    let out = bounded(
        Command::new(bin("pbulk-resolve"))
            .arg("pscan")
            .current_dir(dir.path()),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "pbulk-resolve: Pattern `{pattern}' expands to more than 1024 alternatives \
             in the dependencies of app-1; refused\n"
        )
    );
    assert!(out.stdout.is_empty());
    // Repeated groups expand to few distinct texts and still resolve, as
    // an ordinary alternate does.
    for pattern in ["{lib,x}-[0-9]*", &format!("lib{}-1", "{,}".repeat(30))] {
        std::fs::write(dir.path().join("pscan"), pscan_with_dependency(pattern)).unwrap();
        let out = bounded(
            Command::new(bin("pbulk-resolve"))
                .arg("pscan")
                .current_dir(dir.path()),
            b"",
        );
        assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
        assert!(text(&out.stdout).contains("DEPENDS=lib-1\n"), "{pattern}");
    }
}

#[test]
fn huge_environment_values_are_refused_not_a_panic() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("tree")).unwrap();
    let huge = u64::MAX.to_string();
    let out = bounded(
        Command::new(bin("pbulk-scan"))
            .args(["-M", "/bin/false", "tree", "out"])
            .env("PBULK_SCAN_TIMEOUT", &huge)
            .current_dir(dir.path()),
        b"",
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stderr),
        format!(
            "pbulk-scan: PBULK_SCAN_TIMEOUT must be at most 316224000 seconds \
             (0 for no limit), not `{huge}`\n"
        )
    );
    // The masters' client timeouts go through the same reader.
    for (prog, var, args) in [
        (
            "pbulk-scan",
            "PBULK_SCAN_CLIENT_TIMEOUT",
            &["-M", "/bin/false", "-m", "127.0.0.1:0", "tree", "out"][..],
        ),
        (
            "pbulk-build",
            "PBULK_BUILD_CLIENT_TIMEOUT",
            &["-m", "127.0.0.1:0", "presolve", "s", "e"][..],
        ),
    ] {
        std::fs::write(
            dir.path().join("presolve"),
            "PKGNAME=app-1\nPKG_SKIP_REASON=\nPKG_FAIL_REASON=\n",
        )
        .unwrap();
        let out = bounded(
            Command::new(bin(prog))
                .args(args)
                .env(var, "99999999999999999999999")
                .current_dir(dir.path()),
            b"",
        );
        assert_eq!(out.status.code(), Some(1), "{prog}: {}", text(&out.stderr));
        assert!(
            text(&out.stderr).starts_with(&format!("{prog}: {var} must be")),
            "{}",
            text(&out.stderr)
        );
    }
}

#[test]
fn an_empty_pbulk_conf_is_an_error_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let c = conf(dir.path(), "");
    for prog in ["bulkbuild", "pre-build", "bulkbuild-restart"] {
        let out = bounded(Command::new(bin(prog)).env("PBULK_CONF", &c), b"");
        assert_eq!(out.status.code(), Some(1), "{prog}");
        assert_eq!(
            text(&out.stderr),
            format!(
                "{prog}: {} sets no config_version: it is empty or not a pbulk.conf \
                 (this version of pbulk expects config_version=0.68)\n",
                c.display()
            ),
            "{prog}"
        );
        assert!(out.stdout.is_empty(), "{prog}");
    }
}

#[test]
fn invalid_input_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let good = "PKGNAME=app-1\nPKG_LOCATION=cat/app\nALL_DEPENDS=\n";
    std::fs::write(
        dir.path().join("pscan"),
        format!(
            "{good}{}PKGNAME=x y\nPKG_LOCATION=c/x\n",
            good.replace("app", "bpp")
        ),
    )
    .unwrap();
    let out = bounded(
        Command::new(bin("pbulk-resolve"))
            .arg("pscan")
            .current_dir(dir.path()),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "pbulk-resolve: Invalid input: pscan, line 7: a PKGNAME shorter than 4 bytes or with a blank\n"
    );
    std::fs::write(
        dir.path().join("presolve"),
        "PKGNAME=app-1\nPKG_SKIP_REASON=\nPKG_FAIL_REASON=\nPKGNAME=b c\n",
    )
    .unwrap();
    let out = bounded(
        Command::new(bin("pbulk-build"))
            .args(["-b", "/bin/true", "presolve", "s", "e"])
            .current_dir(dir.path()),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "pbulk-build: Invalid input: presolve, line 4: \
         a PKGNAME too short, with a blank or without newline\n"
    );
}

#[test]
fn bulkbuild_rebuild_refuses_an_unsafe_name_before_building_anything() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::create_dir_all(d.join("bulklog/meta")).unwrap();
    std::fs::write(
        d.join("bulklog/meta/presolve"),
        "PKGNAME=a-1\nPKG_LOCATION=cat/a\nPKGNAME=../x-1\nPKG_LOCATION=cat/x\n",
    )
    .unwrap();
    let script = d.join("pkg-build");
    std::fs::write(
        &script,
        format!("#!/bin/sh\ncat >> {}\n", d.join("fed").display()),
    )
    .unwrap();
    let mode = std::os::unix::fs::PermissionsExt::from_mode(0o755);
    std::fs::set_permissions(&script, mode).unwrap();
    let c = conf(
        d,
        &format!(
            "config_version=0.68\nbulklog={0}/bulklog\nloc={0}/bulklog/meta\npbuild_script={0}/pkg-build\n",
            d.display()
        ),
    );
    let out = bounded(
        Command::new(bin("bulkbuild-rebuild"))
            .args(["a-1", "../x-1"])
            .env("PBULK_CONF", &c),
        b"",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "bulkbuild-rebuild: package name `../x-1' contains a /\n"
    );
    assert!(out.stdout.is_empty());
    assert!(!d.join("fed").exists(), "nothing was built");
}

/// Whether this test process may make a private mount namespace with a
/// small tmpfs (root with unshare(1)); otherwise one line says why not,
/// and under CI=true that is a failure.
fn can_mount_tmpfs() -> bool {
    let ok = nix::unistd::geteuid().is_root()
        && Command::new("unshare")
            .args(["-m", "--propagation", "private", "true"])
            .status()
            .is_ok_and(|s| s.success());
    if !ok {
        common::skip(
            "the full-disk scan test",
            "it needs root and unshare(1) for a small tmpfs",
        );
    }
    ok
}

#[test]
fn a_scan_filling_the_disk_says_so_on_the_terminal() {
    if !can_mount_tmpfs() {
        return;
    }
    let t = scan_fake::Tree::new();
    t.subdirs("", "cat\n");
    t.subdirs("cat", "big\n");
    let big = scan_fake::record("big-1", "", "") + &format!("COMMENT={}\n", "x".repeat(256 * 1024));
    t.package("cat/big", &big);
    let loc = t.path("bulklog/meta");
    std::fs::create_dir_all(&loc).unwrap();
    let c = conf(
        t.tmp.path(),
        &format!(
            "config_version=0.68\nmaster_mode=no\nbulklog={}\nloc=${{bulklog}}/meta\npkgsrc={}\n\
             make={}\npscan={}\npresolve=/bin/false\n",
            t.path("bulklog").display(),
            t.root.display(),
            t.make.display(),
            bin("pbulk-scan").display(),
        ),
    );
    // ${loc} on a 64 KiB tmpfs in a mount namespace of the phase's own.
    let out = bounded(
        Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c"])
            .arg("mount -t tmpfs -o size=64k names-guards-full \"$1\" && exec \"$2\"")
            .arg("sh")
            .arg(&loc)
            .arg(bin("scan"))
            .env("PBULK_CONF", &c),
        b"",
    );
    assert_ne!(out.status.code(), Some(0));
    let err = text(&out.stderr);
    assert!(
        err.starts_with("scan: pbulk-scan failed (status 1); its last message: pbulk-scan: ")
            && err.ends_with(": No space left on device\n"),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1, "{err}");
    // The namespace took its tmpfs along: nothing was written here.
    assert!(std::fs::read_dir(&loc).unwrap().next().is_none());
}
