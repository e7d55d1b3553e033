//! pbulk-scan's control over its children: a hanging make is killed after
//! the time limit and only its package fails; a stop signal kills and reaps
//! every child and leaves the previous output untouched.

use crate::support::scan_fake;

use std::time::{Duration, Instant};

use scan_fake::{alive, record, scanned, text, Tree};

fn pids(path: &std::path::Path) -> Vec<i32> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

fn wait_gone(pids: &[i32]) {
    let start = Instant::now();
    while pids.iter().any(|&p| alive(p)) {
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "processes left running: {pids:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn a_hanging_make_times_out_and_the_rest_completes() {
    let t = Tree::new();
    t.subdirs("", "x\n");
    t.subdirs("x", "a h c\n");
    for p in ["a", "h", "c"] {
        t.package(&format!("x/{p}"), &record(&format!("{p}-1"), "", ""));
    }
    t.file("x/h", "hang", b"");
    let start = Instant::now();
    let o = t
        .cmd(&["-j", "2"])
        .arg(&t.root)
        .arg(t.path("pscan"))
        .env("PBULK_SCAN_TIMEOUT", "1")
        .env("FAKE_MAKE_PIDS", t.path("pids"))
        .output()
        .unwrap();
    assert!(start.elapsed() < Duration::from_secs(20));
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        text(&o.stderr),
        format!(
            "pbulk-scan: {} pbulk-index in {}/x/h: timed out after 1 seconds, process group killed\n\
             pbulk-scan: Scan failed for x/h\n",
            t.make.display(),
            t.root.display()
        )
    );
    assert_eq!(
        text(&std::fs::read(t.path("pscan")).unwrap()),
        scanned(&record("a-1", "", ""), "x/a") + &scanned(&record("c-1", "", ""), "x/c")
    );
    let mut all = t.pids();
    all.extend(pids(&t.path("pids")));
    assert_eq!(
        all.len(),
        2 + 3 + 1,
        "listings, index runs and the hung sleep"
    );
    wait_gone(&all);

    // A value that is not a number of seconds is refused.
    let o = t
        .cmd(&[])
        .arg(&t.root)
        .arg(t.path("p2"))
        .env("PBULK_SCAN_TIMEOUT", "soon")
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "pbulk-scan: PBULK_SCAN_TIMEOUT must be a number of seconds, not `soon`\n"
    );
}

fn stop_with(signal: i32, jobs: &str) {
    let t = Tree::new();
    t.subdirs("", "x\n");
    t.subdirs("x", "h1 h2 h3 ok\n");
    for p in ["h1", "h2", "h3", "ok"] {
        t.package(&format!("x/{p}"), &record(&format!("{p}-1"), "", ""));
        if p != "ok" {
            t.file(&format!("x/{p}"), "hang", b"");
        }
    }
    let out = t.path("out");
    std::fs::write(&out, "OLD\n").unwrap();
    let mut child = t
        .cmd(&["-v", "-j", jobs])
        .arg(&t.root)
        .arg(&out)
        .env("FAKE_MAKE_PIDS", t.path("pids"))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let want: usize = jobs.parse::<usize>().unwrap().min(3);
    let start = Instant::now();
    while pids(&t.path("pids")).len() < want {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "makes did not start"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    unsafe { libc::kill(child.id() as i32, signal) };
    let start = Instant::now();
    let o = loop {
        if let Some(_status) = child.try_wait().unwrap() {
            break child.wait_with_output().unwrap();
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "pbulk-scan did not stop"
        );
        std::thread::sleep(Duration::from_millis(10));
    };
    assert_eq!(o.status.code(), Some(128 + signal));
    let name = if signal == libc::SIGINT {
        "SIGINT"
    } else {
        "SIGTERM"
    };
    assert_eq!(
        text(&o.stderr),
        format!("pbulk-scan: stopped by {name}; the output file was left unchanged\n")
    );
    assert_eq!(std::fs::read(&out).unwrap(), b"OLD\n");
    let left: Vec<_> = std::fs::read_dir(t.tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".out"))
        .collect();
    assert!(left.is_empty(), "temporary files left: {left:?}");
    let mut all = t.pids();
    all.extend(pids(&t.path("pids")));
    assert!(all.len() >= 2 * want);
    wait_gone(&all);
}

#[test]
fn sigterm_kills_every_child_and_keeps_the_old_output() {
    stop_with(libc::SIGTERM, "3");
}

#[test]
fn sigint_during_a_sequential_scan() {
    stop_with(libc::SIGINT, "1");
}
