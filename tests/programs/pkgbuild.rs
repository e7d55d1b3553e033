//! pkg-build against real bmake and recording stand-in tools.

use crate::support::pkgbuild as pkgbuild_support;

use pkgbuild_support::{su_prefix, World};
use std::path::Path;

const FOO: &str = "PKGNAME=foo-1.0\nPKG_LOCATION=cat/foo\nALL_DEPENDS=bar>=1:../../cat/bar\n\
DEPENDS=bar-1.0 baz-2\nCATEGORIES=cat x\nMULTI_VERSION= PYVER=3  LUA=54\n\
USE_DESTDIR=user-destdir\nUSERGROUP_PHASE=pre-configure\nMAINTAINER=a@b\n";

/// What bmake adds when a target fails.
const STOP: &str = "*** Error code 1\n\nStop.\nbmake: stopped in T/pkgsrc/cat/foo\n";

fn world(fail: &str) -> World {
    let w = World::new();
    w.package("cat/foo", "foo-1.0", fail);
    w
}

fn make_wrapper(su: &str, target: &str) -> Vec<String> {
    let args = format!(
        "[T/tools/make] [{target}] [BATCH=1] [DEPENDS_TARGET=/nonexistent] [PYVER=3] [LUA=54] [WRKLOG=T/bulklog/foo-1.0/work.log]"
    );
    let mut v = Vec::new();
    if !su.is_empty() {
        v.push(format!("su {}{args}", &su[3..]));
    }
    v.push(format!("make {}", &args["[T/tools/make] ".len()..]));
    v
}

fn calls_of_success(checksum_su: &str) -> Vec<String> {
    let su = su_prefix();
    let mut want = vec![
        "uptodate [foo-1.0] [bar-1.0] [baz-2]".to_string(),
        "client-clean [PBULK_CONF=T/pbulk.conf]".into(),
        "make [clean]".into(),
        "pkg_add [-K] [T/pkgdb] [bar-1.0] [baz-2] [PKG_PATH=T/packages/All]".into(),
    ];
    want.extend(make_wrapper(checksum_su, "checksum"));
    want.push("make [create-usergroup] [clean]".into());
    want.extend(make_wrapper(&su, "configure"));
    want.extend(make_wrapper(&su, "all"));
    want.extend(make_wrapper(&su, "stage-install"));
    want.extend(make_wrapper("", "stage-package-create"));
    want.extend(
        make_wrapper("", "show-var")
            .into_iter()
            .map(|l| l.replace("[show-var]", "[show-var] [VARNAME=STAGE_PKGFILE]")),
    );
    want.push(
        "pkg_add [-K] [T/pkgdb] [T/pkgsrc/cat/foo/work/foo-1.0.tgz] [PKG_PATH=T/packages/All]"
            .into(),
    );
    want.push("pkg_delete [-K] [T/pkgdb] [foo-1.0]".into());
    want.push("make [clean]".into());
    want
}

