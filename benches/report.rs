//! Benchmark of the report generators on the real data (the report-A
//! golden inputs: 29,022 packages, a 160 MB presolve). Prints the wall time
//! and CPU time (the run of least wall time of five: the machine is shared)
//! and the peak RSS of each program, and their totals.
//! Goal: all report files in at most 1 s together.
//!
//! The reference awk scripts are not timed here: they are not part of the
//! repository and the bench cannot fetch them. The golden README records
//! 22.6 s for them under one-true-awk.

#[path = "support/programs.rs"]
mod programs;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Instant;

/// Decompress straight into the file: a child's peak RSS starts from its
/// parent's at fork, so this process must stay small.
fn unzstd_to(src: &Path, dst: &Path) {
    let st = Command::new("zstd")
        .arg("-dqf")
        .arg(src)
        .arg("-o")
        .arg(dst)
        .status()
        .expect("zstd");
    assert!(st.success(), "zstd failed on {}", src.display());
}

/// Run a program to its end and return its own (wall s, cpu s, peak RSS
/// KiB), reaping it with wait4 so the figures are its alone.
// The child is reaped by wait4, which clippy cannot see.
#[allow(clippy::zombie_processes)]
fn measure(exe: &Path, args: &[&Path]) -> (f64, f64, i64) {
    use std::process::Stdio;
    let t = Instant::now();
    let child = Command::new(exe)
        .args(args)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    let mut status = 0;
    // SAFETY: wait4 on our own child fills the zeroed struct we own.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    let pid = unsafe { libc::wait4(child.id() as libc::pid_t, &mut status, 0, &mut ru) };
    let wall = t.elapsed().as_secs_f64();
    assert_eq!(pid, child.id() as libc::pid_t, "wait4 failed");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{} failed",
        exe.display()
    );
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (wall, secs(ru.ru_utime) + secs(ru.ru_stime), ru.ru_maxrss)
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

    let runs: [(&str, Vec<&Path>); 5] = [
        ("create-report", vec![&meta]),
        ("create-report-txt", vec![&meta]),
        ("create-report-html", vec![&meta, &log]),
        ("create-broken-graph", vec![&meta]),
        ("compute-packages", vec![&meta]),
    ];
    let (mut total, mut report_files, mut cpu_total, mut peak) = (0.0, 0.0, 0.0, 0);
    for (prog, args) in &runs {
        let exe = programs::program(prog);
        let (secs, cpu, rss) = (0..5)
            .map(|_| measure(&exe, args))
            .min_by(|a, b| a.0.total_cmp(&b.0))
            .expect("runs");
        peak = peak.max(rss);
        println!(
            "report bench: {prog:<20} {secs:>7.3} s wall {cpu:>7.3} s cpu {rss:>7} KiB peak RSS"
        );
        total += secs;
        cpu_total += cpu;
        if *prog != "compute-packages" {
            report_files += secs;
        }
    }
    println!("report bench: all report files       {report_files:>7.3} s (goal <= 1 s)");
    println!("report bench: with compute-packages  {total:>7.3} s wall {cpu_total:>7.3} s cpu");
    println!("report bench: peak RSS (largest program) {peak} KiB");
}
