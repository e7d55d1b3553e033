//! Crash-safe file updates: a file in the bulk log is either the old or the
//! new version, never half-written.

use std::fs::{File, OpenOptions};
use std::io::{self, Write};
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
    let resolved;
    let path = match std::fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_symlink() => match std::fs::canonicalize(path) {
            Ok(target) => {
                resolved = target;
                resolved.as_path()
            }
            // A dangling link: create its target through it.
            Err(_) => return write_in_place(path, fill),
        },
        _ => path,
    };
    if std::fs::metadata(path).is_ok_and(|m| !m.is_file()) {
        return write_in_place(path, fill);
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let mut tmp = tempfile::Builder::new()
        .prefix(&format!(
            ".{}.",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("tmp")
        ))
        .tempfile_in(dir)?;
    {
        let mut w = io::BufWriter::new(tmp.as_file_mut());
        fill(&mut w)?;
        w.flush()?;
    }
    // Keep the mode a plain create would give (tempfile makes 0600).
    set_default_mode(tmp.as_file())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    sync_dir(dir)
}

fn write_in_place(
    path: &Path,
    fill: impl FnOnce(&mut io::BufWriter<&mut File>) -> io::Result<()>,
) -> io::Result<()> {
    let mut f = File::create(path)?;
    let mut w = io::BufWriter::new(&mut f);
    fill(&mut w)?;
    w.flush()
}

fn set_default_mode(f: &File) -> io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let umask = current_umask();
    f.set_permissions(std::fs::Permissions::from_mode(0o666 & !umask))
}

fn current_umask() -> u32 {
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
            let tmp = dir.join(format!(".{base}.{}.{n}", std::process::id()));
            match OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(&tmp)
            {
                Ok(file) => {
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
        let Some((tmp, target)) = self.tmp else {
            return Ok(());
        };
        set_default_mode(&self.file)?;
        self.file.sync_all()?;
        drop(self.file);
        tmp.persist(&target).map_err(|e| e.error)?;
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
    fn writes_special_files_in_place() {
        // /dev/null stays a device node; a rename over it would replace it.
        write_atomic(Path::new("/dev/null"), b"x").unwrap();
        assert!(!std::fs::metadata("/dev/null").unwrap().is_file());
    }
}