#[test]
fn success_runs_every_step_in_order_and_publishes() {
    let w = world("");
    let out = w.run("pkg-build", &[], FOO);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.calls(), calls_of_success(""));
    let pkg = w.read("packages/All/foo-1.0.tgz");
    assert!(
        pkg.starts_with("B Makefile:$NetBSD: Makefile,v 1.1"),
        "{pkg}"
    );
    assert!(
        !w.p("bulklog/foo-1.0").exists(),
        "logs are removed on success"
    );
    let names: Vec<_> = std::fs::read_dir(w.p("packages/All"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(
        names,
        ["foo-1.0.tgz"],
        "no temporary file is left beside the package"
    );
}

#[test]
fn unprivileged_checksum_uses_su_when_root() {
    let mut w = world("");
    w.conf_extra.push("use_unprivileged_checksum=yes".into());
    let out = w.run("pkg-build", &[], FOO);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(w.calls(), calls_of_success(&su_prefix()));
}

#[test]
fn failure_runs_the_handler_and_keeps_ordered_logs() {
    let mut w = world("all");
    w.conf_extra.push("keep_wrkdir=yes".into());
    let out = w.run(
        "pkg-build",
        &[],
        FOO.replace(
            "USERGROUP_PHASE=pre-configure",
            "USERGROUP_PHASE=post-build",
        )
        .as_str(),
    );
    assert_eq!(out.status.code(), Some(1));
    let calls = w.calls();
    let tail: Vec<_> = calls[calls.len() - 3..].to_vec();
    assert_eq!(
        tail,
        [
            "make [pbulk-save-wrkdir] [INTO=T/bulklog/foo-1.0/wrkdir.tar.gz] [TAR=tar]",
            "make [clean]",
            "sync_buildlog [T/bulklog] [foo-1.0]",
        ]
    );
    assert!(
        calls.iter().any(|c| c == "make [create-usergroup]"),
        "{calls:?}"
    );
    assert!(!calls.iter().any(|c| c.contains("stage-install")));
    assert_eq!(
        w.read("bulklog/foo-1.0/pre-clean.log"),
        "clean of foo-1.0\n"
    );
    assert_eq!(w.read("bulklog/foo-1.0/depends.log"), "added\n");
    assert_eq!(
        w.read("bulklog/foo-1.0/checksum.log"),
        "checksum of foo-1.0\n"
    );
    assert_eq!(
        w.read("bulklog/foo-1.0/configure.log"),
        "configure of foo-1.0\n"
    );
    assert_eq!(
        w.read("bulklog/foo-1.0/build.log"),
        format!("create-usergroup of foo-1.0\nall of foo-1.0\nall failed\n{STOP}")
    );
    let mut files: Vec<_> = std::fs::read_dir(w.p("bulklog/foo-1.0"))
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    files.sort();
    assert_eq!(
        files,
        [
            "build.log",
            "checksum.log",
            "configure.log",
            "depends.log",
            "pre-clean.log",
            "work.log"
        ]
    );
    assert!(!w.p("packages/All/foo-1.0.tgz").exists());
}

#[test]
fn stale_logs_are_removed_and_usergroup_output_precedes_configure() {
    let w = world("stage-package-create");
    std::fs::create_dir_all(w.p("bulklog/foo-1.0")).unwrap();
    std::fs::write(w.p("bulklog/foo-1.0/old.log"), "stale").unwrap();
    std::fs::write(w.p("bulklog/foo-1.0/.hidden"), "kept").unwrap();
    let out = w.run("pkg-build", &[], FOO);
    assert_eq!(out.status.code(), Some(1));
    assert!(!w.p("bulklog/foo-1.0/old.log").exists());
    assert!(
        w.p("bulklog/foo-1.0/.hidden").exists(),
        "the glob skips dot files"
    );
    assert_eq!(
        w.read("bulklog/foo-1.0/configure.log"),
        "create-usergroup of foo-1.0\nclean of foo-1.0\nconfigure of foo-1.0\n"
    );
    assert_eq!(
        w.read("bulklog/foo-1.0/install.log"),
        "stage-install of foo-1.0\n"
    );
    assert_eq!(
        w.read("bulklog/foo-1.0/package.log"),
        format!("stage-package-create of foo-1.0\n{STOP}")
    );
    let md = std::fs::metadata(w.p("bulklog/foo-1.0/work.log")).unwrap();
    let user = nix::unistd::User::from_name(&pkgbuild_support::unprivileged_user())
        .unwrap()
        .unwrap();
    assert_eq!(
        std::os::unix::fs::MetadataExt::uid(&md),
        user.uid.as_raw(),
        "work.log is chowned"
    );
}

#[test]
fn keep_prefix_archives_the_prefix_after_install() {
    let mut w = world("stage-package-create");
    w.conf_extra.push("keep_prefix=yes".into());
    std::fs::write(w.p("prefix/marker"), "x").unwrap();
    let out = w.run("pkg-build", &[], FOO);
    assert_eq!(out.status.code(), Some(1));
    let list = std::process::Command::new("tar")
        .arg("-tzf")
        .arg(w.p("bulklog/foo-1.0/prefix.tar.gz"))
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&list.stdout).contains("prefix/marker"));
}

#[test]
fn pre_clean_and_stage_pkgfile_failures_abort_without_handler() {
    let w = world("clean");
    let out = w.run("pkg-build", &[], FOO);
    assert_eq!(out.status.code(), Some(1));
    let calls = w.calls();
    assert_eq!(calls.last().unwrap(), "make [clean]");
    assert!(!calls.iter().any(|c| c.starts_with("sync_buildlog")));
    assert_eq!(
        w.read("bulklog/foo-1.0/pre-clean.log"),
        format!("clean of foo-1.0\nclean failed\n{STOP}")
    );

    let w = world("");
    w.tool(
        "make",
        "log \"$@\"\n[ \"$1\" = show-var ] && exit 3\nexec bmake \"$@\"\n",
    );
    let out = w.run("pkg-build", &[], FOO);
    assert_eq!(out.status.code(), Some(3), "the query's own status");
    let calls = w.calls();
    assert!(calls.last().unwrap().contains("[VARNAME=STAGE_PKGFILE]"));
    assert!(!calls.iter().any(|c| c.starts_with("sync_buildlog")));
}

