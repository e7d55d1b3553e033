//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;

/// The project root.
pub fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/data` beside the project root: the real data and goldens.
pub fn shared_data() -> PathBuf {
    root().join("../shared/data")
}

/// The path of an installed program as cargo built it for this test run
/// (`target/<profile>/<name>`; the phase program `build` is built as
/// `pbulk-phase-build`).
pub fn bin(name: &str) -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target profile directory");
    let name = if name == "build" {
        "pbulk-phase-build"
    } else {
        name
    };
    let p = dir.join(name);
    assert!(
        p.exists(),
        "{} was not built; run the tests with --workspace",
        p.display()
    );
    p
}

/// Decompress a `.zst` file of the shared data with the `zstd` tool.
pub fn unzstd(path: &Path) -> Vec<u8> {
    let out = Command::new("zstd")
        .arg("-dcq")
        .arg(path)
        .output()
        .unwrap_or_else(|e| panic!("cannot run zstd for {}: {e}", path.display()));
    assert!(out.status.success(), "zstd failed on {}", path.display());
    out.stdout
}

/// Decompress a shared `.zst` file into `dir` under `name` and return its path.
pub fn unzstd_to(src: &Path, dir: &Path, name: &str) -> PathBuf {
    let dst = dir.join(name);
    std::fs::write(&dst, unzstd(src)).expect("write decompressed data");
    dst
}
