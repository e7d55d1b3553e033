//! pbulk-build against the original's golden runs on the full real presolve
//! (29,022 packages): the success and error logs, the `-r` report and the
//! `-v` lines must be byte-identical, for a fresh run and for a run resumed
//! from an interrupted one's logs. Each run execs the stand-in build script
//! for every buildable package (~27k execs, 15-35 s here).

use crate::support::common;

use std::path::Path;
use std::process::Command;
use std::time::Instant;

use common::{bin, data, unzstd, unzstd_to};

/// A scratch directory, in memory where possible: the logs are fsync'd per
/// line, which this test does not need to wait for on a disk.
fn scratch() -> tempfile::TempDir {
    let shm = Path::new("/dev/shm");
    if shm.is_dir() {
        if let Ok(d) = tempfile::tempdir_in(shm) {
            return d;
        }
    }
    tempfile::tempdir().unwrap()
}

fn run_scenario(golden: &str, before: bool) {
    let data = data();
    let gold = data.join("golden").join(golden);
    let dir = scratch();
    let d = dir.path();
    unzstd_to(&data.join("presolve.zst"), d, "presolve");
    std::fs::copy(data.join("golden/build-A/build-A.sh"), d.join("build-A.sh")).unwrap();
    if before {
        unzstd_to(&gold.join("success.before.zst"), d, "success");
        unzstd_to(&gold.join("error.before.zst"), d, "error");
    }
    let t = Instant::now();
    let out = Command::new(bin("pbulk-build"))
        .args([
            "-r",
            "report",
            "-v",
            "-b",
            "build-A.sh",
            "presolve",
            "success",
            "error",
        ])
        .current_dir(d)
        .output()
        .unwrap();
    eprintln!(
        "{golden}: pbulk-build took {:.1} s",
        t.elapsed().as_secs_f64()
    );
    assert_eq!(String::from_utf8_lossy(&out.stderr), "");
    assert_eq!(out.status.code(), Some(0));
    assert_same(&unzstd(&gold.join("stdout.zst")), &out.stdout, "stdout");
    for f in ["success", "error", "report"] {
        let ours = std::fs::read(d.join(f)).unwrap();
        assert_same(&unzstd(&gold.join(format!("{f}.zst"))), &ours, f);
    }
}

/// Compare whole files, naming the first differing line on failure.
fn assert_same(want: &[u8], got: &[u8], what: &str) {
    if want == got {
        return;
    }
    let (w, g): (Vec<_>, Vec<_>) = (
        want.split(|&b| b == b'\n').collect(),
        got.split(|&b| b == b'\n').collect(),
    );
    let i = w
        .iter()
        .zip(&g)
        .position(|(a, b)| a != b)
        .unwrap_or(w.len().min(g.len()));
    panic!(
        "{what} differs at line {}: want {:?}, got {:?} ({} vs {} lines)",
        i + 1,
        w.get(i).map(|l| String::from_utf8_lossy(l)),
        g.get(i).map(|l| String::from_utf8_lossy(l)),
        w.len(),
        g.len()
    );
}

#[test]
fn golden_build_a() {
    run_scenario("build-A", false);
}

#[test]
fn golden_build_a_restart() {
    run_scenario("build-A-restart", true);
}
