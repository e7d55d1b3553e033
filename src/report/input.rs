//! Reading the big meta files cheaply. `meta/report` and `presolve` hold
//! 160 MB on a full tree, but the generators need only a few kinds of
//! lines: [`read_filtered`] streams the file and keeps just those, so
//! memory stays at a few MB. `create-report` needs every byte, in another
//! order: [`scan_lines`] gives it the line offsets to read blocks from.

use std::io::Read;
use std::path::Path;

use crate::cli::{Error, Result};

const CHUNK: usize = 1 << 20;

fn open_error(path: &Path, e: &std::io::Error) -> Error {
    Error::err(format_args!("cannot read {}", path.display()), e)
}

/// The lines of `path` that start with one of `keys`, each ending with a
/// newline, in file order.
///
/// Inlined: each caller passes constant keys, which the comparisons of the
/// hot loop below need to see to be cheap (out of line, every line costs a
/// library call per key).
#[inline(always)]
pub fn read_filtered(path: &Path, keys: &[&[u8]]) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).map_err(|e| open_error(path, &e))?;
    filter_lines(f, keys).map_err(|e| open_error(path, &e))
}

/// [`read_filtered`] on any reader.
#[inline(always)]
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

/// Walk the lines of `r`, calling `f(start, end, rest)` for each with its
/// byte range (newline excluded) and, when the line starts with `key`, the
/// text after the key. Only such lines are ever held in memory.
pub fn scan_lines(
    mut r: impl Read,
    key: &[u8],
    mut f: impl FnMut(u64, u64, Option<&[u8]>),
) -> std::io::Result<()> {
    let mut buf = vec![0u8; CHUNK];
    let mut pos: u64 = 0;
    let mut line_start: u64 = 0;
    // The line so far while undecided or known to start with `key`.
    let mut head: Vec<u8> = Vec::new();
    let mut keyed: Option<bool> = None;
    let mut any = false;
    loop {
        let n = match r.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        let mut data = &buf[..n];
        while !data.is_empty() {
            any = true;
            let nl = memchr::memchr(b'\n', data);
            let part = &data[..nl.unwrap_or(data.len())];
            if keyed != Some(false) {
                head.extend_from_slice(part);
                if keyed.is_none() && (head.len() >= key.len() || nl.is_some()) {
                    keyed = Some(head.starts_with(key));
                    if keyed == Some(false) {
                        head.clear();
                    }
                }
            }
            pos += part.len() as u64;
            match nl {
                Some(_) => {
                    let rest = if keyed == Some(true) {
                        Some(&head[key.len()..])
                    } else {
                        None
                    };
                    f(line_start, pos, rest);
                    head.clear();
                    keyed = None;
                    pos += 1;
                    line_start = pos;
                    any = false;
                    data = &data[part.len() + 1..];
                }
                None => data = &[],
            }
        }
    }
    if any {
        let keyed = keyed.unwrap_or_else(|| head.starts_with(key));
        f(
            line_start,
            pos,
            if keyed {
                Some(&head[key.len()..])
            } else {
                None
            },
        );
    }
    Ok(())
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
    fn scans_line_ranges_and_keyed_text() {
        let text = b"PKGNAME=a-1\nX=1\n\nPKGNAME=bbbbbbbbbbbbbbbbbbbb\nPKG";
        for step in [1, 3, 5, 100] {
            let mut seen = Vec::new();
            scan_lines(Trickle(text, step), b"PKGNAME=", |s, e, k| {
                seen.push((s, e, k.map(<[u8]>::to_vec)))
            })
            .unwrap();
            assert_eq!(
                seen,
                vec![
                    (0, 11, Some(b"a-1".to_vec())),
                    (12, 15, None),
                    (16, 16, None),
                    (17, 45, Some(b"bbbbbbbbbbbbbbbbbbbb".to_vec())),
                    (46, 49, None),
                ],
                "step {step}"
            );
        }
    }
}
