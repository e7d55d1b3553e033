//! Crash-safe file updates: a file in the bulk log is either the old or the
//! new version, never half-written.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
use std::os::fd::AsRawFd;
use std::path::Path;

/// Replace `path` with `data`: write a temporary file beside it, fsync it,
/// rename it over the target and fsync the directory.
pub fn write_atomic(path: &Path, data: &[u8]) -> io::Result<()> {
    write_atomic_with(path, |f| f.write_all(data))
}

/// Like [`write_atomic`], with the content produced by `fill`.
///
/// A symlink is followed and its target replaced, never the link itself; a
/// path that is not a regular file (a fifo, `/dev/stdout`, a terminal) is
/// written in place, as there is nothing to rename over.
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut io::BufWriter<&mut File>) -> io::Result<()>,
) -> io::Result<()> {
    let mut out = PendingFile::create(path)?;
    {
        let mut w = io::BufWriter::new(out.file());
        fill(&mut w)?;
        w.flush()?;
    }
    out.commit()
}

/// The temporary name of the `n`th output for `base` by process `pid`:
/// hidden, and naming its writer, so that one left by a killed writer can
/// be told from one being written.
fn temp_name(base: &str, pid: u32, n: u32) -> String {
    format!(".{base}.{pid}.{n}")
}

/// Remove the temporary outputs in `dir` whose writer is gone (killed
/// before it could rename or remove them); returns how many. A writer
/// holds a lock on its file until it is renamed, so a file of this naming
/// that nobody holds locked is a dead writer's (process ids alone would not
/// tell: they are reused within minutes where pid_max is 32768). Every
/// other file is left alone.
pub fn remove_stale_temporaries(dir: &Path) -> io::Result<usize> {
    let mut removed = 0;
    let own = std::process::id();
    for e in std::fs::read_dir(dir)? {
        let e = e?;
        let name = e.file_name();
        let Some(name) = name.to_str().and_then(|n| n.strip_prefix('.')) else {
            continue;
        };
        let mut parts = name.rsplitn(3, '.');
        let (Some(n), Some(pid), Some(base)) = (parts.next(), parts.next(), parts.next()) else {
            continue;
        };
        let Ok(pid) = pid.parse::<u32>() else {
            continue;
        };
        if base.is_empty() || n.is_empty() || !n.bytes().all(|b| b.is_ascii_digit()) || pid == own {
            continue;
        }
        if !e.file_type()?.is_file() {
            continue;
        }
        let Ok(f) = File::open(e.path()) else {
            continue;
        };
        // SAFETY: flock on a descriptor owned here; closing it unlocks.
        let free = unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } == 0;
        if free {
            std::fs::remove_file(e.path())?;
            removed += 1;
        }
    }
    Ok(removed)
}

pub fn current_umask() -> u32 {
    // umask can only be read by setting it; restore at once.
    let old = nix::sys::stat::umask(nix::sys::stat::Mode::from_bits_truncate(0o022));
    nix::sys::stat::umask(old);
    old.bits() as u32
}

/// fsync a directory so a rename in it survives a crash.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Open a log for appending whole lines (created 0666 minus umask).
pub fn open_append(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)
}

/// Append one line with a single write and make it durable before returning,
/// so a crash never leaves half a line or loses a reported result.
pub fn append_line_synced(f: &mut File, line: &str) -> io::Result<()> {
    let mut buf = Vec::with_capacity(line.len() + 1);
    buf.extend_from_slice(line.as_bytes());
    buf.push(b'\n');
    f.write_all(&buf)?;
    f.sync_data()
}

/// An output produced over a long time (a scan, a child's stdout) that
/// must replace its target only when complete, following the same rules as
/// [`write_atomic_with`]: a symlink's target is replaced, not the link, and
/// a target that is not a regular file is written in place.
pub struct PendingFile {
    file: File,
    tmp: Option<(tempfile::TempPath, std::path::PathBuf)>,
}

