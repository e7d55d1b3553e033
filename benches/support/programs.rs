//! Where the benchmarks find the programs they run.

use std::path::{Path, PathBuf};

/// The program installed as `name`: pbulk-rs linked under that name in
/// `PBULK_BENCH_PROGRAMS` (`make bench`, the installed executable), else
/// the thin crate's build beside this bench's profile directory.
pub fn program(name: &str) -> PathBuf {
    let p = match std::env::var_os("PBULK_BENCH_PROGRAMS") {
        Some(dir) => PathBuf::from(dir).join(name),
        None => {
            let exe = std::env::current_exe().expect("bench executable path");
            let dir = exe
                .parent()
                .and_then(Path::parent)
                .expect("target profile directory");
            dir.join(if name == "build" {
                "pbulk-phase-build"
            } else {
                name
            })
        }
    };
    assert!(p.exists(), "{} is missing: run `make bench`", p.display());
    p
}
