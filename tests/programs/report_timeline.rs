//! The timeline page (our extension beside report.html): content from the
//! report, the log directory and the timing CSV; rendered by headless
//! Chromium without console errors when /usr/bin/chromium exists (the
//! Debian package `chromium`), skipped with a message otherwise.

use crate::support::common;

use std::path::Path;
use std::process::Command;

const REPORT: &str = "PKGNAME=a-1\nPKG_LOCATION=devel/a\nPKG_DEPTH=3\nBUILD_STATUS=failed\n\
PKGNAME=b<1\nPKG_LOCATION=devel/b\nPKG_DEPTH=1\nBUILD_STATUS=failed\n\
PKGNAME=c-1\nPKG_LOCATION=devel/c\nPKG_DEPTH=1\nBUILD_STATUS=done\n";
const CSV: &str =
    "a-1,slot0,1000,1300,failed\nc-1,slot1,1000,1900,done\nb<1,slot0,1310,1320,failed\n";

fn make(dir: &Path, csv: Option<&str>) -> String {
    let meta = dir.join("meta");
    std::fs::create_dir_all(&meta).unwrap();
    std::fs::write(meta.join("report"), REPORT).unwrap();
    std::fs::write(
        meta.join("status"),
        "PLATFORM=NetBSD\nBUILD_START_ISO=2025-04-09 12:00\n",
    )
    .unwrap();
    if let Some(c) = csv {
        std::fs::write(meta.join("build-timeline.csv"), c).unwrap();
    }
    std::fs::create_dir_all(dir.join("log/a-1")).unwrap();
    std::fs::write(dir.join("log/a-1/build.log"), "x").unwrap();
    let out = Command::new(common::bin("create-report-html"))
        .arg(&meta)
        .arg(dir.join("log"))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    std::fs::read_to_string(meta.join("report-timeline.html")).unwrap()
}

#[test]
fn page_has_failures_first_slowest_and_timeline() {
    let tmp = tempfile::tempdir().unwrap();
    let page = make(tmp.path(), Some(CSV));
    let failures = page.find("<h2>Failures (2)</h2>").expect("failure section");
    let timeline = page.find("<h2>Timeline</h2>").expect("timeline section");
    let slowest = page
        .find("<h2>Slowest packages</h2>")
        .expect("slowest section");
    assert!(failures < timeline && timeline < slowest);
    // The package breaking most comes first and links its log.
    let a = page.find("<tr><td>a-1</td>").unwrap();
    let b = page.find("<tr><td>b&lt;1</td>").unwrap();
    assert!(a < b);
    assert!(page.contains("<a href=\"../a-1/build.log\">build.log</a>"));
    assert_eq!(page.matches("<rect ").count(), 3, "one bar per build");
    // Slowest first: c-1 (15 min), a-1 (5 min), b<1 (10 s).
    let rows = &page[slowest..];
    let (c, a, b) = (
        rows.find("c-1").unwrap(),
        rows.find("a-1").unwrap(),
        rows.find("b&lt;1").unwrap(),
    );
    assert!(c < a && a < b);
    assert!(rows.contains("0:15:00"));
}

#[test]
fn page_without_timing_data_says_so() {
    let tmp = tempfile::tempdir().unwrap();
    let page = make(tmp.path(), None);
    assert!(page.contains("No build timing data was recorded"));
    assert!(!page.contains("<svg"));
}

#[test]
fn without_timeline_the_build_history_gives_the_slowest() {
    let tmp = tempfile::tempdir().unwrap();
    // The build phase keeps its history at <bulklog>.history.
    std::fs::write(
        tmp.path().join("log.history"),
        "# pbulk-rs build history 1: <pkgname> TAB <milliseconds>\na-1\t5000\nc-1\t905000\nold-1\t99999999\n",
    )
    .unwrap();
    let page = make(tmp.path(), None);
    assert!(page.contains("durations from the build history"), "{page}");
    assert!(!page.contains("<svg"));
    let slowest = page.find("<h2>Slowest packages</h2>").unwrap();
    let rows = &page[slowest..];
    let (c, a) = (
        rows.find("<td>c-1</td>").unwrap(),
        rows.find("<td>a-1</td>").unwrap(),
    );
    assert!(c < a, "slowest first");
    assert!(rows.contains("<td>0:15:05</td>"));
    assert!(!rows.contains("old-1"), "only this build's packages");
}

#[test]
fn chromium_renders_without_console_errors() {
    let chromium = Path::new("/usr/bin/chromium");
    if !chromium.exists() {
        common::skip(
            "chromium_renders_without_console_errors",
            "/usr/bin/chromium is not installed (Debian package `chromium`)",
        );
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    make(tmp.path(), Some(CSV));
    let page = tmp.path().join("meta/report-timeline.html");
    let profile = tmp.path().join("chromium-profile");
    // No network here: without these flags Chromium keeps trying to reach
    // its services and logs the refusals.
    let out = Command::new(chromium)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--enable-logging=stderr",
            "--v=0",
            "--dump-dom",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .arg(format!("file://{}", page.display()))
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let dom = String::from_utf8_lossy(&out.stdout);
    assert!(
        dom.contains("<svg") && dom.contains("<rect"),
        "the SVG is in the rendered DOM"
    );
    let err = String::from_utf8_lossy(&out.stderr);
    let console: Vec<&str> = err
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(console.is_empty(), "console messages: {console:?}");
}
