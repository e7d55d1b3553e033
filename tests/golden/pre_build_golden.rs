//! pre-build's `meta/status` against the status file of the golden report
//! run (a SmartOS build): same keys, same order, same date formats.
//! The test runs again in a child process with TZ=UTC, since setting TZ in
//! this process would race the other tests of the binary.

use crate::support::common;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use pbulk::config::Config;
use pbulk::phase::{pre_build, sys};

#[test]
fn status_matches_the_golden_layout() {
    if std::env::var_os("PBULK_TEST_TZ_CHILD").is_none() {
        let name = concat!(module_path!(), "::status_matches_the_golden_layout");
        let name = name.split_once("::").map_or(name, |(_, rest)| rest);
        let out = std::process::Command::new(std::env::current_exe().unwrap())
            .args(["--exact", name, "--nocapture", "--test-threads=1"])
            .env("TZ", "UTC")
            .env("PBULK_TEST_TZ_CHILD", "1")
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success() && text.contains("1 passed"),
            "the child run failed:\n{text}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        return;
    }
    let golden = std::fs::read_to_string(common::data().join("golden/report-A/status")).unwrap();
    let g: Vec<&str> = golden.lines().collect();
    let get = |k: &str| {
        g.iter()
            .find_map(|l| l.strip_prefix(&format!("{k}=")))
            .unwrap()
    };

    // Dates: the golden epoch, formatted in UTC, gives the golden lines.
    let epoch: i64 = get("BUILD_START_EPOCHE").parse().unwrap();
    let dates = sys::strftime_local(
        epoch,
        "BUILD_START_ISO=%Y-%m-%d %H:%M\nBUILD_START_DIR=%Y%m%d.%H%M\nBUILD_START_EPOCHE=%s\n",
    );
    assert_eq!(dates, format!("{}\n{}\n{}\n", g[7], g[8], g[9]));

    // Platform lines from make answers taken from the golden file.
    let dir = tempfile::tempdir().unwrap();
    let pkg_install = dir.path().join("pkgsrc/pkgtools/pkg_install");
    std::fs::create_dir_all(&pkg_install).unwrap();
    let mut make = String::from("#!/bin/sh\ncase \"$2\" in\n");
    for (var, key) in [
        ("OPSYS", "OPSYS"),
        ("OS_VERSION", "OS_VERSION"),
        ("OS_VARIANT", "OS_VARIANT"),
        ("LOWER_VARIANT_VERSION", "LOWER_VARIANT_VERSION"),
        ("MACHINE_ARCH", "MACHINE_ARCH"),
        ("PKGSRC_COMPILER", "COMPILER"),
    ] {
        make.push_str(&format!("VARNAME={var}) echo '{}' ;;\n", get(key)));
    }
    make.push_str("esac\n");
    let make_path = dir.path().join("make");
    std::fs::write(&make_path, make).unwrap();
    std::fs::set_permissions(&make_path, std::fs::Permissions::from_mode(0o755)).unwrap();
    let conf = dir.path().join("pbulk.conf");
    std::fs::write(
        &conf,
        format!(
            "config_version=0.68\nmaster_mode=yes\ncross_compile=no\nbulklog={}/bulklog\n\
             loc=${{bulklog}}/meta\npkgsrc={}/pkgsrc\nmake={}\nbase_url={}\n",
            dir.path().display(),
            dir.path().display(),
            make_path.display(),
            get("BASE_URL")
        ),
    )
    .unwrap();
    let env = pre_build::Env {
        client_clean: "/nonexistent".into(),
        warn_delay: Duration::ZERO,
        os_release: dir.path().join("no-os-release"),
    };
    pre_build::run(&Config::load_from(&conf).unwrap(), &env).unwrap();
    let status = std::fs::read_to_string(dir.path().join("bulklog/meta/status")).unwrap();
    let s: Vec<&str> = status.lines().collect();
    assert_eq!(s[..7], g[..7], "platform lines");
    assert_eq!(s.len(), 11);
    assert_eq!(s[10], g[10], "BASE_URL");
    let ours: i64 = s[9]
        .strip_prefix("BUILD_START_EPOCHE=")
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(
        format!("{}\n{}\n{}\n", s[7], s[8], s[9]),
        sys::strftime_local(
            ours,
            "BUILD_START_ISO=%Y-%m-%d %H:%M\nBUILD_START_DIR=%Y%m%d.%H%M\nBUILD_START_EPOCHE=%s\n"
        )
    );
}
