//! The scan record format shared by pscan, presolve and the build logs:
//! `NAME=value` lines; a record starts at a line beginning with `PKGNAME=`
//! and runs to the next such line. Records are kept as opaque byte ranges;
//! only a few fields are ever looked at.

use std::io::Read;
use std::path::Path;

use crate::cli::{Error, Result};

pub const PKGNAME: &[u8] = b"PKGNAME=";

/// Read a whole input file the way the original's `read_from_file` does:
/// regular files only, and no NUL byte anywhere.
pub fn read_input(path: &Path) -> Result<Vec<u8>> {
    let f = std::fs::File::open(path).map_err(|e| Error::err("Cannot open input", &e))?;
    read_opened(f, path)
}

/// [`read_input`] for a file the caller opened itself (pbulk-build opens
/// its input before its logs, as the original does, so the errors come in
/// the same order).
pub fn read_opened(mut f: std::fs::File, path: &Path) -> Result<Vec<u8>> {
    let md = f
        .metadata()
        .map_err(|e| Error::err("Cannot stat input", &e))?;
    if !md.is_file() {
        return Err(Error::errx("Input is not regular file"));
    }
    let mut buf = Vec::with_capacity(md.len() as usize);
    f.read_to_end(&mut buf)
        .map_err(|e| Error::err("Failed to read input", &e))?;
    check_no_nul(&buf, path)?;
    Ok(buf)
}

/// The original refuses any input holding a NUL byte; ours says where.
pub fn check_no_nul(buf: &[u8], path: &Path) -> Result<()> {
    match memchr::memchr(0, buf) {
        Some(at) => Err(nul_at(path, line_of(buf, at))),
        None => Ok(()),
    }
}

/// `Invalid input (NUL character found)` at `path`, line `line`.
pub fn nul_at(path: &Path, line: u64) -> Error {
    Error::errx(format!(
        "Invalid input (NUL character found): {}, line {line}",
        path.display()
    ))
}

/// The package name of a record's first line, if it is a valid `PKGNAME=`
/// line: newline-terminated, at least `min_len` bytes, no blanks. The
/// scanner accepts 2 bytes, the resolver and builder 4.
pub fn pkgname_of(rec: &[u8], min_len: usize) -> Option<&[u8]> {
    let rest = rec.strip_prefix(PKGNAME)?;
    let nl = memchr::memchr(b'\n', rest)?;
    let name = &rest[..nl];
    if name.len() < min_len || name.iter().any(|&b| b == b' ' || b == b'\t') {
        return None;
    }
    Some(name)
}

/// The end of the record starting at `start`: the start of the next line
/// beginning with `PKGNAME=`, or the end of the buffer. `None` when a line
/// of the record lacks its newline.
pub fn record_end(buf: &[u8], start: usize) -> Option<usize> {
    let mut pos = start;
    loop {
        let nl = memchr::memchr(b'\n', &buf[pos..])? + pos;
        pos = nl + 1;
        if pos == buf.len() || buf[pos..].starts_with(PKGNAME) {
            return Some(pos);
        }
    }
}

/// Longest package name accepted as a file name (NAME_MAX less room for
/// the package suffix and the temporary names of atomic writes).
pub const MAX_NAME: usize = 200;
/// Longest `PKG_LOCATION` accepted.
pub const MAX_LOCATION: usize = 1000;

/// Why `name` (a PKGNAME, a log or package file name) cannot be used as one
/// file name under `${bulklog}` or `${packages}/All`, if it cannot: names
/// come from Makefiles and clients, and a `/`, a `..` or a leading `-` would
/// make pkg-build write, delete or run outside where it belongs.
pub fn name_problem(name: &[u8]) -> Option<&'static str> {
    if name.is_empty() {
        Some("is empty")
    } else if name.len() > MAX_NAME {
        Some("is longer than 200 bytes")
    } else if name.contains(&b'/') {
        Some("contains a /")
    } else if name == b"." || name == b".." {
        Some("is . or ..")
    } else if name[0] == b'-' {
        Some("starts with -")
    } else if name.iter().any(|&b| b < 0x20 || b == 0x7f) {
        Some("holds a control character")
    } else {
        None
    }
}

