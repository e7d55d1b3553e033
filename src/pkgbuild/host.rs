//! Telling a failure of the build host from a failure of the package.
//!
//! A package whose build fails is logged as failed and stays so on a
//! restart; a build that failed because the host could not take it (a full
//! file system or quota, a read-only or missing `${bulklog}`/`${packages}`,
//! a program of pbulk.conf missing, the copy into `${packages}/All`
//! failing) says so and ends with [`crate::cli::HOST_FAILURE`] instead, so
//! pbulk-build stops without logging it and a restart after the fix builds
//! it. The host is checked before the build starts and again when a step
//! fails; the log of the failed step is read for the system's own words for
//! a full or read-only file system, which is how make and the tools it runs
//! report them.

use std::io::{self, Read, Seek, SeekFrom};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use nix::errno::Errno;

use crate::config::{self, Config};

/// The errors of the file system that are the host's, not the package's.
const HOST_ERRNOS: [Errno; 3] = [Errno::ENOSPC, Errno::EDQUOT, Errno::EROFS];

/// How much of the end of a failed step's log is read.
const LOG_TAIL: u64 = 4096;

/// Whether the host can build at all: the programs pkg-build runs exist,
/// `${bulklog}` and `${packages}` are writable directories with space left.
pub fn ready(cfg: &Config) -> Result<(), String> {
    let cross = cfg.value("cross_compile") != "no";
    let pkg_tool = if cross { "pkg_info" } else { "pkg_delete" };
    for var in ["make", "pkg_add", pkg_tool, "pkg_up_to_date_script"] {
        let value = cfg.value(var);
        let Some(prog) = config::split_words(value).into_iter().next() else {
            continue;
        };
        if let Err(why) = config::find_program(&prog) {
            return Err(format!("{var}={value}: {prog}: {why}"));
        }
    }
    let bulklog = PathBuf::from(cfg.value("bulklog"));
    writable_dir("bulklog", &bulklog)?;
    // `mkdir -p ${packages}/All` on the first copy makes what is missing
    // below an existing ${packages} or its parent, which must take it; a
    // ${packages} whose parent is gone too is a file system not mounted.
    let packages = PathBuf::from(cfg.value("packages"));
    let all = packages.join("All");
    let parent = packages.parent().unwrap_or(Path::new("/")).to_path_buf();
    let nearest = [&all, &packages, &parent].into_iter().find(|p| p.exists());
    match nearest {
        Some(dir) => writable_dir("packages", dir),
        None => Err(format!(
            "packages: {}: {}",
            packages.display(),
            Errno::ENOENT.desc()
        )),
    }
}

fn writable_dir(var: &str, dir: &Path) -> Result<(), String> {
    let md = std::fs::metadata(dir)
        .map_err(|e| format!("{var}: {}: {}", dir.display(), crate::cli::strerror(&e)))?;
    if !md.is_dir() {
        return Err(format!("{var}: {}: Not a directory", dir.display()));
    }
    nix::unistd::access(dir, nix::unistd::AccessFlags::W_OK)
        .map_err(|e| format!("{var}: {}: {}", dir.display(), e.desc()))?;
    let fs = nix::sys::statvfs::statvfs(dir)
        .map_err(|e| format!("{var}: {}: {}", dir.display(), e.desc()))?;
    if fs.blocks_available() == 0 || (fs.files() > 0 && fs.files_available() == 0) {
        return Err(format!(
            "{var}: {}: {}",
            dir.display(),
            Errno::ENOSPC.desc()
        ));
    }
    Ok(())
}

/// The host's cause of an error of pkg-build's own file work, if it is one.
pub fn errno_cause(e: &io::Error) -> Option<String> {
    let n = Errno::from_raw(e.raw_os_error()?);
    HOST_ERRNOS.contains(&n).then(|| n.desc().to_string())
}

/// The host's error the end of a step's log reports, if any.
pub fn error_in_log(log: &Path) -> Option<String> {
    let mut f = std::fs::File::open(log).ok()?;
    let len = f.metadata().ok()?.len();
    f.seek(SeekFrom::Start(len.saturating_sub(LOG_TAIL))).ok()?;
    let mut tail = Vec::new();
    f.read_to_end(&mut tail).ok()?;
    HOST_ERRNOS.iter().find_map(|n| {
        let text = n.desc();
        memchr::memmem::find(&tail, text.as_bytes()).map(|_| {
            format!(
                "{text} (in {})",
                String::from_utf8_lossy(log.as_os_str().as_bytes())
            )
        })
    })
}
