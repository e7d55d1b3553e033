//! The per-package build scripts: `pkg-build` (build and publish one
//! package) and `pkg-up-to-date` (may its existing binary be reused?).

pub mod input;
pub mod pkg_build;
pub mod run;
pub mod shread;
pub mod up_to_date;

use std::io;
use std::path::Path;

/// Copy `src` to `dst` through a temporary file beside `dst`, so readers
/// of the directory see either no file or the whole one. The copy gets the
/// source's permission bits minus the umask, as cp(1) gives a new file.
pub fn copy_atomic(src: &Path, dst: &Path) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mut input = std::fs::File::open(src)?;
    let mode = input.metadata()?.permissions().mode() & 0o777;
    let dir = match dst.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(".pkg-build.")
        .tempfile_in(dir)?;
    io::copy(&mut input, tmp.as_file_mut())?;
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    nix::sys::stat::umask(old);
    tmp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(mode & !(old.bits() as u32)))?;
    tmp.as_file().sync_all()?;
    tmp.persist(dst).map_err(|e| e.error)?;
    crate::fsutil::sync_dir(dir)
}
