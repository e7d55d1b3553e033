//! Compiles in the paths `make` chose (`PBULK_PREFIX`, `PBULK_SYSCONFDIR`,
//! pkgsrc's PREFIX and PKG_SYSCONFDIR) and records them beside the built
//! programs in `pbulk-paths`, so that `make install-only` can refuse to
//! install programs that would look for their configuration elsewhere.

use std::path::{Path, PathBuf};

const DEFAULT_PREFIX: &str = "/usr/pkg_bulk";

fn setting(var: &str) -> Option<String> {
    println!("cargo:rerun-if-env-changed={var}");
    match std::env::var(var) {
        Ok(v) if !v.is_empty() => Some(v),
        Ok(_) | Err(std::env::VarError::NotPresent) => None,
        Err(std::env::VarError::NotUnicode(_)) => panic!("{var} is not UTF-8"),
    }
}

/// The paths end up in shell lines and in the stamp file read by make:
/// they must be absolute, single-line and free of trailing slashes.
fn check(var: &str, p: &str) {
    assert!(
        p.starts_with('/') && !p.contains('\n') && (p == "/" || !p.ends_with('/')),
        "{var}={p:?}: an absolute path without newline or trailing slash is needed"
    );
}

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    let prefix = setting("PBULK_PREFIX").unwrap_or_else(|| DEFAULT_PREFIX.to_string());
    check("PBULK_PREFIX", &prefix);
    let sysconfdir = setting("PBULK_SYSCONFDIR").unwrap_or_else(|| format!("{prefix}/etc"));
    check("PBULK_SYSCONFDIR", &sysconfdir);
    println!("cargo:rustc-env=PBULK_BUILT_PREFIX={prefix}");
    println!("cargo:rustc-env=PBULK_BUILT_SYSCONFDIR={sysconfdir}");

    // OUT_DIR is <target>/<profile>/build/<crate>-<hash>/out; the programs
    // are linked into <target>/<profile>.
    let out = PathBuf::from(std::env::var_os("OUT_DIR").expect("OUT_DIR"));
    if let Some(dir) = out.ancestors().nth(3).filter(|d| d.is_dir()) {
        write_stamp(dir, &prefix, &sysconfdir);
    }
}

fn write_stamp(dir: &Path, prefix: &str, sysconfdir: &str) {
    let text = format!("PREFIX={prefix}\nPKG_SYSCONFDIR={sysconfdir}\n");
    let stamp = dir.join("pbulk-paths");
    if std::fs::read_to_string(&stamp).is_ok_and(|t| t == text) {
        return;
    }
    let tmp = dir.join(format!(".pbulk-paths.{}", std::process::id()));
    std::fs::write(&tmp, text)
        .and_then(|()| std::fs::rename(&tmp, &stamp))
        .unwrap_or_else(|e| panic!("{}: {e}", stamp.display()));
}