/// Why `loc` cannot be a `PKG_LOCATION` (a directory inside pkgsrc), if it
/// cannot: relative, every part a valid file name, bounded.
pub fn location_problem(loc: &[u8]) -> Option<&'static str> {
    if loc.len() > MAX_LOCATION {
        return Some("is longer than 1000 bytes");
    }
    if loc.first() == Some(&b'/') {
        return Some("is absolute");
    }
    loc.split(|&b| b == b'/')
        .find_map(|part| match name_problem(part) {
            Some("is . or ..") => Some("has a . or .. part"),
            Some("is empty") => Some("has an empty part"),
            Some(_) if part.len() > MAX_NAME => Some("has a part longer than 200 bytes"),
            Some("starts with -") => Some("has a part starting with -"),
            Some(_) => Some("holds a control character"),
            None => None,
        })
}

/// Why the record `rec` (starting with its `PKGNAME=` line) must not be
/// built, if it must not: its name or its location is unsafe as a path.
/// The text says which field and what is wrong, e.g. ``PKGNAME `../x'
/// contains a /``.
pub fn record_problem(rec: &[u8]) -> Option<String> {
    let name = field(rec, PKGNAME).unwrap_or_default();
    if let Some(why) = name_problem(name) {
        return Some(format!("PKGNAME `{}' {why}", shown(name)));
    }
    let loc = field(rec, b"PKG_LOCATION=")?;
    location_problem(loc).map(|why| format!("PKG_LOCATION `{}' {why}", shown(loc)))
}

/// At most 100 bytes of `bytes`, escaped, for a one-line message.
pub fn shown(bytes: &[u8]) -> String {
    let cut = &bytes[..bytes.len().min(100)];
    let more = if cut.len() < bytes.len() { "..." } else { "" };
    format!("{}{more}", cut.escape_ascii())
}

/// The value of the first line of `rec` starting with `prefix` (without the
/// newline).
pub fn field<'a>(rec: &'a [u8], prefix: &[u8]) -> Option<&'a [u8]> {
    lines(rec).find_map(|l| l.strip_prefix(prefix))
}

/// The lines of a record, without their newlines.
pub fn lines(rec: &[u8]) -> impl Iterator<Item = &[u8]> {
    let body = rec.strip_suffix(b"\n").unwrap_or(rec);
    body.split(|&b| b == b'\n')
}

/// One record of a file: its byte range and its package name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    pub start: usize,
    pub end: usize,
    pub name_end: usize,
}

impl Span {
    pub fn text<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.start..self.end]
    }
    pub fn pkgname<'a>(&self, buf: &'a [u8]) -> &'a [u8] {
        &buf[self.start + PKGNAME.len()..self.name_end]
    }
}

/// The reference's `Invalid input`, saying where (`path`, 1-based `line`)
/// and what is wrong there.
pub fn invalid_at(path: &Path, line: u64, why: &str) -> Error {
    Error::errx(format!(
        "Invalid input: {}, line {line}: {why}",
        path.display()
    ))
}

/// The 1-based number of the line holding byte `pos` of `buf`.
pub fn line_of(buf: &[u8], pos: usize) -> u64 {
    memchr::memchr_iter(b'\n', &buf[..pos.min(buf.len())]).count() as u64 + 1
}