#[test]
fn handler_status_comes_from_a_failing_sync_buildlog() {
    let w = world("checksum");
    w.tool("sync_buildlog", "log \"$@\"\nexit 7\n");
    let out = w.run("pkg-build", &[], FOO);
    assert_eq!(out.status.code(), Some(7));
}

#[test]
fn dependency_add_failure_goes_to_the_handler() {
    let w = world("");
    let out = w.run(
        "pkg-build",
        &[],
        &FOO.replace("DEPENDS=bar-1.0", "DEPENDS=broken-1"),
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        w.read("bulklog/foo-1.0/depends.log"),
        "cannot add broken-1\n"
    );
    assert_eq!(
        w.calls().last().unwrap(),
        "sync_buildlog [T/bulklog] [foo-1.0]"
    );
}

#[test]
fn up_to_date_package_exits_at_once() {
    let w = world("");
    std::fs::write(w.p("uptodate-status"), "0").unwrap();
    let out = w.run("pkg-build", &[], FOO);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(w.calls(), ["uptodate [foo-1.0] [bar-1.0] [baz-2]"]);
    assert!(!w.p("bulklog/foo-1.0").exists());
}

#[test]
fn bootstrap_packages_are_not_test_installed() {
    let w = world("");
    let rec = format!("{FOO}BOOTSTRAP_PKG=yes\nDEPENDS=\n");
    let out = w.run("pkg-build", &[], &rec);
    assert_eq!(out.status.code(), Some(0));
    let calls = w.calls();
    assert!(
        !calls
            .iter()
            .any(|c| c.starts_with("pkg_add") || c.starts_with("pkg_delete")),
        "{calls:?}"
    );
    assert_eq!(
        calls[0], "uptodate [foo-1.0]",
        "the last DEPENDS= line wins"
    );
    assert!(w.p("packages/All/foo-1.0.tgz").exists());
}

#[test]
fn cross_builds_add_into_the_destdir_and_fix_recorded_cwd() {
    let mut w = world("");
    w.conf_extra.push("cross_compile=yes".into());
    let db = w.p("destdir").join(w.p("pkgdb").strip_prefix("/").unwrap());
    std::fs::create_dir_all(db.join("bar-1.0")).unwrap();
    let destdir = w.s("destdir");
    std::fs::write(
        db.join("bar-1.0/+CONTENTS"),
        format!("@name bar-1.0\n@cwd {destdir}/usr/pkg\nbin/bar\n"),
    )
    .unwrap();
    let out = w.run("pkg-build", &[], FOO);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = w.calls();
    // target_destdir and pkgdb/prefix are both absolute: plain concatenation.
    let add = "pkg_add [-K] [T/destdirT/pkgdb] [-m] [vax] [-I] [-p] [T/destdirT/prefix]";
    assert_eq!(
        calls[3],
        format!("{add} [bar-1.0] [baz-2] [PKG_PATH=T/packages/All]")
    );
    assert_eq!(calls[4], "pkg_info [-K] [T/destdirT/pkgdb]");
    assert!(calls
        .iter()
        .any(|c| c.starts_with(add) && c.contains("work/foo-1.0.tgz")));
    assert!(
        !calls.iter().any(|c| c.starts_with("pkg_delete")),
        "no deinstall test when cross compiling"
    );
    assert_eq!(
        std::fs::read_to_string(db.join("bar-1.0/+CONTENTS")).unwrap(),
        "@name bar-1.0\n@cwd /usr/pkg\nbin/bar\n"
    );
    assert!(!db.join("bar-1.0/+CONTENTS.tmp").exists());
}

#[test]
fn custom_sync_package_runs_in_the_config_context() {
    let mut w = world("");
    let synced = w.s("synced");
    w.conf_extra.push(format!(
        "mysync() {{ printf '%s|%s|%s|%s|%s\\n' \"$pkgname\" \"$pkgdir\" \"$1\" \"$2\" \"$3\" > {synced}; }}\nsync_package=mysync"
    ));
    let out = w.run("pkg-build", &[], FOO);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        w.read("synced"),
        "foo-1.0|cat/foo|T/pkgsrc/cat/foo/work/foo-1.0.tgz|foo-1.0|cat x\n"
    );
    assert!(!w.p("packages/All/foo-1.0.tgz").exists());
}

#[test]
fn failing_sync_package_is_a_handled_failure() {
    let mut w = world("");
    w.conf_extra.push("sync_package=false".into());
    let out = w.run("pkg-build", &[], FOO);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        w.calls().last().unwrap(),
        "sync_buildlog [T/bulklog] [foo-1.0]"
    );
}

