//! The build phase: pbulk-build command lines, the status stamp, and the
//! pkg_summary/SHA512 files made with real gzip and bzip2.

use crate::support::pkgbuild as pkgbuild_support;

use pkgbuild_support::World;
use std::fs;
use std::process::Command;

const META: &str = "T/bulklog/meta";

fn world() -> World {
    world_in(&std::env::temp_dir())
}

fn world_in(parent: &std::path::Path) -> World {
    let w = World::new_in(parent);
    fs::write(
        w.p("bulklog/meta/status"),
        "BUILD_START_ISO=2026-01-01 00:00\n",
    )
    .unwrap();
    fs::write(w.p("bulklog/meta/success"), "zz-1.0\nAa-2\nbar-1.0\n").unwrap();
    for p in ["zz-1.0", "Aa-2", "bar-1.0"] {
        fs::write(
            w.p(&format!("packages/All/{p}.tgz")),
            format!("package {p}\n"),
        )
        .unwrap();
    }
    w
}

fn run(w: &World) -> (i32, String) {
    let out = w.command("build").output().unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

fn decompress(tool: &str, path: &std::path::Path) -> String {
    let out = Command::new(tool).arg("-dc").arg(path).output().unwrap();
    assert!(out.status.success(), "{tool} -dc {}", path.display());
    String::from_utf8(out.stdout).unwrap()
}

fn sha512(path: &std::path::Path) -> String {
    let out = Command::new("sha512sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout)
        .split(' ')
        .next()
        .unwrap()
        .to_string()
}

#[test]
fn local_build_then_summary_and_checksums() {
    let w = world();
    let before = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (code, stdout) = run(&w);
    assert_eq!(code, 0);
    assert_eq!(
        stdout,
        "Building...\nBuilding pkg_summary...\nBuilding SHA512...\n"
    );
    let calls = w.calls();
    assert_eq!(
        calls,
        [
            format!("pbulk-build [-r] [{META}/pbuild] [-v] [-b] [/x/pkg-build] [{META}/presolve] [{META}/success] [{META}/error] [PBULK_CONF=T/pbulk.conf]"),
            "pkg_info [-X] [Aa-2.tgz] [bar-1.0.tgz] [zz-1.0.tgz]".into(),
            "digest [SHA512] [All/Aa-2.tgz] [All/bar-1.0.tgz] [All/pkg_summary.bz2] [All/pkg_summary.gz] [All/zz-1.0.tgz]".into(),
        ]
    );

    // Both end lines come from one clock reading, appended after the old content.
    let status = w.read("bulklog/meta/status");
    let lines: Vec<&str> = status.lines().collect();
    assert_eq!(lines.len(), 3, "{status}");
    assert_eq!(lines[0], "BUILD_START_ISO=2026-01-01 00:00");
    let epoch: u64 = lines[2]
        .strip_prefix("BUILD_END_EPOCHE=")
        .unwrap()
        .parse()
        .unwrap();
    assert!(epoch >= before && epoch <= before + 60);
    let iso = Command::new("date")
        .arg("-d")
        .arg(format!("@{epoch}"))
        .arg("+BUILD_END_ISO=%Y-%m-%d %H:%M")
        .output()
        .unwrap();
    assert_eq!(
        format!("{}\n", lines[1]),
        String::from_utf8_lossy(&iso.stdout)
    );

    let summary = "PKGNAME=Aa-2\nFILE_NAME=Aa-2.tgz\n\nPKGNAME=bar-1.0\nFILE_NAME=bar-1.0.tgz\n\n\
PKGNAME=zz-1.0\nFILE_NAME=zz-1.0.tgz\n\n";
    assert_eq!(
        decompress("gzip", &w.p("packages/All/pkg_summary.gz")),
        summary
    );
    assert_eq!(
        decompress("bzip2", &w.p("packages/All/pkg_summary.bz2")),
        summary
    );

    let sums = decompress("bzip2", &w.p("packages/SHA512.bz2"));
    let want: String = [
        "Aa-2.tgz",
        "bar-1.0.tgz",
        "pkg_summary.bz2",
        "pkg_summary.gz",
        "zz-1.0.tgz",
    ]
    .iter()
    .map(|f| {
        format!(
            "SHA512 (All/{f}) = {}\n",
            sha512(&w.p(&format!("packages/All/{f}")))
        )
    })
    .collect();
    assert_eq!(sums, want);

    let mut left: Vec<_> = fs::read_dir(w.p("packages/All"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.sort();
    assert_eq!(
        left,
        [
            "Aa-2.tgz",
            "bar-1.0.tgz",
            "pkg_summary.bz2",
            "pkg_summary.gz",
            "zz-1.0.tgz"
        ],
        "no temporary files"
    );
    let mode = std::os::unix::fs::PermissionsExt::mode(
        &fs::metadata(w.p("packages/SHA512.bz2"))
            .unwrap()
            .permissions(),
    );
    let umask = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    nix::sys::stat::umask(umask);
    assert_eq!(
        mode & 0o777,
        0o666 & !umask.bits(),
        "created like a plain redirection"
    );
}

#[test]
fn master_mode_command_line_and_invalid_values() {
    let mut w = world();
    w.conf_extra.push("master_mode=YES".into());
    assert_eq!(run(&w).0, 0);
    assert_eq!(
        w.calls()[0],
        format!("pbulk-build [-r] [{META}/pbuild] [-I] [/x/start] [-m] [10.0.0.1:2002] [-v] [{META}/presolve] [{META}/success] [{META}/error] [PBULK_CONF=T/pbulk.conf]")
    );

    let mut w = world();
    w.conf_extra.push("master_mode=maybe".into());
    assert_eq!(
        run(&w),
        (
            1,
            "Building...\nmaster_mode must be either yes or no.\n".into()
        )
    );
    assert!(w.calls().is_empty());
}

#[test]
fn checksum_packages_no_skips_sha512() {
    for v in ["no", "NO"] {
        let mut w = world();
        w.conf_extra.push(format!("checksum_packages={v}"));
        assert_eq!(
            run(&w),
            (0, "Building...\nBuilding pkg_summary...\n".into())
        );
        assert!(!w.p("packages/SHA512.bz2").exists());
    }
    let mut w = world();
    w.conf_extra.push("checksum_packages=No".into());
    assert_eq!(run(&w).0, 0);
    assert!(
        w.p("packages/SHA512.bz2").exists(),
        "only no and NO turn it off"
    );
}

#[test]
fn a_checksum_tool_that_cannot_run_is_a_host_failure() {
    // The original's `xargs ${digest} | bzip2` publishes an empty
    // SHA512.bz2 and goes on; here the old file stays and the phase stops.
    let mut w = world();
    w.conf_extra
        .push(format!("digest={}", w.s("no-such-digest")));
    fs::create_dir_all(w.p("packages")).unwrap();
    fs::write(w.p("packages/SHA512.bz2"), "old").unwrap();
    let out = w.command("build").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(
        err.contains("build host failure") && err.contains("no-such-digest"),
        "{err}"
    );
    assert_eq!(
        fs::read_to_string(w.p("packages/SHA512.bz2")).unwrap(),
        "old"
    );
}

/// A world outside /tmp (private to each build slot) whose make names a
/// WRKOBJDIR, so that several local slots can be had.
fn slots_world() -> World {
    let w = world_in(std::path::Path::new("/var/tmp"));
    fs::create_dir_all(w.p("pkgsrc/pkgtools/pkg_install")).unwrap();
    w.tool("make", &format!("log \"$@\"\necho {}\n", w.s("work")));
    w
}

#[test]
fn concurrency_extensions_only_when_configured() {
    let mut w = slots_world();
    w.conf_extra.push("build_procs=3".into());
    assert_eq!(run(&w).0, 0);
    let calls = w.calls();
    assert_eq!(calls[0], "make [show-var] [VARNAME=WRKOBJDIR]");
    assert!(
        calls[1].contains(
            "[/x/pkg-build] [-j] [3] [-H] [T/bulklog.history] [-S] [T/work/.pbulk-sandbox] \
             [-P] [T/prefix] [-P] [T/pkgdb] [-P] [T/work] [-P] [/tmp] [T/bulklog/meta/presolve]"
        ),
        "{}",
        calls[1]
    );

    let mut w = slots_world();
    w.conf_extra.push(
        "build_procs=2\nbuild_chroots=5\nhistory_file=/var/hist\nvarbase=/var\nsandbox_dir=/var/tmp/sb"
            .into(),
    );
    assert_eq!(run(&w).0, 0);
    assert!(
        w.calls()[1].contains("[-j] [2] [-H] [/var/hist] [-S] [/var/tmp/sb] [-P] [T/prefix] [-P] [T/pkgdb] [-P] [/var/qmail]"),
        "{}",
        w.calls()[1]
    );

    // build_procs=1 is one slot: no private slots, no make query.
    let mut w = world();
    w.conf_extra.push("build_procs=1".into());
    assert_eq!(run(&w).0, 0);
    assert!(w.calls()[0].contains("[-j] [1] [-H] [T/bulklog.history] [T/bulklog/meta/presolve]"));

    let mut w = world();
    w.conf_extra.push("build_procs=0".into());
    assert_eq!(run(&w).0, 1);
    assert!(w.calls().is_empty());
}

#[test]
fn failures_stop_the_phase_and_keep_old_files() {
    let w = world();
    w.tool("pbulk-build", "log \"$@\"\nexit 4\n");
    assert_eq!(run(&w), (4, "Building...\n".into()));
    assert_eq!(
        w.read("bulklog/meta/status"),
        "BUILD_START_ISO=2026-01-01 00:00\n"
    );

    let mut w = world();
    fs::write(w.p("packages/All/pkg_summary.gz"), "old").unwrap();
    w.conf_extra.push("gzip=false".into());
    assert_eq!(run(&w).0, 1, "the compressor's status is the pipeline's");
    assert_eq!(w.read("packages/All/pkg_summary.gz"), "old");
    assert!(!w.p("packages/SHA512.bz2").exists());
}

#[test]
fn version_mismatch() {
    let mut w = world();
    w.conf_extra.push("config_version=1".into());
    assert_eq!(
        run(&w),
        (
            1,
            "Your configuration has version 1.\nThis version of pbulk expects version 0.68.\n"
                .into()
        )
    );
}

#[test]
fn missing_success_list_still_makes_the_summaries() {
    let w = world();
    fs::remove_file(w.p("bulklog/meta/success")).unwrap();
    let out = w.command("build").output().unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8_lossy(&out.stderr).contains("meta/success"));
    let calls = w.calls();
    assert_eq!(
        calls[1], "pkg_info [-X]",
        "xargs runs its command once even without input"
    );
    assert_eq!(
        calls[2],
        "digest [SHA512] [All/pkg_summary.bz2] [All/pkg_summary.gz]"
    );
    assert_eq!(decompress("gzip", &w.p("packages/All/pkg_summary.gz")), "");
}

#[test]
fn a_missing_feeder_is_a_host_failure_and_publishes_nothing() {
    // The original's pipeline went on with an empty pkg_summary (gzip, the
    // last command, succeeded); a tool that cannot run is the host's fault.
    let mut w = world();
    w.conf_extra.push("pkg_info=/nonexistent/pkg_info".into());
    let out = w.command("build").output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(75), "{err}");
    assert!(err.contains("/nonexistent/pkg_info"), "{err}");
    assert!(!w.p("packages/All/pkg_summary.gz").exists());
    assert!(!w.p("packages/SHA512.bz2").exists());
}

/// A writer of a killed run may still hold its temporary file when the
/// restart's build phase begins (its process group is being killed): it is
/// kept then, and removed once the builds are over, when that writer is
/// surely gone.
#[test]
fn a_temporary_whose_writer_dies_during_the_build_is_removed() {
    use std::os::fd::AsRawFd;
    let w = world();
    let temp = w.p("packages/All/.zz-1.0.tgz.4242.0");
    fs::write(&temp, "half a package").unwrap();
    let held = fs::File::open(&temp).unwrap();
    // SAFETY: flock on a descriptor this test owns; closing it unlocks.
    assert_eq!(
        unsafe { libc::flock(held.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) },
        0
    );
    let (building, released) = (w.p("building"), w.p("released"));
    w.tool(
        "pbulk-build",
        &format!(
            "log \"$@\"\ntouch {b}\nwhile [ ! -f {r} ]; do sleep 0.02; done\n",
            b = building.display(),
            r = released.display()
        ),
    );
    let writer = std::thread::spawn(move || {
        while !building.exists() {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        assert!(temp.exists(), "kept while its writer holds it");
        drop(held);
        fs::write(released, "").unwrap();
        temp
    });
    let (code, _) = run(&w);
    let temp = writer.join().unwrap();
    assert_eq!(code, 0);
    assert!(!temp.exists(), "{} left", temp.display());
    assert!(w.p("packages/All/zz-1.0.tgz").exists());
}
