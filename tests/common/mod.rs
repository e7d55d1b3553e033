//! Helpers shared by the integration tests.
#![allow(dead_code)]

pub mod realpkgsrc;

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

/// A small seeded random source (xorshift64*) for tests that must be
/// replayable from a printed seed.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    /// Uniform in `[0, n)` (0 for n = 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
}

/// The seed in environment variable `var`, or one from the clock; printed
/// either way, so a failure can be replayed with `var=<seed>`.
pub fn seed(var: &str) -> u64 {
    let seed = std::env::var(var)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("seed: {var}={seed}");
    seed
}