/// Split a whole file into records as the resolver and builder do: parse
/// while the next text is a valid `PKGNAME=` line; a record without its
/// final newline, or leftover text that does not start a record, is
/// `Invalid input` (naming `path` and the line).
pub fn split_records(buf: &[u8], min_len: usize, path: &Path) -> Result<Vec<Span>> {
    let mut out = Vec::new();
    let mut pos = 0;
    while pos < buf.len() {
        let Some(name) = pkgname_of(&buf[pos..], min_len) else {
            break;
        };
        let name_end = pos + PKGNAME.len() + name.len();
        let end = record_end(buf, pos).ok_or_else(|| {
            invalid_at(
                path,
                line_of(buf, buf.len()),
                "the last line has no newline",
            )
        })?;
        out.push(Span {
            start: pos,
            end,
            name_end,
        });
        pos = end;
    }
    if pos != buf.len() {
        let why = if buf[pos..].starts_with(PKGNAME) {
            "a PKGNAME too short, with a blank or without newline"
        } else {
            "a line that starts no record where a PKGNAME= line must be"
        };
        return Err(invalid_at(path, line_of(buf, pos), why));
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const P: &str = "pscan";

    #[test]
    fn splits_records_at_pkgname_lines() {
        let buf = b"PKGNAME=foo-1.0\nPKG_LOCATION=a/foo\nPKGNAME=bar-2\nX=PKGNAME=y\n";
        let recs = split_records(buf, 4, Path::new(P)).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].pkgname(buf), b"foo-1.0");
        assert_eq!(recs[1].text(buf), b"PKGNAME=bar-2\nX=PKGNAME=y\n");
        assert_eq!(
            field(recs[0].text(buf), b"PKG_LOCATION="),
            Some(&b"a/foo"[..])
        );
    }

    #[test]
    fn rejects_short_names_missing_newline_and_junk() {
        assert!(split_records(b"PKGNAME=abc\n", 4, Path::new(P)).is_err());
        assert!(split_records(b"PKGNAME=abc\n", 2, Path::new(P)).is_ok());
        assert!(split_records(b"PKGNAME=abcd\nX=1", 4, Path::new(P)).is_err());
        assert!(split_records(b"junk\nPKGNAME=abcd\n", 4, Path::new(P)).is_err());
        assert!(split_records(b"PKGNAME=ab cd\n", 4, Path::new(P)).is_err());
        assert_eq!(split_records(b"", 4, Path::new(P)).unwrap(), vec![]);
        assert_eq!(
            split_records(b"PKGNAME=abcd\nX=1\nPKGNAME=ab\n", 4, Path::new(P))
                .unwrap_err()
                .msg,
            "Invalid input: pscan, line 3: a PKGNAME too short, with a blank or without newline"
        );
    }

    #[test]
    fn unsafe_names_and_locations_are_named() {
        assert_eq!(name_problem(b"gmake-4.4"), None);
        assert_eq!(name_problem(b"../x-1"), Some("contains a /"));
        assert_eq!(name_problem(b".."), Some("is . or .."));
        assert_eq!(name_problem(b"-rf-1"), Some("starts with -"));
        assert_eq!(name_problem(b"a\x1b-1"), Some("holds a control character"));
        assert_eq!(name_problem(&[b'a'; 201]), Some("is longer than 200 bytes"));
        assert_eq!(location_problem(b"devel/gmake"), None);
        assert_eq!(location_problem(b"/etc"), Some("is absolute"));
        assert_eq!(location_problem(b"a/../../b"), Some("has a . or .. part"));
        assert_eq!(location_problem(b"a//b"), Some("has an empty part"));
        assert_eq!(
            record_problem(b"PKGNAME=../../x-1\nPKG_LOCATION=a/b\n").as_deref(),
            Some("PKGNAME `../../x-1' contains a /")
        );
        assert_eq!(record_problem(b"PKGNAME=x-1\nPKG_LOCATION=a/b\n"), None);
    }

    #[test]
    fn field_is_anchored_at_line_start() {
        let rec = b"PKGNAME=a-1\nALL_DEPENDS=x\nDEPENDS=b-1\n";
        assert_eq!(field(rec, b"DEPENDS="), Some(&b"b-1"[..]));
    }
}
