//! Benchmark: `pbulk-resolve` (of the bench's profile) on the real 29,022-package pscan
//! (`cargo bench --bench resolve`). Prints wall time and peak RSS of the
//! resolver (output to /dev/null and to a file), and the ratio to one
//! streaming `awk '/^PKGNAME=/{n++}'` pass over the same file measured in
//! the same run.

#[path = "support/programs.rs"]
mod programs;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const RUNS: usize = 5;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// One run: wall time, CPU time (user + system) and peak RSS in KiB.
#[derive(Clone, Copy)]
struct Figures {
    wall: Duration,
    cpu: Duration,
    rss_kib: i64,
}

fn tv(t: libc::timeval) -> Duration {
    Duration::from_secs(t.tv_sec as u64) + Duration::from_micros(t.tv_usec as u64)
}

/// Run `cmd` to completion and take its figures from wait4 (the same
/// ru_maxrss getrusage(RUSAGE_CHILDREN) reports, but for this child only).
// The child is reaped by wait4 below, not by Child::wait.
#[allow(clippy::zombie_processes)]
fn measure(cmd: &mut Command) -> Figures {
    let start = Instant::now();
    let child = cmd.spawn().expect("spawn");
    let pid = child.id() as libc::pid_t;
    let mut status = 0;
    // SAFETY: rusage is plain data that wait4 fills in.
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    // SAFETY: pid is our own child, not yet reaped.
    let r = unsafe { libc::wait4(pid, &mut status, 0, &mut ru) };
    let wall = start.elapsed();
    assert_eq!(r, pid, "wait4");
    assert!(
        libc::WIFEXITED(status) && libc::WEXITSTATUS(status) == 0,
        "{cmd:?} failed"
    );
    Figures {
        wall,
        cpu: tv(ru.ru_utime) + tv(ru.ru_stime),
        rss_kib: ru.ru_maxrss,
    }
}

/// The fastest of `n` runs (the machine is shared; the minimum is the
/// least disturbed figure).
fn best_of(n: usize, mut f: impl FnMut() -> Figures) -> Figures {
    (0..n).map(|_| f()).min_by_key(|f| f.wall).expect("runs")
}

fn decompress(src: &Path, dst: &Path) {
    let out = std::fs::File::create(dst).expect("create");
    let ok = Command::new("zstd")
        .arg("-dcq")
        .arg(src)
        .stdout(out)
        .status()
        .expect("run zstd");
    assert!(ok.success());
}

fn main() {
    let data = root().join("../shared/data/pscan.zst");
    if !data.exists() {
        println!("resolve: {} not found, skipped", data.display());
        return;
    }
    let bin = programs::program("pbulk-resolve");
    let dir = tempfile::tempdir().expect("temporary directory");
    let pscan = dir.path().join("pscan");
    decompress(&data, &pscan);
    let size = std::fs::metadata(&pscan).expect("pscan").len();

    let resolve_to = |out: Stdio| {
        let mut c = Command::new(&bin);
        c.arg(&pscan).stdout(out).stderr(Stdio::null());
        measure(&mut c)
    };
    let to_file = dir.path().join("presolve");
    // Warm the page cache, then measure.
    resolve_to(Stdio::null());
    let awk = best_of(RUNS, || {
        let mut c = Command::new("awk");
        c.arg("/^PKGNAME=/{n++}").arg(&pscan).stdout(Stdio::null());
        measure(&mut c)
    });
    let null = best_of(RUNS, || resolve_to(Stdio::null()));
    let file = best_of(RUNS, || {
        resolve_to(std::fs::File::create(&to_file).expect("out").into())
    });

    println!(
        "resolve: input {:.0} MB, best of {RUNS} runs",
        size as f64 / 1e6
    );
    let show = |what: &str, f: Figures| {
        println!(
            "resolve: {what:<34} wall {:.3} s  cpu {:.3} s  peak RSS {:6.1} MB  wall/awk {:5.2}",
            f.wall.as_secs_f64(),
            f.cpu.as_secs_f64(),
            f.rss_kib as f64 / 1024.0,
            f.wall.as_secs_f64() / awk.wall.as_secs_f64()
        );
    };
    show("awk '/^PKGNAME=/{n++}' pscan", awk);
    show("pbulk-resolve pscan > /dev/null", null);
    show("pbulk-resolve pscan > file", file);
}
