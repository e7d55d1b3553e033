//! `make install-only` / `make uninstall` with the programs this test run
//! built, under the default PREFIX they were built for (no second cargo
//! build: the prefix is compiled in, so installing under another PREFIX
//! would rebuild everything).

use crate::support::common;

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: [&str; 7] = [
    "bulkbuild",
    "bulkbuild-restart",
    "bulkbuild-rebuild",
    "pbulk-scan",
    "pbulk-resolve",
    "pbulk-build",
    "pbulk-check",
];
const LIBEXEC: [&str; 16] = [
    "build",
    "build-client-start",
    "client-clean",
    "client-prepare",
    "compute-packages",
    "create-broken-graph",
    "create-report",
    "create-report-html",
    "create-report-txt",
    "pkg-build",
    "pkg-up-to-date",
    "pre-build",
    "report",
    "scan",
    "scan-client-start",
    "upload",
];

/// GNU make runs the Makefile and mandoc formats the pages; without them
/// there is nothing to test (under CI there must be).
fn tools_missing() -> bool {
    if gnu_make().is_some() && Command::new("mandoc").arg("-V").output().is_ok() {
        return false;
    }
    common::skip("the install tests", "GNU make or mandoc is not installed");
    true
}

fn gnu_make() -> Option<&'static str> {
    ["make", "gmake"].into_iter().find(|m| {
        Command::new(m)
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).starts_with("GNU Make"))
    })
}

