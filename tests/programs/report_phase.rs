//! The report phase program end to end, with stand-in mail and neato and a
//! real rsync into a local directory.

use crate::support::report as report_support;

use report_support::{tree, Fixture};

const PRESOLVE: &str = "PKGNAME=a-1\nPKG_LOCATION=devel/a\nMAINTAINER=x@example.org\n\
PKGNAME=b-1\nPKG_LOCATION=devel/b\nMAINTAINER=y@example.org\nDEPENDS=a-1\n\
PKGNAME=c-1\nPKG_LOCATION=devel/c\nMAINTAINER=z@example.org\n\
PKGNAME=d-1\nPKG_LOCATION=devel/d\nMAINTAINER=z@example.org\nPKG_FAIL_REASON=\"broken\"\n";
const PBUILD: &str = "a-1|failed||2\nb-1|indirect-failed||1\nc-1|done||1\nd-1|prefailed||1\n";
const STATUS: &str =
    "PLATFORM=NetBSD 10.1/amd64\nBUILD_START_ISO=2025-04-09 11:00\nBUILD_START_DIR=20250409.1100\n\
BUILD_START_ISO=2025-04-09 12:00\nBUILD_START_DIR=20250409.1200\nBUILD_END_ISO=2025-04-09 13:00\n";

fn fixture(status: &str) -> Fixture {
    let f = Fixture::new();
    f.write("bulklog/meta/presolve", PRESOLVE);
    f.write("bulklog/meta/pbuild", PBUILD);
    f.write("bulklog/meta/error", "a-1\n");
    f.write("bulklog/meta/success", "c-1\n");
    f.write("bulklog/meta/status", status);
    f.write("bulklog/meta/report.svg", "stale\n");
    // The report root exists on the server; rsync makes the build's directory.
    std::fs::create_dir_all(f.path("reports")).unwrap();
    for log in ["pre-clean.log", "build.log", "work.log", "wrkdir.tar.gz"] {
        f.write(&format!("bulklog/a-1/{log}"), "log\n");
    }
    f
}

#[test]
fn builds_mails_and_uploads_the_report() {
    let f = fixture(STATUS);
    let out = f.run("report", "");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Build reports...\nSending report mail...\nUploading report...\n"
    );

    let meta = f.path("bulklog/meta");
    let report = std::fs::read(meta.join("report")).unwrap();
    let unbz = std::process::Command::new("bzip2")
        .arg("-dc")
        .arg(meta.join("report.bz2"))
        .output()
        .unwrap();
    assert_eq!(unbz.stdout, report, "report.bz2 holds the report");
    // The mode of a plain create, like the report beside it (the rsync
    // publishes it), and no temporary left behind.
    use std::os::unix::fs::PermissionsExt;
    let mode = |f: &str| {
        std::fs::metadata(meta.join(f))
            .unwrap()
            .permissions()
            .mode()
            & 0o777
    };
    assert_eq!(mode("report.bz2"), mode("report"));
    assert!(std::fs::read_dir(&meta).unwrap().all(|e| !e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .starts_with('.')));
    let txt = std::fs::read_to_string(meta.join("report.txt")).unwrap();
    assert!(
        txt.contains("devel/a                                    1 x@example.org"),
        "{txt}"
    );

    // One edge (a-1 -> b-1) is below the limit: neato rendered the SVG.
    assert_eq!(
        f.recorded("neato.args").unwrap(),
        format!(
            "-Tsvg\n-Goverlap=ortho\n-Gsplines=true\n-o\n{0}/report.svg\n{0}/report.dot\n",
            meta.display()
        )
    );
    assert_eq!(
        std::fs::read_to_string(meta.join("report.svg")).unwrap(),
        "<svg/>\n"
    );

    // Subject from the last status values; recipients word-split.
    assert_eq!(
        f.recorded("mail.args").unwrap(),
        "-s\npkgsrc NetBSD 10.1/amd64 2025-04-09 12:00\na@example.org\nb@example.org\n"
    );
    assert_eq!(f.recorded("mail.stdin").unwrap(), txt);

    assert_eq!(
        f.recorded("rsync.stdin").unwrap(),
        "+ meta/\n+ a-1/\n+ meta/report.bz2\n+ meta/report.txt\n+ meta/report.html\n+ meta/report.dot\n\
+ meta/report.svg\n+ meta/status\n+ meta/report-timeline.html\n+ a-1/pre-clean.log\n+ a-1/build.log\n+ a-1/work.log\n- *\n"
    );
    let target = f.path("reports/20250409.1200");
    assert_eq!(
        f.recorded("rsync.args").unwrap(),
        format!("--exclude-from=-\n-a\n.\n{}\n", target.display())
    );
    assert_eq!(
        f.recorded("rsync.cwd").unwrap().trim(),
        f.path("bulklog")
            .canonicalize()
            .unwrap()
            .display()
            .to_string()
    );
    assert_eq!(
        tree(&target),
        [
            "a-1/build.log",
            "a-1/pre-clean.log",
            "a-1/work.log",
            "meta/report-timeline.html",
            "meta/report.bz2",
            "meta/report.dot",
            "meta/report.html",
            "meta/report.svg",
            "meta/report.txt",
            "meta/status",
        ]
    );
}

#[test]
fn too_many_edges_remove_the_svg_and_skip_neato() {
    let f = fixture(STATUS);
    let out = f.run("report", "report_graph_script_limit=1");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(f.recorded("neato.args").is_none());
    assert!(!f.path("bulklog/meta/report.svg").exists());
    assert!(!f.recorded("rsync.stdin").unwrap().contains("report.svg"));
}

#[test]
fn missing_start_time_stops_before_mail() {
    let f = fixture("PLATFORM=x\nBUILD_START_ISO=2025-04-09 12:00\n");
    let out = f.run("report", "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Build reports...\nCould not find start time of build.\n"
    );
    assert!(f.recorded("mail.args").is_none());
    assert!(f.recorded("rsync.args").is_none());
    // The report files were made all the same.
    assert!(f.path("bulklog/meta/report.html").exists());
}

#[test]
fn colon_disables_mail_and_upload() {
    let f = fixture(STATUS);
    let out = f.run("report", "mail=:\nrsync=:");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(f.recorded("mail.args").is_none());
    assert!(f.recorded("rsync.args").is_none());
    assert!(tree(&f.path("reports")).is_empty());
}

#[test]
fn failing_generator_status_is_the_phase_status() {
    let f = fixture(STATUS);
    let out = f.run("report", "report_txt_script=false");
    assert_eq!(out.status.code(), Some(1));
    assert!(f.recorded("mail.args").is_none());
}

#[test]
fn without_an_executable_neato_the_svg_is_removed() {
    let f = fixture(STATUS);
    let out = f.run("report", "neato=/nonexistent/neato");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!f.path("bulklog/meta/report.svg").exists());
    assert!(f.path("reports/20250409.1200/meta/report.html").exists());
}

#[test]
fn a_failing_mail_stops_the_phase_with_its_status() {
    let f = fixture(STATUS);
    std::fs::write(f.path("tools/mail3"), "#!/bin/sh\ncat >/dev/null\nexit 3\n").unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(
        f.path("tools/mail3"),
        std::fs::Permissions::from_mode(0o755),
    )
    .unwrap();
    let out = f.run(
        "report",
        &format!("mail={}", f.path("tools/mail3").display()),
    );
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        "Build reports...\nSending report mail...\n"
    );
    assert!(f.recorded("rsync.args").is_none());
}
