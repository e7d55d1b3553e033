//! pre-build: rotation of the old log tree, the checks before any work,
//! master_mode handling and `meta/status`.

use crate::support::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use pbulk::cli::Channel;
use pbulk::config::Config;
use pbulk::phase::pre_build::{self, Env};

struct Fixture {
    dir: tempfile::TempDir,
}

const LINUX: &[(&str, &str)] = &[
    ("OPSYS", "Linux"),
    ("OS_VERSION", "6.1.0"),
    ("OS_VARIANT", ""),
    ("LOWER_VARIANT_VERSION", ""),
    ("MACHINE_ARCH", "x86_64"),
    ("PKGSRC_COMPILER", "gcc"),
];

impl Fixture {
    fn new(platform: &[(&str, &str)]) -> Fixture {
        let f = Fixture {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(f.path("pkgsrc/pkgtools/pkg_install")).unwrap();
        // A stand-in for bmake: logs where and how it was called, answers
        // show-var from the table.
        let mut script = format!(
            "#!/bin/sh\necho \"$PWD $*\" >> {}\ncase \"$2\" in\n",
            f.path("make.log").display()
        );
        for (k, v) in platform {
            script.push_str(&format!("VARNAME={k}) echo '{v}' ;;\n"));
        }
        script.push_str("VARNAME=FAIL_ME) exit 3 ;;\nesac\n");
        write_exec(&f.path("make"), &script);
        std::fs::write(
            f.path("os-release"),
            "NAME=\"Test\"\nPRETTY_NAME=\"Test OS 7 (x)\"\nID=test\n",
        )
        .unwrap();
        f
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn bulklog(&self) -> PathBuf {
        self.path("bulklog")
    }

    /// A configuration with the given lines appended.
    fn conf(&self, extra: &str) -> PathBuf {
        let p = self.path("pbulk.conf");
        std::fs::write(
            &p,
            format!(
                "config_version=0.68\nbase_url=http://example.org/reports\nmaster_mode=yes\n\
                 reuse_scan_results=no\ncross_compile=no\nbulklog={}\nloc=${{bulklog}}/meta\n\
                 pkgsrc={}\nmake={}\n{extra}",
                self.bulklog().display(),
                self.path("pkgsrc").display(),
                self.path("make").display()
            ),
        )
        .unwrap();
        p
    }

    fn cfg(&self, extra: &str) -> Config {
        Config::load_from(&self.conf(extra)).unwrap()
    }

    fn env(&self) -> Env {
        Env {
            client_clean: self.path("client-clean"),
            warn_delay: Duration::ZERO,
            os_release: self.path("os-release"),
        }
    }

    fn run_bin(&self, extra: &str) -> Output {
        let conf = self.conf(extra);
        Command::new(common::bin("pre-build"))
            .env("PBULK_CONF", conf)
            .output()
            .unwrap()
    }

    /// The previous run: meta with pscan, a failed package's logs, a dot-file.
    fn old_run(&self) {
        let b = self.bulklog();
        std::fs::create_dir_all(b.join("meta")).unwrap();
        std::fs::write(b.join("meta/pscan"), "PKGNAME=a-1\n").unwrap();
        std::fs::write(b.join("meta/status"), "OLD=1\n").unwrap();
        std::fs::create_dir_all(b.join("broken-1.0")).unwrap();
        std::fs::write(b.join("broken-1.0/build.log"), "error\n").unwrap();
        std::fs::write(b.join(".keep"), "dot\n").unwrap();
    }
}

fn write_exec(p: &Path, text: &str) {
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn status_keys_in_reference_order() {
    let f = Fixture::new(LINUX);
    let before = pbulk::phase::sys::now();
    pre_build::run(&f.cfg(""), &f.env()).unwrap();
    let after = pbulk::phase::sys::now();
    let status = std::fs::read_to_string(f.bulklog().join("meta/status")).unwrap();
    let lines: Vec<&str> = status.lines().collect();
    assert_eq!(
        lines[..8],
        [
            "PLATFORM=Linux 6.1.0/x86_64",
            "OPSYS=Linux",
            "OS_VERSION=6.1.0",
            "MACHINE_ARCH=x86_64",
            "OS_VARIANT=",
            "LOWER_VARIANT_VERSION=",
            "COMPILER=gcc",
            "PRETTY_NAME=Test OS 7 (x)",
        ]
    );
    assert_eq!(lines.len(), 12);
    let epoch: i64 = lines[10]
        .strip_prefix("BUILD_START_EPOCHE=")
        .unwrap()
        .parse()
        .unwrap();
    assert!((before..=after).contains(&epoch));
    let fmt = |f: &str| pbulk::phase::sys::strftime_local(epoch, f);
    assert_eq!(lines[8], fmt("BUILD_START_ISO=%Y-%m-%d %H:%M"));
    assert_eq!(lines[9], fmt("BUILD_START_DIR=%Y%m%d.%H%M"));
    assert_eq!(lines[11], "BASE_URL=http://example.org/reports");
    assert!(status.ends_with('\n'));

    // Six make calls, in the reference order, inside pkgtools/pkg_install.
    let log = std::fs::read_to_string(f.path("make.log")).unwrap();
    let dir = f.path("pkgsrc/pkgtools/pkg_install");
    let want: Vec<String> = [
        "OPSYS",
        "OS_VERSION",
        "OS_VARIANT",
        "LOWER_VARIANT_VERSION",
        "MACHINE_ARCH",
        "PKGSRC_COMPILER",
    ]
    .iter()
    .map(|v| format!("{} show-var VARNAME={v}", dir.display()))
    .collect();
    assert_eq!(log.lines().collect::<Vec<_>>(), want);
}

#[test]
fn platform_naming_for_sunos_and_cygwin() {
    let sunos = [
        ("OPSYS", "SunOS"),
        ("OS_VERSION", "5.11"),
        ("OS_VARIANT", "SmartOS"),
        ("LOWER_VARIANT_VERSION", "20240101T000000Z"),
        ("MACHINE_ARCH", "x86_64"),
        ("PKGSRC_COMPILER", "gcc clang"),
    ];
    let f = Fixture::new(&sunos);
    pre_build::run(&f.cfg(""), &f.env()).unwrap();
    let status = std::fs::read_to_string(f.bulklog().join("meta/status")).unwrap();
    assert!(
        status.starts_with("PLATFORM=SmartOS 20240101T000000Z/x86_64\nOPSYS=SunOS\n"),
        "{status}"
    );
    assert!(status.contains("\nCOMPILER=gcc clang\n"));

    let cygwin = [
        ("OPSYS", "Cygwin"),
        ("OS_VERSION", "3.4"),
        ("OS_VARIANT", "CYGWIN_NT"),
        ("MACHINE_ARCH", "x86_64"),
    ];
    let f = Fixture::new(&cygwin);
    std::fs::remove_file(f.path("os-release")).unwrap();
    pre_build::run(&f.cfg(""), &f.env()).unwrap();
    let status = std::fs::read_to_string(f.bulklog().join("meta/status")).unwrap();
    assert!(
        status.starts_with("PLATFORM=CYGWIN_NT 3.4/x86_64\n"),
        "{status}"
    );
    assert!(
        !status.contains("PRETTY_NAME"),
        "no os-release, no PRETTY_NAME"
    );
}

#[test]
fn fresh_run_prints_nothing_and_creates_the_tree() {
    let f = Fixture::new(LINUX);
    let out = f.run_bin("");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout(&out), "");
    // The program holds the bulk log's lock, which lives there.
    assert_eq!(names(&f.bulklog()), [".pbulk.lock", "meta"]);
    assert_eq!(names(&f.bulklog().join("meta")), ["status"]);
}

#[test]
fn rotation_removes_old_logs_after_the_warning() {
    let f = Fixture::new(LINUX);
    f.old_run();
    let t = Instant::now();
    let out = f.run_bin("");
    assert!(
        t.elapsed() >= Duration::from_secs(5),
        "the warning stands five seconds"
    );
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        "Warning: All log files of the previous pbulk run will be\n\
         removed in 5 seconds. If you want to abort, press Ctrl-C.\n\
         Removing old scan results\n"
    );
    // `rm -rf bulklog/*` leaves dot-files alone.
    assert_eq!(names(&f.bulklog()), [".keep", ".pbulk.lock", "meta"]);
    assert_eq!(names(&f.bulklog().join("meta")), ["status"]);
    assert!(!f.path("bulklog.old").exists());
}

#[test]
fn reuse_moves_the_old_tree_aside() {
    let f = Fixture::new(LINUX);
    f.old_run();
    std::fs::create_dir_all(f.path("bulklog.old/meta")).unwrap();
    std::fs::write(f.path("bulklog.old/meta/pscan"), "older\n").unwrap();
    let out = f.run_bin("reuse_scan_results=yes\n");
    assert_eq!(out.status.code(), Some(0));
    assert!(
        stdout(&out).ends_with("press Ctrl-C.\nReusing old scan results\n"),
        "{}",
        stdout(&out)
    );
    let old = f.path("bulklog.old");
    assert_eq!(names(&old), [".keep", "broken-1.0", "meta"]);
    assert_eq!(
        std::fs::read_to_string(old.join("meta/pscan")).unwrap(),
        "PKGNAME=a-1\n"
    );
    // The lock stays behind with the lock held on it.
    assert_eq!(names(&f.bulklog()), [".pbulk.lock", "meta"]);
}

#[test]
fn reuse_needs_exact_yes_and_a_pscan() {
    let f = Fixture::new(LINUX);
    f.old_run();
    pre_build::run(&f.cfg("reuse_scan_results=YES\n"), &f.env()).unwrap();
    assert!(!f.path("bulklog.old").exists());
    let f = Fixture::new(LINUX);
    f.old_run();
    std::fs::remove_file(f.bulklog().join("meta/pscan")).unwrap();
    pre_build::run(&f.cfg("reuse_scan_results=yes\n"), &f.env()).unwrap();
    assert!(!f.path("bulklog.old").exists());
}

#[test]
fn reuse_copy_into_an_old_tree_that_cannot_go() {
    // The branch for a `${bulklog}.old` that survives `rm -rf` (a mount
    // point): its contents are replaced by a copy of meta only.
    let f = Fixture::new(LINUX);
    f.old_run();
    let old = f.path("bulklog.old");
    std::fs::create_dir_all(old.join("stale")).unwrap();
    std::fs::write(old.join("stale/x"), "x").unwrap();
    std::fs::set_permissions(
        f.bulklog().join("meta/pscan"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    let cfg = f.cfg("");
    pre_build::refill_old(&cfg, &f.bulklog(), &old).unwrap();
    // find(1) removed every entry but meta, dot-files included.
    assert_eq!(names(&old), ["meta"]);
    assert_eq!(names(&old.join("meta")), ["pscan", "status"]);
    let md = std::fs::metadata(old.join("meta/pscan")).unwrap();
    assert_eq!(md.permissions().mode() & 0o777, 0o640, "cp -p keeps modes");
    assert_eq!(names(&f.bulklog()), Vec::<String>::new());
}

#[test]
fn master_mode_no_runs_client_clean_with_the_config() {
    let f = Fixture::new(LINUX);
    write_exec(
        &f.path("client-clean"),
        &format!(
            "#!/bin/sh\necho \"$PBULK_CONF\" > {}\n",
            f.path("cleaned").display()
        ),
    );
    let cfg = f.cfg("master_mode=NO\n");
    pre_build::run(&cfg, &f.env()).unwrap();
    assert_eq!(
        std::fs::read_to_string(f.path("cleaned")).unwrap(),
        format!("{}\n", cfg.path().display())
    );

    // A failing client-clean stops the phase with its status, before status.
    let f = Fixture::new(LINUX);
    write_exec(&f.path("client-clean"), "#!/bin/sh\nexit 4\n");
    let e = pre_build::run(&f.cfg("master_mode=no\n"), &f.env()).unwrap_err();
    assert_eq!(e.code, 4);
    assert!(!f.bulklog().join("meta/status").exists());
    assert!(
        f.bulklog().join("meta").is_dir(),
        "the tree is made before cleaning"
    );
}

#[test]
fn master_mode_yes_does_not_clean() {
    let f = Fixture::new(LINUX);
    write_exec(
        &f.path("client-clean"),
        &format!("#!/bin/sh\ntouch {}\n", f.path("cleaned").display()),
    );
    pre_build::run(&f.cfg("master_mode=Yes\n"), &f.env()).unwrap();
    assert!(!f.path("cleaned").exists());
}

#[test]
fn real_client_clean_program_through_pre_build() {
    let f = Fixture::new(LINUX);
    let prefix = f.path("usr/pkg");
    std::fs::create_dir_all(prefix.join("bin")).unwrap();
    std::fs::write(prefix.join("bin/old"), "").unwrap();
    let env = Env {
        client_clean: common::bin("client-clean"),
        ..f.env()
    };
    let cfg = f.cfg(&format!(
        "master_mode=no\nprefix={}\npkgdb={}/pkgdb\nvarbase={}\nbootstrapkit=\n",
        prefix.display(),
        prefix.display(),
        f.path("var").display()
    ));
    pre_build::run(&cfg, &env).unwrap();
    assert!(!prefix.exists(), "client-clean wiped the prefix");
    assert!(f.bulklog().join("meta/status").is_file());
}

#[test]
fn compiled_in_client_clean_is_checked_before_any_work() {
    let installed = pbulk::paths::libexec("client-clean");
    if installed.exists() {
        common::skip(
            "compiled_in_client_clean_is_checked_before_any_work",
            &format!("{} exists on this machine", installed.display()),
        );
        return;
    }
    let f = Fixture::new(LINUX);
    f.old_run();
    let out = f.run_bin("master_mode=no\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stderr),
        format!(
            "pre-build: cannot run {}: No such file or directory\n",
            installed.display()
        )
    );
    assert_eq!(stdout(&out), "");
    assert!(
        f.bulklog().join("broken-1.0/build.log").exists(),
        "nothing was removed"
    );
}

#[test]
fn bad_master_mode_changes_nothing() {
    let f = Fixture::new(LINUX);
    f.old_run();
    let out = f.run_bin("master_mode=sometimes\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stdout(&out), "master_mode must be either yes or no.\n");
    assert!(f.bulklog().join("broken-1.0/build.log").exists());
}

#[test]
fn missing_make_stops_before_any_work() {
    let f = Fixture::new(LINUX);
    f.old_run();
    let out = f.run_bin(&format!("make={}/bin/bmake\n", f.path("nowhere").display()));
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err,
        format!(
            "pre-build: cannot run make={}/bin/bmake (from {}): No such file or directory\n",
            f.path("nowhere").display(),
            f.path("pbulk.conf").display()
        )
    );
    assert_eq!(stdout(&out), "");
    assert!(f.bulklog().join("broken-1.0/build.log").exists());
    assert!(f.bulklog().join("meta/status").exists());
}

#[test]
fn failing_make_stops_with_its_status() {
    let f = Fixture::new(&[("OPSYS", "Linux")]);
    write_exec(
        &f.path("make"),
        "#!/bin/sh\n[ \"$2\" = VARNAME=MACHINE_ARCH ] && exit 3\necho v\n",
    );
    let e = pre_build::run(&f.cfg(""), &f.env()).unwrap_err();
    assert_eq!(e.code, 3);
    assert!(!f.bulklog().join("meta/status").exists());
}

#[test]
fn cross_compile_checks() {
    let f = Fixture::new(LINUX);
    std::fs::create_dir_all(f.path("dest")).unwrap();
    let cases = [
        (
            "cross_compile=yes\ntarget_destdir=\n",
            "target_destdir must be set for cross-compiling.\n",
        ),
        (
            "cross_compile=yes\ntarget_destdir=/nonexistent/dest\n",
            "target_destdir must exist for cross-compiling.\n",
        ),
        (
            "cross_compile=yes\ntarget_destdir=/usr/..\n",
            "target_destdir must not be / for cross-compiling.\n",
        ),
        (
            "cross_compile=YES\ntarget_arch=\ntarget_destdir=DEST\n",
            "target_arch must be specified for cross-compiling.\n",
        ),
    ];
    f.old_run();
    for (extra, msg) in cases {
        let extra = extra.replace("DEST", &f.path("dest").display().to_string());
        let e = pre_build::run(&f.cfg(&extra), &f.env()).unwrap_err();
        assert_eq!(
            (e.code, e.channel, e.msg.as_str()),
            (1, Channel::Stdout, msg)
        );
        assert!(f.bulklog().join("broken-1.0/build.log").exists());
    }
    let extra = format!(
        "cross_compile=yes\ntarget_arch=arm\ntarget_destdir={}\n",
        f.path("dest").display()
    );
    pre_build::run(&f.cfg(&extra), &f.env()).unwrap();
}

#[test]
fn rotation_looks_at_bulklog_meta_even_when_loc_is_elsewhere() {
    let f = Fixture::new(LINUX);
    std::fs::create_dir_all(f.bulklog()).unwrap();
    std::fs::write(f.bulklog().join("leftover"), "").unwrap();
    let loc = f.path("elsewhere/meta");
    // No bulklog/meta: no warning, plain `rm -rf bulklog/*`; status goes to loc.
    pre_build::run(&f.cfg(&format!("loc={}\n", loc.display())), &f.env()).unwrap();
    assert_eq!(names(&f.bulklog()), Vec::<String>::new());
    assert!(loc.join("status").is_file());
}

#[test]
fn an_empty_or_root_bulklog_is_refused() {
    let f = Fixture::new(LINUX);
    for (line, shown) in [
        ("bulklog=\n", "\"\""),
        ("bulklog=/\n", "\"/\""),
        ("bulklog=//\n", "\"//\""),
    ] {
        let e = pre_build::run(&f.cfg(line), &f.env()).unwrap_err();
        assert_eq!(e.code, 1);
        assert_eq!(
            e.msg,
            format!(
                "refusing to clear bulklog={shown} (from {})",
                f.path("pbulk.conf").display()
            )
        );
    }
    assert!(!f.path("make.log").exists(), "nothing ran");
}
