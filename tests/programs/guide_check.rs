//! pbulk-check, the setup check: a complete set-up passes, every problem
//! it reports is found on a set-up that has it, its usage text is its
//! page's synopsis, and the configuration the demo writes (the guide's
//! steps) passes.

use crate::support::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use common::bin;

fn which(prog: &str) -> String {
    let out = Command::new("sh")
        .args(["-c", &format!("command -v {prog}")])
        .output()
        .unwrap();
    String::from_utf8(out.stdout).unwrap().trim().to_string()
}

fn write_exec(p: &Path, text: &str) {
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

const MK_CONF_GOOD: &str = "LOCALBASE=\t@D@/pkg
PKG_DBDIR=\t@D@/pkg/.pkgdb
WRKOBJDIR=\t@D@/scratch
DISTDIR=\t@D@/distfiles
PACKAGES=\t@D@/packages
ALLOW_VULNERABLE_PACKAGES=\tyes
SKIP_LICENSE_CHECK=\tyes
";

/// A complete local set-up under a temporary directory, laid out as the
/// guide lays it out, with a bootstrap kit holding bmake and mk.conf.
struct Site {
    tmp: tempfile::TempDir,
}

impl Site {
    fn new() -> Site {
        let site = Site {
            tmp: tempfile::tempdir().unwrap(),
        };
        let d = site.dir();
        for sub in [
            "bulklog",
            "packages",
            "pkgsrc/mk",
            "scratch",
            "distfiles",
            "var",
        ] {
            std::fs::create_dir_all(d.join(sub)).unwrap();
        }
        site.kit(
            &d.join("pkg"),
            &MK_CONF_GOOD.replace("@D@", &d.display().to_string()),
        );
        site
    }

    fn dir(&self) -> PathBuf {
        self.tmp.path().to_path_buf()
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.dir().join(rel)
    }

    /// A kit for `prefix` holding bin/bmake and etc/mk.conf, packed as
    /// bootstrap does (relative to /), at kit.tar.gz.
    fn kit(&self, prefix: &Path, mk_conf: &str) {
        let stage = self.p("stage");
        let _ = std::fs::remove_dir_all(&stage);
        let root = stage.join(prefix.strip_prefix("/").unwrap());
        std::fs::create_dir_all(root.join("bin")).unwrap();
        std::fs::create_dir_all(root.join("etc")).unwrap();
        write_exec(&root.join("bin/bmake"), "#!/bin/sh\nexec bmake \"$@\"\n");
        std::fs::write(root.join("etc/mk.conf"), mk_conf).unwrap();
        let st = Command::new("tar")
            .arg("-czf")
            .arg(self.p("kit.tar.gz"))
            .arg("-C")
            .arg(&stage)
            .arg(prefix.strip_prefix("/").unwrap())
            .status()
            .unwrap();
        assert!(st.success());
    }

    fn conf(&self, extra: &str) -> PathBuf {
        let d = self.dir().display().to_string();
        let tools = common::root().join("tests/tools");
        let t = |n: &str| tools.join(n).display().to_string();
        let b = |n: &str| bin(n).display().to_string();
        let mut c = format!(
            "config_version=0.68\nmaster_mode=no\nbulklog={d}/bulklog\nloc=${{bulklog}}/meta\n\
             packages={d}/packages\nprefix={d}/pkg\npkgdb={d}/pkg/.pkgdb\nvarbase={d}/var\n\
             pkgsrc={d}/pkgsrc\nbootstrapkit={d}/kit.tar.gz\nunprivileged_user={user}\n\
             make=${{prefix}}/bin/bmake\npkg_add={}\npkg_admin={}\npkg_delete={}\npkg_info={}\n\
             digest={}\ngzip=\"{} -nf -9\"\nbzip2={}\ntar={}\nsed={}\nrsync=:\nmail=:\n",
            t("pkg_add"),
            t("pkg_admin"),
            t("pkg_delete"),
            t("pkg_info"),
            t("digest"),
            which("gzip"),
            which("bzip2"),
            which("tar"),
            which("sed"),
            user = nix::unistd::User::from_uid(nix::unistd::getuid())
                .unwrap()
                .unwrap()
                .name,
        );
        for (var, prog) in [
            ("pscan", "pbulk-scan"),
            ("presolve", "pbulk-resolve"),
            ("pbuild", "pbulk-build"),
            ("pbuild_script", "pkg-build"),
            ("pkg_up_to_date_script", "pkg-up-to-date"),
            ("script_phase_pre_build", "pre-build"),
            ("script_phase_scan", "scan"),
            ("script_phase_build", "build"),
            ("script_phase_report", "report"),
            ("script_phase_upload", "upload"),
        ] {
            c.push_str(&format!("{var}={}\n", b(prog)));
        }
        c.push_str(extra);
        let path = self.p("pbulk.conf");
        std::fs::write(&path, c).unwrap();
        path
    }

    fn check(&self, extra: &str, args: &[&str]) -> Output {
        let conf = self.conf(extra);
        Command::new(bin("pbulk-check"))
            .args(args)
            .arg(conf)
            .env_remove("PBULK_CONF")
            .output()
            .unwrap()
    }
}

fn lines(o: &Output, level: &str) -> Vec<String> {
    String::from_utf8_lossy(&o.stdout)
        .lines()
        .filter(|l| l.starts_with(&format!("{level}: ")))
        .map(str::to_string)
        .collect()
}

/// Exactly one error line, containing every one of `want`; exit 1.
fn one_error(o: &Output, want: &[&str]) {
    let text = String::from_utf8_lossy(&o.stdout);
    let errors = lines(o, "error");
    assert_eq!(errors.len(), 1, "{text}");
    for w in want {
        assert!(errors[0].contains(w), "{w:?} not in {:?}", errors[0]);
    }
    assert_eq!(o.status.code(), Some(1), "{text}");
    assert!(text
        .lines()
        .last()
        .unwrap()
        .starts_with("pbulk-check: 1 error,"));
}

#[test]
fn a_complete_set_up_passes_without_warnings() {
    let site = Site::new();
    let out = site.check("", &[]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    assert!(
        lines(&out, "error").is_empty() && lines(&out, "warning").is_empty(),
        "{text}"
    );
    assert!(
        text.contains("note: on one file system: bulklog ("),
        "{text}"
    );
    assert!(
        text.ends_with("(0 warnings)\n") && text.contains("pbulk-check: nothing blocks a build"),
        "{text}"
    );
    // A relative name is the file here, not one looked up in PATH.
    let out = Command::new(bin("pbulk-check"))
        .arg("pbulk.conf")
        .current_dir(site.dir())
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn a_tree_without_mk() {
    let site = Site::new();
    std::fs::remove_dir(site.p("pkgsrc/mk")).unwrap();
    one_error(&site.check("", &[]), &["pkgsrc=", "has no mk/ directory"]);
}

#[test]
fn a_missing_tool_and_one_that_cannot_run() {
    let site = Site::new();
    let out = site.check("pkg_add=/nonexistent/sbin/pkg_add\n", &[]);
    one_error(&out, &["pkg_add=/nonexistent/sbin/pkg_add", "install it"]);

    write_exec(&site.p("digest"), "#!/nonexistent/bin/perl\n");
    let conf = format!("digest={}\n", site.p("digest").display());
    one_error(
        &site.check(&conf, &[]),
        &["digest=", "interpreter /nonexistent/bin/perl"],
    );

    one_error(&site.check("mail=\n", &[]), &["mail is not set"]);
}

#[test]
fn tools_inside_the_build_prefix() {
    let site = Site::new();
    // pkg_info in the prefix is wiped with it.
    let out = site.check("pkg_info=${prefix}/sbin/pkg_info\n", &[]);
    one_error(&out, &["pkg_info=", "lies in prefix=", "/usr/pkg_bulk"]);
    // make in the prefix is fine only when the kit puts it there.
    let out = site.check("make=${prefix}/bin/gmake\n", &[]);
    one_error(&out, &["make=", "the bootstrap kit holds no such file"]);
}

#[test]
fn unwritable_directories() {
    let site = Site::new();
    // The unprivileged user cannot write the scratch area (any caller).
    std::fs::set_permissions(site.p("scratch"), std::fs::Permissions::from_mode(0o755)).unwrap();
    if nix::unistd::User::from_name("nobody").unwrap().is_some() {
        let out = site.check("unprivileged_user=nobody\n", &[]);
        one_error(
            &out,
            &["unprivileged_user=nobody cannot write", "WRKOBJDIR="],
        );
    } else {
        println!("no user nobody here: the unprivileged_user case is not checked");
    }
    // A file where a directory should be.
    std::fs::remove_dir(site.p("packages")).unwrap();
    std::fs::write(site.p("packages"), "").unwrap();
    one_error(&site.check("", &[]), &["packages=", "is not a directory"]);
    std::fs::remove_file(site.p("packages")).unwrap();
    std::fs::create_dir(site.p("packages")).unwrap();
    // Permission bits do not stop root; elsewhere they do.
    if nix::unistd::geteuid().is_root() {
        println!("running as root: the mode 0555 case is not checked");
        return;
    }
    std::fs::set_permissions(site.p("packages"), std::fs::Permissions::from_mode(0o555)).unwrap();
    one_error(&site.check("", &[]), &["packages=", "is not writable"]);
}

#[test]
fn a_kit_that_is_not_a_tarball_or_for_another_prefix() {
    let site = Site::new();
    std::fs::write(site.p("kit.tar.gz"), "not a tarball\n").unwrap();
    one_error(
        &site.check("", &[]),
        &["bootstrapkit=", "is not a gzip'd tarball"],
    );
    let conf = format!("bootstrapkit={}/nonexistent.tar.gz\n", site.dir().display());
    one_error(
        &site.check(&conf, &[]),
        &["nonexistent.tar.gz", "make it with bootstrap"],
    );

    site.kit(Path::new("/usr/other"), "");
    one_error(
        &site.check("", &[]),
        &["holds nothing under prefix=", "(it holds usr)"],
    );
}

#[test]
fn the_mk_conf_the_kit_carries() {
    let site = Site::new();
    let d = site.dir().display().to_string();
    // Another LOCALBASE: pbulk would empty one prefix and build into another.
    let mk = MK_CONF_GOOD
        .replace("@D@", &d)
        .replace(&format!("LOCALBASE=\t{d}/pkg"), "LOCALBASE=\t/usr/pkg");
    site.kit(&site.p("pkg"), &mk);
    one_error(
        &site.check("", &[]),
        &["sets LOCALBASE=/usr/pkg", "prefix="],
    );
    // What the guide's fragment adds: warnings only, exit 0.
    site.kit(
        &site.p("pkg"),
        &format!("LOCALBASE= {d}/pkg\n.if 1\nPACKAGES?= {d}/other\n.endif\n"),
    );
    let out = site.check("", &[]);
    let warnings = lines(&out, "warning").join("\n");
    for w in [
        "sets PACKAGES=",
        "sets no WRKOBJDIR",
        "sets no DISTDIR",
        "ALLOW_VULNERABLE_PACKAGES=yes",
        "SKIP_LICENSE_CHECK=yes",
    ] {
        assert!(warnings.contains(w), "{w:?} not in {warnings}");
    }
    assert_eq!(out.status.code(), Some(0));
    // No kit at all: a warning.
    let out = site.check("bootstrapkit=\n", &[]);
    assert!(lines(&out, "warning")[0].contains("bootstrapkit is empty"));
}

#[test]
fn version_master_mode_and_user() {
    let site = Site::new();
    one_error(
        &site.check("config_version=0.67\n", &[]),
        &["config_version=0.67", "0.68"],
    );
    one_error(
        &site.check("master_mode=maybe\n", &[]),
        &["master_mode=maybe"],
    );
    one_error(
        &site.check("unprivileged_user=no-such-user-guide\n", &[]),
        &["unprivileged_user=no-such-user-guide does not exist"],
    );
}

#[test]
fn clients_in_master_mode() {
    let site = Site::new();
    // A stand-in ssh: host "good" runs the command here (so it sees the
    // same directories), any other host is unreachable.
    let fake = site.p("fakebin");
    std::fs::create_dir(&fake).unwrap();
    write_exec(
        &fake.join("ssh"),
        "#!/bin/sh\nwhile [ $# -gt 2 ]; do shift; done\ncase $1 in\n\
         good) exec sh -c \"$2\" ;;\n*) echo \"ssh: connect to host $1 port 22: Connection refused\" >&2; exit 255 ;;\nesac\n",
    );
    let chroot = site.p("chroot");
    std::fs::create_dir(&chroot).unwrap();
    let extra = format!(
        "master_mode=yes\nscan_clients=\"good {}\"\nbuild_clients=\"good down:2222\"\n",
        chroot.display()
    );
    let conf = site.conf(&extra);
    let path = format!("{}:{}", fake.display(), std::env::var("PATH").unwrap());
    let out = Command::new(bin("pbulk-check"))
        .arg(&conf)
        .env("PATH", &path)
        .output()
        .unwrap();
    let errors = lines(&out, "error");
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert!(errors[0].contains(&format!(
        "client {} (a chroot) does not see",
        chroot.display()
    )));
    assert!(errors[0].contains("/bulklog") && errors[0].contains("/pkgsrc/mk"));
    // Host "good" is not named: it sees every shared directory.
    assert!(errors[1].contains("client down:2222 does not answer over ssh (ssh: connect to host down port 22: Connection refused)"));
    assert_eq!(out.status.code(), Some(1));

    // -n leaves the clients alone.
    let out = Command::new(bin("pbulk-check"))
        .arg("-n")
        .arg(&conf)
        .env("PATH", &path)
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    assert!(lines(&out, "note")
        .iter()
        .any(|l| l.contains("-n: the clients")));
}

#[test]
fn usage_is_the_synopsis_of_the_page() {
    for args in [&["-h"][..], &["--help"], &["-x"], &["a", "b"]] {
        let out = Command::new(bin("pbulk-check"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        assert_eq!(
            String::from_utf8_lossy(&out.stderr),
            "usage: pbulk-check [-n] [config]\n"
        );
    }
    let page = common::root().join("man/pbulk-check.1");
    let Ok(out) = Command::new("mandoc")
        .args(["-T", "lint", "-W", "warning"])
        .arg(&page)
        .output()
    else {
        assert!(std::env::var("CI").is_err(), "mandoc is needed under CI");
        println!("mandoc is not installed: the page is not checked");
        return;
    };
    assert!(
        out.status.success() && out.stdout.is_empty(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    let text = Command::new("mandoc")
        .args(["-T", "ascii"])
        .arg(&page)
        .output()
        .unwrap();
    // Take out the overstrike of bold and underlined text.
    let mut plain = String::new();
    for c in String::from_utf8_lossy(&text.stdout).chars() {
        if c == '\u{8}' {
            plain.pop();
        } else {
            plain.push(c);
        }
    }
    let text = plain;
    let synopsis: String = text
        .lines()
        .skip_while(|l| *l != "SYNOPSIS")
        .nth(1)
        .unwrap()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        format!("usage: {synopsis}\n"),
        "usage: pbulk-check [-n] [config]\n"
    );
}

/// GNU make runs the Makefile; without it the demo cannot be set up.
fn gnu_make() -> Option<&'static str> {
    ["make", "gmake"].into_iter().find(|m| {
        Command::new(m)
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).starts_with("GNU Make"))
    })
}

#[test]
fn the_demo_configuration_passes() {
    let Some(make) = gnu_make() else {
        common::skip("the_demo_configuration_passes", "GNU make is not installed");
        return;
    };
    let work = tempfile::tempdir().unwrap();
    let prefix = work.path().join("pbulk");
    let builddir = bin("pbulk-check").parent().unwrap().to_path_buf();
    // pbulk-check is run with PBULK_CONF: not the prefix it was built for.
    let out = Command::new(make)
        .current_dir(common::root())
        .args(["-s", "install-only", "CHECK_PATHS=no"])
        .arg(format!("PREFIX={}", prefix.display()))
        .arg(format!("BUILDDIR={}", builddir.display()))
        .env_remove("MAKEFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new("sh")
        .arg(common::root().join("tools/demo-conf"))
        .arg(work.path())
        .arg(&prefix)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let out = Command::new(prefix.join("bin/pbulk-check"))
        .arg(prefix.join("etc/pbulk.conf"))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{text}");
    // The demo follows the guide: no warning either.
    assert!(lines(&out, "warning").is_empty(), "{text}");
}