fn make(target: &str, destdir: &Path) {
    let Some(m) = gnu_make() else { return };
    let builddir = common::bin("bulkbuild").parent().unwrap().to_path_buf();
    let out = Command::new(m)
        .current_dir(common::root())
        .arg("-s")
        .arg(target)
        .arg(format!("DESTDIR={}", destdir.display()))
        .arg(format!("BUILDDIR={}", builddir.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "make {target}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn files_under(p: &Path) -> Vec<PathBuf> {
    let mut v = Vec::new();
    if let Ok(rd) = std::fs::read_dir(p) {
        for e in rd.flatten() {
            let path = e.path();
            if path.is_dir() {
                v.extend(files_under(&path));
            } else {
                v.push(path);
            }
        }
    }
    v.sort();
    v
}

/// man/<name>.<section> goes to man/man<section>/ and, formatted, to
/// man/cat<section>/<name>.0.
fn man_pages() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(common::root().join("man"))
        .map(|rd| {
            rd.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter_map(|n| {
                    let (name, sec) = n.rsplit_once('.')?;
                    (sec.len() == 1 && sec != "0" && sec.as_bytes()[0].is_ascii_digit())
                        .then(|| [format!("man{sec}/{n}"), format!("cat{sec}/{name}.0")])
                })
                .flatten()
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

#[test]
fn install_then_uninstall() {
    if tools_missing() {
        return;
    }
    let dest = tempfile::tempdir().unwrap();
    make("install-only", dest.path());
    let root = dest.path().join("usr/pkg_bulk");

    let mut expected: Vec<PathBuf> = BIN.iter().map(|p| root.join("bin").join(p)).collect();
    expected.extend(LIBEXEC.iter().map(|p| root.join("libexec/pbulk").join(p)));
    for p in &expected {
        let md = std::fs::metadata(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        assert_eq!(md.permissions().mode() & 0o777, 0o755, "{}", p.display());
    }
    let programs = expected.clone();
    assert_one_executable(&programs);
    let example = root.join("share/examples/pbulk/pbulk.conf");
    let live = root.join("etc/pbulk.conf");
    expected.push(example.clone());
    expected.push(live.clone());
    expected.extend(man_pages().iter().map(|m| root.join("man").join(m)));
    expected.sort();
    assert_eq!(
        files_under(dest.path()),
        expected,
        "install puts exactly these files"
    );
    assert_eq!(
        std::fs::read(&live).unwrap(),
        std::fs::read(&example).unwrap()
    );

    // The installed example is a working configuration for these programs.
    let cfg = pbulk::config::Config::load_from(&example).unwrap();
    cfg.check_version().unwrap();
    assert_eq!(
        cfg.value("script_phase_scan"),
        "/usr/pkg_bulk/libexec/pbulk/scan"
    );
    assert_eq!(cfg.value("make"), "/usr/pkg/bin/bmake");
    assert_eq!(cfg.value("pkg_info"), "/usr/pkg_bulk/sbin/pkg_info");
    // The installed program runs and reads a config given to it.
    let out = Command::new(root.join("bin/bulkbuild-rebuild"))
        .env("PBULK_CONF", &example)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));

    // A second install replaces the executable under every name and never
    // writes into the file the first one installed, which a running build
    // may still execute.
    let first = root.join("first-install");
    std::fs::hard_link(root.join("bin/bulkbuild"), &first).unwrap();
    let before = std::fs::read(&first).unwrap();
    make("install-only", dest.path());
    assert_one_executable(&programs);
    let md = std::fs::metadata(&first).unwrap();
    assert_eq!(md.nlink(), 1, "every name left the first install's file");
    assert_eq!(std::fs::read(&first).unwrap(), before);
    std::fs::remove_file(&first).unwrap();

    make("uninstall", dest.path());
    assert_eq!(
        files_under(dest.path()),
        Vec::<PathBuf>::new(),
        "uninstall leaves nothing"
    );
    assert!(!root.join("libexec/pbulk").exists());
}

#[test]
fn an_existing_config_is_kept() {
    if tools_missing() {
        return;
    }
    let dest = tempfile::tempdir().unwrap();
    let live = dest.path().join("usr/pkg_bulk/etc/pbulk.conf");
    std::fs::create_dir_all(live.parent().unwrap()).unwrap();
    std::fs::write(&live, "config_version=0.68\n# the operator's\n").unwrap();
    make("install-only", dest.path());
    assert_eq!(
        std::fs::read_to_string(&live).unwrap(),
        "config_version=0.68\n# the operator's\n"
    );
    make("uninstall", dest.path());
    assert_eq!(
        files_under(dest.path()),
        vec![live.clone()],
        "only the operator's file remains"
    );
    assert_eq!(
        std::fs::read_to_string(&live).unwrap(),
        "config_version=0.68\n# the operator's\n"
    );
}

/// The installed programs are one file (pbulk-rs) under every name, and
/// each name runs its own program: its answer to --help, its status and
/// its output are those of the program's own crate.
fn assert_one_executable(programs: &[PathBuf]) {
    let md = std::fs::metadata(&programs[0]).unwrap();
    for p in programs {
        let m = std::fs::metadata(p).unwrap();
        assert_eq!(
            (m.dev(), m.ino()),
            (md.dev(), md.ino()),
            "{} is not a link to {}",
            p.display(),
            programs[0].display()
        );
    }
    assert_eq!(md.nlink(), programs.len() as u64);
    for p in programs {
        let name = p.file_name().unwrap().to_str().unwrap();
        let installed = Command::new(p).arg("--help").output().unwrap();
        let own = Command::new(common::bin(name))
            .arg("--help")
            .output()
            .unwrap();
        assert_eq!(installed.status.code(), own.status.code(), "{name} --help");
        assert_eq!(installed.stdout, own.stdout, "{name} --help");
        assert_eq!(
            String::from_utf8_lossy(&installed.stderr),
            String::from_utf8_lossy(&own.stderr),
            "{name} --help"
        );
        assert!(
            String::from_utf8_lossy(&installed.stderr).contains(&format!("usage: {name}")),
            "{name} --help: {}",
            String::from_utf8_lossy(&installed.stderr)
        );
    }
}

/// Under a name that is none of the programs', the executable does
/// nothing and says which names it answers to, in one line.
#[test]
fn the_executable_under_another_name_refuses() {
    let dir = tempfile::tempdir().unwrap();
    let stray = dir.path().join("pbulk-bulkbuild");
    std::fs::copy(common::bin("pbulk-rs"), &stray).unwrap();
    let marker = dir.path().join("ran");
    let out = Command::new(&stray)
        .env("PBULK_CONF", &marker)
        .current_dir(dir.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.starts_with("pbulk-rs: called as \"pbulk-bulkbuild\"") && err.contains(" pkg-build "),
        "{err}"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        1,
        "nothing was written"
    );
}
