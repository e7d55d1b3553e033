//! The per-package build scripts: `pkg-build` (build and publish one
//! package) and `pkg-up-to-date` (may its existing binary be reused?).

pub mod host;
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
    let mut out = crate::fsutil::PendingFile::create(dst)?;
    io::copy(&mut input, out.file())?;
    out.commit_with_mode(mode & !crate::fsutil::current_umask())
}
