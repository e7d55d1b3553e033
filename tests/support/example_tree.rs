//! Helpers for the tests of the example pkgsrc tree and the stand-in tools.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The example tree.
pub fn tree() -> PathBuf {
    super::common::root().join("tests/pkgsrc")
}

/// A stand-in package tool (`pkg_add`, `pkg_info`, ...).
pub fn tool(name: &str) -> PathBuf {
    super::common::root().join("tests/tools").join(name)
}

/// Settings that would leak into bmake from the caller's environment
/// (a GNU make running `cargo test` exports MAKEFLAGS, for one).
const LEAKY: [&str; 11] = [
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "MAKECONF",
    "LOCALBASE",
    "PKG_DBDIR",
    "PACKAGES",
    "WRKOBJDIR",
    "PBULK_TEST_FAIL",
    "PKG_PATH",
    "MAKEOBJDIR",
];

/// Run `bmake args...` in `dir` with a clean environment plus `env`.
pub fn bmake(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new("bmake");
    cmd.args(args).current_dir(dir);
    for v in LEAKY {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied());
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run bmake in {}: {e}", dir.display()))
}

/// Like `bmake`, but the command must succeed; returns its stdout.
pub fn bmake_ok(dir: &Path, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = bmake(dir, args, env);
    assert!(
        out.status.success(),
        "bmake {args:?} in {} failed:\n{}{}",
        dir.display(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 make output")
}

/// Run a stand-in tool with a clean environment plus `env`.
pub fn run_tool(name: &str, args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut cmd = Command::new(tool(name));
    cmd.args(args);
    for v in LEAKY {
        cmd.env_remove(v);
    }
    cmd.envs(env.iter().copied());
    cmd.output()
        .unwrap_or_else(|e| panic!("cannot run {name}: {e}"))
}

/// Like `run_tool`, but the tool must succeed; returns its stdout.
pub fn tool_ok(name: &str, args: &[&str], env: &[(&str, &str)]) -> String {
    let out = run_tool(name, args, env);
    assert!(
        out.status.success(),
        "{name} {args:?} failed ({}):\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("UTF-8 tool output")
}
