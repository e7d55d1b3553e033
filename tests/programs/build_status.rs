//! pbulk-build's live progress (pbulk-rs extension): the JSON snapshot
//! named by PBULK_STATUS_FILE, during and after a build, and the status
//! line on a terminal, which must leave the `-v` lines intact.

use crate::support::common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::bin;
use serde_json::Value;

fn rec(name: &str, deps: &str, fail: &str) -> String {
    let mut r = format!(
        "PKGNAME={name}\nPKG_LOCATION=cat/{name}\nPKG_SKIP_REASON=\nPKG_FAIL_REASON={fail}\n"
    );
    if !deps.is_empty() {
        r.push_str(&format!("DEPENDS={deps}\n"));
    }
    r
}

/// base <- slow, base <- bad <- above, skip (prefailed) <- under. bad-1
/// has the higher priority (two packages need it), so slow-1 builds last.
fn tree(dir: &Path) -> PathBuf {
    let input = [
        rec("base-1", "", ""),
        rec("slow-1", "base-1", ""),
        rec("bad-1", "base-1", ""),
        rec("above-1", "bad-1", ""),
        rec("skip-1", "", "broken"),
        rec("under-1", "skip-1", ""),
    ]
    .concat();
    std::fs::write(dir.join("presolve"), input).unwrap();
    // slow-1 waits for the test's go; bad-1 fails.
    let script = dir.join("build.sh");
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\nname=$(sed -n 's/^PKGNAME=//p')\ncase $name in\n\
             slow-1) while [ ! -f {go} ]; do sleep 0.05; done ;;\nbad-1) exit 1 ;;\nesac\nexit 0\n",
            go = dir.join("go").display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&script, std::fs::Permissions::from_mode(0o755)).unwrap();
    script
}

fn command(dir: &Path, script: &Path) -> Command {
    let mut c = Command::new(bin("pbulk-build"));
    c.current_dir(dir)
        .args(["-v", "-b"])
        .arg(script)
        .args(["presolve", "success", "error"]);
    c
}

fn snapshot(p: &Path) -> Option<Value> {
    let text = std::fs::read_to_string(p).ok()?;
    Some(serde_json::from_str(&text).expect("status.json is always whole JSON"))
}

#[test]
fn snapshot_during_and_after_the_build() {
    let dir = tempfile::tempdir().unwrap();
    let script = tree(dir.path());
    let status = dir.path().join("status.json");
    let mut child = command(dir.path(), &script)
        .env("PBULK_STATUS_FILE", &status)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    // While slow-1 builds: base-1 done, bad-1 failed.
    let deadline = Instant::now() + Duration::from_secs(20);
    let during = loop {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("no snapshot with slow-1 running: {:?}", snapshot(&status));
        }
        if let Some(v) = snapshot(&status) {
            let running: Vec<&str> = v["running"]
                .as_array()
                .unwrap()
                .iter()
                .map(|r| r["package"].as_str().unwrap())
                .collect();
            if running == ["slow-1"] && v["done"] == 1 {
                break v;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert_eq!(during["finished"], false);
    assert_eq!(during["total"], 6);
    assert_eq!(during["failed"], 1);
    assert_eq!(during["prefailed"], 1);
    assert_eq!(during["indirect_prefailed"], 1);
    assert_eq!(during["skipped"], 2);
    assert_eq!(during["building"], 1);
    assert!(during["running"][0]["since"].as_u64().unwrap() > 1_600_000_000);
    assert!(during["eta_seconds"].is_u64(), "{during}");
    std::fs::write(dir.path().join("go"), "").unwrap();
    assert!(child.wait().unwrap().success());

    let end = snapshot(&status).unwrap();
    assert_eq!(end["finished"], true);
    assert_eq!(end["done"], 2);
    assert_eq!(end["failed"], 1);
    assert_eq!(end["indirect_failed"], 1);
    assert_eq!(end["open"], 0);
    assert_eq!(end["running"].as_array().unwrap().len(), 0);
    assert!(end["updated"].as_u64() >= end["started"].as_u64());
    // Nothing else appeared beside the logs (no temporary left behind).
    let mut names: Vec<String> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            "build.sh",
            "error",
            "go",
            "presolve",
            "status.json",
            "success"
        ]
    );
}

#[test]
fn without_the_variable_no_snapshot_is_written() {
    let dir = tempfile::tempdir().unwrap();
    let script = tree(dir.path());
    std::fs::write(dir.path().join("go"), "").unwrap();
    let out = command(dir.path(), &script)
        .env_remove("PBULK_STATUS_FILE")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(!dir.path().join("status.json").exists());
    // Not a terminal: the reference's -v lines and nothing else.
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(!text.contains('\r') && !text.contains('\x1b'), "{text:?}");
    assert!(text.starts_with("Initialisation complete.\n"));
}

#[test]
fn terminal_gets_a_status_line_between_the_verbose_lines() {
    let dir = tempfile::tempdir().unwrap();
    let script = tree(dir.path());
    std::fs::write(dir.path().join("go"), "").unwrap();
    // script(1) gives pbulk-build a pseudo-terminal as stdout.
    let line = format!(
        "stty cols 120; cd {} && {} -v -b {} presolve success error",
        dir.path().display(),
        bin("pbulk-build").display(),
        script.display()
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let screen = String::from_utf8_lossy(&out.stdout).replace("\r\n", "\n");
    assert!(
        screen.contains(
            "\r\x1b[Kbuilt 1/6 pkgs  failed 1  dep-failed 1  broken/skipped 2  running 1  left 0  ETA "
        ),
        "{screen:?}"
    );
    assert!(screen.contains(" pkgs/h  building: slow-1"), "{screen:?}");
    // Taking the status lines out leaves exactly the -v lines, whole: each
    // piece between two line clears is a status line (no newline) or
    // verbose lines.
    let mut plain = String::new();
    for piece in screen.split("\r\x1b[K") {
        if piece.starts_with("built ") {
            assert!(
                !piece.contains('\n'),
                "a -v line glued to the status: {piece:?}"
            );
        } else {
            plain.push_str(piece);
        }
    }
    let want = "Initialisation complete.\n\
        [3/6] Starting build of  base-1\n[3/6] Successfully built base-1\n\
        [4/6] Starting build of  bad-1\n[4/6] Failed to build    bad-1\n\
        [6/6] Starting build of  slow-1\n[6/6] Successfully built slow-1\n";
    assert_eq!(plain, want);
    assert!(
        screen.ends_with("\r\x1b[K"),
        "the status line is cleared at the end"
    );
}

#[test]
fn a_narrow_terminal_still_shows_the_eta() {
    let dir = tempfile::tempdir().unwrap();
    let script = tree(dir.path());
    std::fs::write(dir.path().join("go"), "").unwrap();
    let line = format!(
        "stty cols 30; cd {} && {} -b {} presolve success error",
        dir.path().display(),
        bin("pbulk-build").display(),
        script.display()
    );
    let out = Command::new("script")
        .args(["-qec", &line, "/dev/null"])
        .env("TERM", "xterm")
        .output()
        .unwrap();
    assert!(out.status.success());
    let screen = String::from_utf8_lossy(&out.stdout).into_owned();
    let lines: Vec<&str> = screen.split("\r\x1b[K").filter(|p| !p.is_empty()).collect();
    assert!(!lines.is_empty(), "{screen:?}");
    for l in lines {
        assert!(l.starts_with("ETA ") && l.chars().count() < 30, "{l:?}");
    }
}
