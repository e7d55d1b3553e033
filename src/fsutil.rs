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

/// A temporary file beside `path`, for output that is produced over a long
/// time and must replace `path` only when complete ([`commit_temp`]).
pub fn temp_beside(path: &Path) -> io::Result<tempfile::NamedTempFile> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    tempfile::Builder::new()
        .prefix(&format!(
            ".{}.",
            path.file_name().and_then(|n| n.to_str()).unwrap_or("tmp")
        ))
        .tempfile_in(dir)
}

/// Give a finished [`temp_beside`] file the mode a plain create would, make
/// it durable and rename it over `path`.
pub fn commit_temp(tmp: tempfile::NamedTempFile, path: &Path) -> io::Result<()> {
    set_default_mode(tmp.as_file())?;
    tmp.as_file().sync_all()?;
    tmp.persist(path).map_err(|e| e.error)?;
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    sync_dir(dir)
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