#[test]
fn version_mismatch_is_refused_before_reading_input() {
    let mut w = world("");
    w.conf_extra.push("config_version=0.67".into());
    let out = w.run("pkg-build", &[], FOO);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Your configuration has version 0.67.\nThis version of pbulk expects version 0.68.\n"
    );
    assert!(w.calls().is_empty());
    assert!(!Path::new(&w.p("bulklog/foo-1.0")).exists());
}

#[test]
fn a_record_without_pkgname_is_refused() {
    let w = world("");
    std::fs::write(w.p("bulklog/keep.txt"), "x").unwrap();
    let out = w.run(
        "pkg-build",
        &[],
        "PKG_LOCATION=cat/foo\nPKGNAME=partial-line-without-newline",
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        "pkg-build: no PKGNAME= line in the package record on stdin\n"
    );
    assert!(w.calls().is_empty());
    assert!(w.p("bulklog/keep.txt").exists());
}

#[test]
fn setup_failures_abort_with_the_shell_statuses() {
    // cd into a missing package directory: sh's status 2, no handler.
    let w = world("");
    let out = w.run("pkg-build", &[], &FOO.replace("cat/foo", "cat/missing"));
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains(
        "can't cd to T/pkgsrc/cat/missing"
            .replace('T', &w.s(""))
            .as_str()
    ));
    assert_eq!(
        w.calls().last().unwrap(),
        "client-clean [PBULK_CONF=T/pbulk.conf]"
    );

    // `rm -f dir/*` refuses a directory: status 1 before any make step.
    let w = world("");
    std::fs::create_dir_all(w.p("bulklog/foo-1.0/sub")).unwrap();
    let out = w.run("pkg-build", &[], FOO);
    assert_eq!(out.status.code(), Some(1));
    assert!(!w.calls().iter().any(|c| c.starts_with("make")));

    // A failing client-clean ends it with its own status.
    let w = world("");
    std::fs::write(w.p("libexec/client-clean"), "#!/bin/sh\nexit 6\n").unwrap();
    let out = w.run("pkg-build", &[], FOO);
    assert_eq!(out.status.code(), Some(6));
    assert!(!w.p("bulklog/foo-1.0").exists());
}

/// As an ordinary user nothing goes through su, whatever the config says.
/// Runs pkg-build as nobody through setpriv when the tests run as root.
#[test]
fn non_root_runs_every_step_directly() {
    if !pkgbuild_support::is_root() {
        // The other tests already expect direct runners then.
        return;
    }
    let mut w = world("");
    w.conf_extra.push("use_unprivileged_checksum=yes".into());
    let conf = w.write_conf();
    let chmod = std::process::Command::new("chmod")
        .arg("-R")
        .arg("a+rwX")
        .arg(w.p(""))
        .status()
        .unwrap();
    assert!(chmod.success());
    std::fs::set_permissions(&conf, std::os::unix::fs::PermissionsExt::from_mode(0o644)).unwrap();
    let cmd = w.command("pkg-build");
    // The checkout may not be reachable for nobody; run a copy.
    let bin = w.p("pkg-build");
    std::fs::copy(pkgbuild_support::common::bin("pkg-build"), &bin).unwrap();
    let nobody = nix::unistd::User::from_name("nobody").unwrap().unwrap();
    let mut setpriv = std::process::Command::new("setpriv");
    setpriv
        .arg(format!("--reuid={}", nobody.uid))
        .arg(format!("--regid={}", nobody.gid))
        .arg("--clear-groups")
        .arg(bin);
    for (k, v) in cmd.get_envs() {
        if let Some(v) = v {
            setpriv.env(k, v);
        }
    }
    setpriv.current_dir(w.p(""));
    use std::io::Write;
    let mut child = setpriv
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(FOO.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let direct: Vec<String> = calls_of_success("")
        .into_iter()
        .filter(|c| !c.starts_with("su "))
        .collect();
    assert_eq!(w.calls(), direct);
}

#[test]
fn hooks_find_a_relative_config_after_the_cd() {
    let mut w = world("");
    let synced = w.s("synced");
    w.conf_extra.push(format!(
        "mysync() {{ echo \"$2\" > {synced}; }}\nsync_package=mysync"
    ));
    use std::io::Write;
    let mut child = w
        .command("pkg-build")
        .env("PBULK_CONF", "./pbulk.conf")
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let _ = child.stdin.take().unwrap().write_all(FOO.as_bytes());
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(w.read("synced"), "foo-1.0\n");
    assert!(w
        .calls()
        .contains(&"client-clean [PBULK_CONF=T/pbulk.conf]".to_string()));
}
