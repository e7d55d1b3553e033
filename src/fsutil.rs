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
pub fn write_atomic_with(
    path: &Path,
    fill: impl FnOnce(&mut io::BufWriter<&mut File>) -> io::Result<()>,
) -> io::Result<()> {
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
