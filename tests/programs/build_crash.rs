//! Crash safety of pbulk-build: SIGKILL at random points of a build, then a
//! rerun to completion, must end with the same logs (as sets) and the same
//! `-r` report as an uninterrupted run, and a package once logged must
//! never be built again. The seed is printed; set PBULK_CRASH_SEED to
//! replay a failure.

use crate::support::common;

use std::collections::BTreeSet;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::{bin, Rng};

/// ~60 packages with random dependencies on earlier ones, a few failing
/// and one prefailed.
fn presolve(rng: &mut Rng) -> String {
    let mut out = String::new();
    for i in 0..60u64 {
        let mut deps = BTreeSet::new();
        if i > 0 {
            for _ in 0..rng.below(4) {
                deps.insert(rng.below(i));
            }
        }
        let skip = if i == 17 { "no reason" } else { "" };
        out.push_str(&format!(
            "PKGNAME=pkg{i:02}-1.0\nPKG_SKIP_REASON={skip}\nPKG_FAIL_REASON=\n"
        ));
        if !deps.is_empty() {
            let names: Vec<String> = deps.iter().map(|d| format!("pkg{d:02}-1.0")).collect();
            out.push_str(&format!("DEPENDS={}\n", names.join(" ")));
        }
    }
    out
}

const SCRIPT: &str = "#!/bin/sh\nIFS= read -r l\nn=${l#PKGNAME=}\nsleep 0.02\n\
                      echo \"$n\" >> ledger\ncase \"$n\" in pkg0[5]-*|pkg2[39]-*) exit 1;; esac\n";

fn setup(dir: &Path, input: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(dir.join("presolve"), input).unwrap();
    std::fs::write(dir.join("b.sh"), SCRIPT).unwrap();
    std::fs::set_permissions(dir.join("b.sh"), std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn command(dir: &Path) -> Command {
    let mut c = Command::new(bin("pbulk-build"));
    c.args([
        "-j", "2", "-r", "report", "-b", "b.sh", "presolve", "success", "error",
    ])
    .current_dir(dir)
    .stdout(Stdio::null());
    c
}

fn read(dir: &Path, f: &str) -> String {
    std::fs::read_to_string(dir.join(f)).unwrap_or_default()
}

/// The lines of a log: each whole, none twice.
fn log_set(dir: &Path, f: &str) -> BTreeSet<String> {
    let text = read(dir, f);
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{f} has a partial line: {text:?}"
    );
    let lines: Vec<String> = text.lines().map(String::from).collect();
    let set: BTreeSet<String> = lines.iter().cloned().collect();
    assert_eq!(
        set.len(),
        lines.len(),
        "{f} names a package twice: {lines:?}"
    );
    set
}

#[test]
fn sigkill_at_random_points_loses_and_repeats_nothing() {
    let seed = common::seed("PBULK_CRASH_SEED");
    let mut rng = Rng(seed);
    // A tree where an early failure breaks most packages tests little:
    // draw again (from the same seed's sequence) until enough build.
    let mut tries = 0;
    let (input, reference, full, want_success, want_error) = loop {
        tries += 1;
        assert!(tries <= 20, "no usable random tree");
        let input = presolve(&mut rng);
        let reference = tempfile::tempdir().unwrap();
        setup(reference.path(), &input);
        let t = Instant::now();
        assert!(command(reference.path()).status().unwrap().success());
        let full = t.elapsed();
        let want_success = log_set(reference.path(), "success");
        let want_error = log_set(reference.path(), "error");
        if want_success.len() > 20 && !want_error.is_empty() {
            break (input, reference, full, want_success, want_error);
        }
    };

    let crashed = tempfile::tempdir().unwrap();
    let d = crashed.path();
    setup(d, &input);
    let buildable = (want_success.len() + want_error.len()) as u64;
    let mut kills = 0;
    for round in 0..21 {
        let logged: BTreeSet<String> = log_set(d, "success")
            .union(&log_set(d, "error"))
            .cloned()
            .collect();
        let ledger_before = read(d, "ledger").lines().count();
        let mut child = command(d).spawn().unwrap();
        if round < 20 {
            // A point within the time the remaining builds take.
            let left = buildable.saturating_sub(logged.len() as u64).max(1);
            let window = (full.as_millis() as u64 * left / buildable).max(5);
            std::thread::sleep(Duration::from_millis(rng.below(window)));
            if child.try_wait().unwrap().is_none() {
                kills += 1;
            }
            let _ = child.kill();
        }
        let status = child.wait().unwrap();
        if round == 20 {
            assert!(status.success(), "final run: {status:?}");
            // Scripts orphaned by the last kill may still be finishing.
            std::thread::sleep(Duration::from_millis(100));
        }
        for name in read(d, "ledger").lines().skip(ledger_before) {
            assert!(
                !logged.contains(name),
                "round {round}: {name} was logged before and built again"
            );
        }
    }
    eprintln!("{kills} of 20 kills hit a running build (full run {full:?})");
    assert!(kills >= 5, "too few kills landed during a build");
    assert_eq!(log_set(d, "success"), want_success);
    assert_eq!(log_set(d, "error"), want_error);
    assert_eq!(read(d, "report"), read(reference.path(), "report"));
}