impl PendingFile {
    /// Start the output for `path`. The temporary file is made here rather
    /// than by `tempfile` so a failure is the plain OS error (`No such file
    /// or directory`), fit for an err(3)-style message.
    pub fn create(path: &Path) -> io::Result<PendingFile> {
        use std::os::unix::fs::OpenOptionsExt;
        let target = match std::fs::symlink_metadata(path) {
            Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
                Ok(t) => t,
                Err(_) => {
                    return Ok(PendingFile {
                        file: File::create(path)?,
                        tmp: None,
                    })
                }
            },
            _ => path.to_path_buf(),
        };
        if std::fs::metadata(&target).is_ok_and(|m| !m.is_file()) {
            return Ok(PendingFile {
                file: File::create(&target)?,
                tmp: None,
            });
        }
        let dir = match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
            _ => std::path::PathBuf::from("."),
        };
        let base = target.file_name().and_then(|n| n.to_str()).unwrap_or("tmp");
        let mut n = 0;
        loop {
            let tmp = dir.join(temp_name(base, std::process::id(), n));
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
            {
                Ok(file) => {
                    // Held while the output is written, so that a tidy-up
                    // can tell a live writer's file from a killed one's.
                    // SAFETY: flock on a descriptor this function owns.
                    unsafe {
                        libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB);
                    }
                    return match tempfile::TempPath::try_from_path(&tmp) {
                        Ok(t) => Ok(PendingFile {
                            file,
                            tmp: Some((t, target)),
                        }),
                        Err(e) => {
                            let _ = std::fs::remove_file(&tmp);
                            Err(e)
                        }
                    };
                }
                Err(e) if e.kind() == io::ErrorKind::AlreadyExists && n < 1000 => n += 1,
                Err(e) => return Err(e),
            }
        }
    }

    /// The file being written.
    pub fn file(&mut self) -> &mut File {
        &mut self.file
    }

    /// Put the finished output in place: the mode a plain create would
    /// give, fsync, rename, fsync the directory. Dropping a pending file
    /// instead removes the temporary file and leaves the target alone.
    pub fn commit(self) -> io::Result<()> {
        let mode = 0o666 & !current_umask();
        self.commit_with_mode(mode)
    }

    /// [`PendingFile::commit`] with the given permission bits.
    pub fn commit_with_mode(self, mode: u32) -> io::Result<()> {
        use std::os::unix::fs::PermissionsExt;
        let Some((tmp, target)) = self.tmp else {
            return Ok(());
        };
        self.file
            .set_permissions(std::fs::Permissions::from_mode(mode))?;
        self.file.sync_all()?;
        // Renamed while still open, hence still locked.
        tmp.persist(&target).map_err(|e| e.error)?;
        drop(self.file);
        match target.parent() {
            Some(d) if !d.as_os_str().is_empty() => sync_dir(d),
            _ => sync_dir(Path::new(".")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replaces_a_regular_file_whole() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("status");
        std::fs::write(&p, "old\n").unwrap();
        write_atomic(&p, b"new\n").unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"new\n");
        let names: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(names.len(), 1, "no temporary file left behind");
    }

    #[test]
    fn follows_a_symlink_instead_of_replacing_it() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("real");
        let link = dir.path().join("link");
        std::fs::write(&target, "old").unwrap();
        std::os::unix::fs::symlink(&target, &link).unwrap();
        write_atomic(&link, b"new").unwrap();
        assert!(std::fs::symlink_metadata(&link)
            .unwrap()
            .file_type()
            .is_symlink());
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn only_temporaries_nobody_writes_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        // A live writer's output, locked until committed.
        let target = dir.path().join("report");
        let mut live = PendingFile::create(&target).unwrap();
        live.file().write_all(b"new").unwrap();
        let others = [
            ".report.4242.0",
            ".pkg_summary.gz.17.12",
            ".hidden",
            ".a.b",
            "report.1.0",
        ];
        for n in others {
            std::fs::write(dir.path().join(n), "x").unwrap();
        }
        // The two of a killed writer go; the live one and the rest stay.
        assert_eq!(remove_stale_temporaries(dir.path()).unwrap(), 2);
        live.commit().unwrap();
        let mut left: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, [".a.b", ".hidden", "report", "report.1.0"]);
        assert_eq!(std::fs::read(&target).unwrap(), b"new");
    }

    #[test]
    fn writes_special_files_in_place() {
        // /dev/null stays a device node; a rename over it would replace it.
        write_atomic(Path::new("/dev/null"), b"x").unwrap();
        assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
    }
}
