//! Reading the big meta files cheaply. `meta/report` and `presolve` hold
//! 160 MB on a full tree, but the generators need only a few kinds of
//! lines: [`read_filtered`] streams the file and keeps just those, so
//! memory stays at a few MB. `create-report` needs every byte and maps the
//! file instead of copying it ([`Mapped`]).

use std::io::Read;
use std::path::Path;

use crate::cli::{Error, Result};

const CHUNK: usize = 1 << 20;

fn open_error(path: &Path, e: &std::io::Error) -> Error {
    Error::err(format_args!("cannot read {}", path.display()), e)
}

/// The lines of `path` that start with one of `keys`, each ending with a
/// newline, in file order.
pub fn read_filtered(path: &Path, keys: &[&[u8]]) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).map_err(|e| open_error(path, &e))?;
    filter_lines(f, keys).map_err(|e| open_error(path, &e))
}

/// [`read_filtered`] on any reader.
pub fn filter_lines(mut r: impl Read, keys: &[&[u8]]) -> std::io::Result<Vec<u8>> {
    let decide_at = keys.iter().map(|k| k.len()).max().unwrap_or(0);
    let wanted = |head: &[u8]| keys.iter().any(|k| head.starts_with(k));
    let mut out = Vec::new();
    let mut buf = vec![0u8; CHUNK];
    // The start of the current line while it is too short to decide.
    let mut head: Vec<u8> = Vec::new();
    // Some(true/false) once the current line is known to be kept or not.
    let mut keep: Option<bool> = None;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut data = &buf[..n];
        while !data.is_empty() {
            let nl = memchr::memchr(b'\n', data);
            let (part, rest, ends) = match nl {
                Some(i) => (&data[..i], &data[i + 1..], true),
                None => (data, &data[data.len()..], false),
            };
            match keep {
                Some(true) => out.extend_from_slice(part),
                Some(false) => {}
                None => {
                    head.extend_from_slice(part);
                    if head.len() >= decide_at || ends {
                        let k = wanted(&head);
                        if k {
                            out.extend_from_slice(&head);
                        }
                        head.clear();
                        keep = Some(k);
                    }
                }
            }
            if ends {
                if keep == Some(true) {
                    out.push(b'\n');
                }
                keep = None;
            }
            data = rest;
        }
    }
    // A last line without its newline still counts, as for awk's getline.
    let last_kept = match keep {
        Some(k) => k,
        None => !head.is_empty() && wanted(&head),
    };
    if keep.is_none() && last_kept {
        out.extend_from_slice(&head);
    }
    if last_kept {
        out.push(b'\n');
    }
    Ok(out)
}

/// A whole file mapped read-only.
/// An empty file cannot be mapped; it reads as an empty slice.
pub struct Mapped {
    ptr: *mut libc::c_void,
    len: usize,
}

impl Mapped {
    pub fn open(path: &Path) -> Result<Mapped> {
        use std::os::unix::io::AsRawFd;
        let f = std::fs::File::open(path).map_err(|e| open_error(path, &e))?;
        let len = f.metadata().map_err(|e| open_error(path, &e))?.len() as usize;
        if len == 0 {
            return Ok(Mapped {
                ptr: std::ptr::null_mut(),
                len: 0,
            });
        }
        // SAFETY: a private read-only mapping of a file we opened; the
        // descriptor may close afterwards. The meta files are not truncated
        // while a report phase reads them.
        let ptr = unsafe {
            libc::mmap(
                std::ptr::null_mut(),
                len,
                libc::PROT_READ,
                libc::MAP_PRIVATE | libc::MAP_POPULATE,
                f.as_raw_fd(),
                0,
            )
        };
        if ptr == libc::MAP_FAILED {
            return Err(open_error(path, &std::io::Error::last_os_error()));
        }
        Ok(Mapped { ptr, len })
    }
}

impl std::ops::Deref for Mapped {
    type Target = [u8];
    fn deref(&self) -> &[u8] {
        if self.len == 0 {
            return &[];
        }
        // SAFETY: ptr/len describe our live read-only mapping.
        unsafe { std::slice::from_raw_parts(self.ptr as *const u8, self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        if self.len > 0 {
            // SAFETY: unmapping the mapping made in `open`.
            unsafe { libc::munmap(self.ptr, self.len) };
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader handing out at most `step` bytes per read.
    struct Trickle<'a>(&'a [u8], usize);
    impl Read for Trickle<'_> {
        fn read(&mut self, b: &mut [u8]) -> std::io::Result<usize> {
            let n = self.0.len().min(self.1).min(b.len());
            b[..n].copy_from_slice(&self.0[..n]);
            self.0 = &self.0[n..];
            Ok(n)
        }
    }

    #[test]
    fn keeps_only_wanted_lines_across_chunk_borders() {
        let text = b"PKGNAME=a\nSCAN_DEPENDS=xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\nDEPENDS=b c\nDEP\nPKGNAME=z";
        for step in [1, 2, 3, 7, 1000] {
            let out = filter_lines(Trickle(text, step), &[b"PKGNAME=", b"DEPENDS="]).unwrap();
            assert_eq!(out, b"PKGNAME=a\nDEPENDS=b c\nPKGNAME=z\n", "step {step}");
        }
        assert_eq!(filter_lines(Trickle(b"", 5), &[b"X="]).unwrap(), b"");
        assert_eq!(
            filter_lines(Trickle(b"X=\n\n", 5), &[b"X="]).unwrap(),
            b"X=\n"
        );
    }

    #[test]
    fn maps_files() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("f");
        std::fs::write(&p, b"hello").unwrap();
        assert_eq!(&*Mapped::open(&p).unwrap(), b"hello");
        std::fs::write(&p, b"").unwrap();
        assert!(Mapped::open(&p).unwrap().is_empty());
        assert!(Mapped::open(&dir.path().join("missing")).is_err());
    }
}
