//! Paths fixed when pbulk-rs is built: the install prefix and what hangs off
//! it, and the configuration directory. `make PREFIX=... PKG_SYSCONFDIR=...`
//! passes them as `PBULK_PREFIX` and `PBULK_SYSCONFDIR` to cargo; build.rs
//! supplies the defaults (`/usr/pkg_bulk`, `PREFIX/etc`).

use std::ffi::OsString;
use std::path::PathBuf;

/// pbulk's own installation prefix (the original's `@PREFIX@`).
pub const PREFIX: &str = env!("PBULK_BUILT_PREFIX");

/// Directory of pbulk.conf (pkgsrc's `PKG_SYSCONFDIR`).
pub const SYSCONFDIR: &str = env!("PBULK_BUILT_SYSCONFDIR");

/// The configuration version these programs expect (`@PBULK_CONFIG_VERSION@`).
pub const CONFIG_VERSION: &str = "0.68";

/// Environment variable that overrides the compiled-in config path; it is
/// passed on unchanged to every child, so all phases read the same file.
pub const CONF_ENV: &str = "PBULK_CONF";

/// The compiled-in configuration file (the original's `@PBULK_CONFIG@`).
pub fn default_config_path() -> PathBuf {
    PathBuf::from(format!("{SYSCONFDIR}/pbulk.conf"))
}

/// The configuration file every program reads. A relative `PBULK_CONF` is
/// made absolute: sh's `.` would search PATH for a name without a slash,
/// and children that change directory must still find the same file.
pub fn config_path() -> PathBuf {
    match std::env::var_os(CONF_ENV) {
        Some(p) if !p.is_empty() => {
            let p = PathBuf::from(p);
            match std::env::current_dir() {
                Ok(cwd) if p.is_relative() => cwd.join(p),
                _ => p,
            }
        }
        _ => default_config_path(),
    }
}

/// Environment variable replacing `PREFIX/libexec/pbulk` in [`libexec`]
/// (pbulk-rs extension: lets tests and relocated installs supply the
/// hard-coded helpers; unset, the reference path is used).
pub const LIBEXEC_ENV: &str = "PBULK_LIBEXECDIR";

/// `@PREFIX@/libexec/pbulk/<name>`, for the few helpers the original calls
/// by a hard-coded path rather than through a config variable.
pub fn libexec(name: &str) -> PathBuf {
    match std::env::var_os(LIBEXEC_ENV) {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir).join(name),
        _ => PathBuf::from(format!("{PREFIX}/libexec/pbulk/{name}")),
    }
}

/// `@PREFIX@/bin/<name>`.
pub fn bin(name: &str) -> OsString {
    OsString::from(format!("{PREFIX}/bin/{name}"))
}
