//! pbulk-scan on a generated tree of 2,000 package directories (20
//! categories of 100) with a stand-in make that sleeps 20 ms per call and
//! prints a realistic record: wall time of `-j 1` and `-j 2` (goal: a
//! speed-up of at least 1.8 on 2 cores), and of an incremental rescan of
//! the unchanged tree with `-L` (goal: no make call in any package
//! directory, under 1 s). `PBULK_BENCH_SCAN_PKGS` changes the package count.

#[path = "support/programs.rs"]
mod programs;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

const MAKE: &str = r#"#!/bin/sh
sleep 0.02
case "$1" in
show-subdir-var) exec cat SUBDIRS ;;
pbulk-index) echo >> "$BENCH_MAKE_LOG"; exec cat index ;;
esac
exit 1
"#;

fn peak_rss_children_kib() -> i64 {
    let mut ru: libc::rusage = unsafe { std::mem::zeroed() };
    unsafe { libc::getrusage(libc::RUSAGE_CHILDREN, &mut ru) };
    ru.ru_maxrss
}

struct Run {
    wall: Duration,
    index_calls: usize,
}

fn scan(tree: &Path, out: &Path, log: &Path, make: &Path, extra: &[&str]) -> Run {
    let _ = std::fs::remove_file(log);
    let start = Instant::now();
    let status = Command::new(programs::program("pbulk-scan"))
        .args(extra)
        .arg("-M")
        .arg(make)
        .arg(tree)
        .arg(out)
        .env("BENCH_MAKE_LOG", log)
        .status()
        .expect("run pbulk-scan");
    let wall = start.elapsed();
    assert!(status.success(), "pbulk-scan failed: {status}");
    let index_calls = std::fs::read(log).map_or(0, |b| b.len());
    Run { wall, index_calls }
}

fn main() {
    let pkgs: usize = std::env::var("PBULK_BENCH_SCAN_PKGS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2000);
    let tmp = tempfile::tempdir().expect("temp dir");
    let tree = tmp.path().join("pkgsrc");
    let make = tmp.path().join("make");
    std::fs::write(&make, MAKE).unwrap();
    std::fs::set_permissions(&make, std::fs::Permissions::from_mode(0o755)).unwrap();
    let cats = 20;
    let per_cat = pkgs.div_ceil(cats);
    let mut top = String::new();
    let mut n = 0;
    for c in 0..cats {
        let cat = format!("cat{c:02}");
        top.push_str(&cat);
        top.push('\n');
        let mut sub = String::new();
        for p in 0..per_cat {
            if n == pkgs {
                break;
            }
            n += 1;
            let name = format!("pkg{c:02}x{p:03}");
            sub.push_str(&name);
            sub.push(' ');
            let dir = tree.join(&cat).join(&name);
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join("Makefile"), "").unwrap();
            let rec = format!(
                "PKGNAME={name}-1.0\nALL_DEPENDS=cwrappers>=20150314:../../pkgtools/cwrappers\n\
                 PKG_SKIP_REASON=\nPKG_FAIL_REASON=\nNO_BIN_ON_FTP=\nRESTRICTED=\nCATEGORIES={cat}\n\
                 MAINTAINER=pkgsrc-users@NetBSD.org\nUSE_DESTDIR=yes\nBOOTSTRAP_PKG=\nUSERGROUP_PHASE=\n\
                 SCAN_DEPENDS={}/mk/bsd.pkg.mk Makefile\n",
                tree.display()
            );
            std::fs::write(dir.join("index"), rec).unwrap();
        }
        std::fs::write(tree.join(&cat).join("SUBDIRS"), sub).unwrap();
    }
    std::fs::create_dir_all(tree.join("mk")).unwrap();
    std::fs::write(tree.join("mk/bsd.pkg.mk"), "").unwrap();
    std::fs::write(tree.join("SUBDIRS"), top).unwrap();
    let log = tmp.path().join("calls");

    println!("scan bench: {pkgs} package directories in {cats} categories, stand-in make sleeps 20 ms per call");
    let j1 = scan(&tree, &tmp.path().join("pscan.1"), &log, &make, &[]);
    println!(
        "  -j 1: {:.2} s wall, {} pbulk-index calls",
        j1.wall.as_secs_f64(),
        j1.index_calls
    );
    let j2 = scan(
        &tree,
        &tmp.path().join("pscan.2"),
        &log,
        &make,
        &["-j", "2"],
    );
    println!(
        "  -j 2: {:.2} s wall, {} pbulk-index calls",
        j2.wall.as_secs_f64(),
        j2.index_calls
    );
    let same = std::fs::read(tmp.path().join("pscan.1")).unwrap()
        == std::fs::read(tmp.path().join("pscan.2")).unwrap();
    println!(
        "  speed-up -j 2 / -j 1: {:.2} (goal >= 1.8); outputs identical: {same}",
        j1.wall.as_secs_f64() / j2.wall.as_secs_f64()
    );
    let old = tmp.path().join("pscan.2");
    let inc = scan(
        &tree,
        &tmp.path().join("pscan.3"),
        &log,
        &make,
        &["-L", old.to_str().unwrap()],
    );
    let same = std::fs::read(&old).unwrap() == std::fs::read(tmp.path().join("pscan.3")).unwrap();
    println!(
        "  incremental -L, unchanged tree: {:.3} s wall, {} pbulk-index calls (goal: 0, < 1 s); output identical: {same}",
        inc.wall.as_secs_f64(),
        inc.index_calls
    );
    println!("  peak RSS of pbulk-scan: {} KiB", peak_rss_children_kib());
}
