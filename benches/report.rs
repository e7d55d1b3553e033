//! Benchmark of the report generators on the real data (the report-A
//! golden inputs: 29,022 packages, a 160 MB presolve). Prints the wall time
//! of each program, their total, and the peak RSS of the largest of them.
//! Goal: all report files in at most 1 s together.
//!
//! The reference awk scripts are not timed here: they are not part of the
//! repository and the bench cannot fetch them. The golden README records
//! 22.6 s for them under one-true-awk.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

fn target_dir() -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    exe.parent().and_then(Path::parent).unwrap().to_path_buf()
}

fn unzstd_to(src: &Path, dst: &Path) {
    let out = Command::new("zstd")
        .arg("-dcq")
        .arg(src)
        .output()
        .expect("zstd");
    assert!(out.status.success(), "zstd failed on {}", src.display());
    std::fs::write(dst, out.stdout).unwrap();
}

fn peak_rss_children_kib() -> i64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: getrusage fills the struct we own.
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    ru.ru_maxrss
}

fn main() {
    let data = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../shared/data");
    let tmp = tempfile::tempdir().unwrap();
    let meta = tmp.path().join("meta");
    let log = tmp.path().join("log");
    std::fs::create_dir_all(&meta).unwrap();
    unzstd_to(&data.join("presolve.zst"), &meta.join("presolve"));
    unzstd_to(
        &data.join("golden/build-A/report.zst"),
        &meta.join("pbuild"),
    );
    unzstd_to(&data.join("golden/build-A/error.zst"), &meta.join("error"));
    unzstd_to(
        &data.join("golden/build-A/success.zst"),
        &meta.join("success"),
    );
    std::fs::copy(data.join("golden/report-A/status"), meta.join("status")).unwrap();
    for pkg in std::fs::read_to_string(meta.join("error")).unwrap().lines() {
        std::fs::create_dir_all(log.join(pkg)).unwrap();
        std::fs::write(log.join(pkg).join("build.log"), "x").unwrap();
        std::fs::write(log.join(pkg).join("pre-clean.log"), "x").unwrap();
    }

    let bins = target_dir();
    let runs: [(&str, Vec<&Path>); 5] = [
        ("create-report", vec![&meta]),
        ("create-report-txt", vec![&meta]),
        ("create-report-html", vec![&meta, &log]),
        ("create-broken-graph", vec![&meta]),
        ("compute-packages", vec![&meta]),
    ];
    let mut total = 0.0;
    let mut report_files = 0.0;
    for (prog, args) in &runs {
        let exe = bins.join(prog);
        assert!(
            exe.exists(),
            "{} not built (run cargo bench --workspace)",
            exe.display()
        );
        let t = Instant::now();
        let out = Command::new(&exe).args(args).output().unwrap();
        let secs = t.elapsed().as_secs_f64();
        assert!(
            out.status.success(),
            "{prog}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        println!("report bench: {prog:<20} {secs:>7.3} s");
        total += secs;
        if *prog != "compute-packages" {
            report_files += secs;
        }
    }
    println!("report bench: all report files       {report_files:>7.3} s (goal <= 1 s)");
    println!("report bench: with compute-packages  {total:>7.3} s");
    println!(
        "report bench: peak RSS (largest program) {} KiB",
        peak_rss_children_kib()
    );
}
