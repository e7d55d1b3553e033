//! Paths fixed when pbulk-rs is built: the install prefix and what hangs off
//! it. `make PREFIX=...` passes the prefix as `PBULK_PREFIX` to cargo.

use std::ffi::OsString;
use std::path::PathBuf;

/// pbulk's own installation prefix (the original's `@PREFIX@`).
pub const PREFIX: &str = match option_env!("PBULK_PREFIX") {
    Some(p) => p,
    None => "/usr/pbulk",
};

/// The configuration version these programs expect (`@PBULK_CONFIG_VERSION@`).
pub const CONFIG_VERSION: &str = "0.68";

/// Environment variable that overrides the compiled-in config path; it is
/// passed on unchanged to every child, so all phases read the same file.
pub const CONF_ENV: &str = "PBULK_CONF";

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
        _ => PathBuf::from(format!("{PREFIX}/etc/pbulk.conf")),
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
