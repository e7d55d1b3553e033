//! Loading the scan files: one streaming pass per file that keeps only
//! what resolution needs (names, locations, ALL_DEPENDS values, where the
//! records and their PKG_FAIL_REASON lines lie). The record texts stay on
//! disk and are copied from there when the output is written, so memory
//! does not grow with the SCAN_DEPENDS bulk of a full tree.
//!
//! The accepted format and the errors are the reference's: regular file,
//! no NUL byte, records that each start with a valid `PKGNAME=` line
//! (no blanks, at least 4 bytes), end with a newline and hold a
//! `PKG_LOCATION=` line; anything else is "Invalid input".

use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::path::{Path, PathBuf};

use crate::cli::{Error, Result};

/// Bytes read per `read()`.
const CHUNK: usize = 1 << 20;

/// The shortest PKGNAME the resolver accepts.
const MIN_NAME: usize = 4;

/// An input file, kept open to copy record texts from later.
#[derive(Debug)]
pub struct Input {
    pub path: PathBuf,
    pub file: File,
    pub len: u64,
}

/// One record: where it is, and the fields resolution reads. Text ranges
/// point into [`Scan::arena`]; offsets are file positions.
#[derive(Debug, Clone)]
pub struct Record {
    pub input: usize,
    pub start: u64,
    pub end: u64,
    pub name: Range<u32>,
    pub loc: Range<u32>,
    /// The ALL_DEPENDS value including its newline.
    pub deps: Option<Range<u32>>,
    /// File offset of the ALL_DEPENDS value.
    pub deps_off: u64,
    /// The record already has a `DEPENDS=` line (resolved earlier).
    pub has_depends: bool,
    /// File offsets of the first `PKG_FAIL_REASON=` line, newline included.
    pub fail_line: Option<Range<u64>>,
    /// Starts active: it comes from the first input.
    pub active: bool,
}

/// Everything loaded from the inputs, records in load order.
#[derive(Debug, Default)]
pub struct Scan {
    pub inputs: Vec<Input>,
    pub recs: Vec<Record>,
    pub arena: Vec<u8>,
}

impl Scan {
    pub fn text(&self, r: &Range<u32>) -> &[u8] {
        &self.arena[r.start as usize..r.end as usize]
    }

    pub fn name(&self, i: usize) -> &[u8] {
        self.text(&self.recs[i].name)
    }

    pub fn loc(&self, i: usize) -> &[u8] {
        self.text(&self.recs[i].loc)
    }

    fn keep(&mut self, bytes: &[u8]) -> Range<u32> {
        let start = self.arena.len() as u32;
        self.arena.extend_from_slice(bytes);
        start..self.arena.len() as u32
    }

    /// Load one input file; records of the first file start active.
    pub fn load(&mut self, path: &Path) -> Result<()> {
        let mut file = File::open(path).map_err(|e| Error::err("Cannot open input", &e))?;
        let md = file
            .metadata()
            .map_err(|e| Error::err("Cannot stat input", &e))?;
        if !md.is_file() {
            return Err(Error::errx("Input is not regular file"));
        }
        let len = md.len();
        let input = self.inputs.len();
        let mut p = Parser {
            input,
            active: input == 0,
            cur: None,
            invalid: false,
            lineno: 0,
            why: None,
        };
        let mut buf = vec![0u8; CHUNK.min(len as usize + 1)];
        let (mut filled, mut base, mut total) = (0usize, 0u64, 0u64);
        while total < len {
            if filled == buf.len() {
                buf.resize(buf.len() * 2, 0);
            }
            let want = (buf.len() - filled).min((len - total) as usize);
            let n = match file.read(&mut buf[filled..filled + want]) {
                Ok(0) => return Err(Error::errx("Unexpected short read")),
                Ok(n) => n,
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(Error::err("Failed to read input", &e)),
            };
            filled += n;
            total += n as u64;
            let used = p
                .lines(self, &buf[..filled], base)
                .ok_or_else(|| crate::record::nul_at(path, p.lineno + 1))?;
            buf.copy_within(used..filled, 0);
            filled -= used;
            base += used as u64;
        }
        if memchr::memchr(0, &buf[..filled]).is_some() {
            return Err(crate::record::nul_at(path, p.lineno + 1));
        }
        // A last line without its newline, or a record without location.
        if filled != 0 {
            p.lineno += 1;
            p.fail("the last line has no newline");
        }
        p.finish(self, len);
        if let Some((line, why)) = p.why {
            return Err(crate::record::invalid_at(path, line, why));
        }
        self.inputs.push(Input {
            path: path.to_path_buf(),
            file,
            len,
        });
        Ok(())
    }
}

/// The record being read.
#[derive(Debug)]
struct Open {
    rec: Record,
    has_loc: bool,
    /// The line of its `PKGNAME=`.
    line: u64,
}

struct Parser {
    input: usize,
    active: bool,
    cur: Option<Open>,
    /// Parsing stopped at text the reference does not accept; the rest of
    /// the file is still read for the NUL check, which the reference makes
    /// first.
    invalid: bool,
    /// Lines seen so far (the number of the current one).
    lineno: u64,
    /// Where and why parsing stopped first.
    why: Option<(u64, &'static str)>,
}

impl Parser {
    fn fail(&mut self, why: &'static str) {
        self.fail_at(self.lineno, why);
    }

    fn fail_at(&mut self, line: u64, why: &'static str) {
        if !self.invalid {
            self.invalid = true;
            self.why = Some((line, why));
        }
    }

    /// Handle the complete lines of `buf` (file offset `base`); the number
    /// of bytes used, `None` at a NUL byte.
    fn lines(&mut self, scan: &mut Scan, buf: &[u8], base: u64) -> Option<usize> {
        let mut pos = 0;
        // One pass finds both the line ends and any NUL.
        while let Some(nl) = memchr::memchr2(b'\n', 0, &buf[pos..]) {
            if buf[pos + nl] == 0 {
                return None;
            }
            let line = &buf[pos..pos + nl];
            self.lineno += 1;
            if !self.invalid {
                self.line(scan, line, base + pos as u64);
            }
            pos += nl + 1;
        }
        Some(pos)
    }

    fn line(&mut self, scan: &mut Scan, line: &[u8], off: u64) {
        if let Some(name) = line.strip_prefix(b"PKGNAME=") {
            self.finish(scan, off);
            if self.invalid {
                return;
            }
            if name.len() < MIN_NAME || name.iter().any(|&c| c == b' ' || c == b'\t') {
                self.fail("a PKGNAME shorter than 4 bytes or with a blank");
                return;
            }
            let name = scan.keep(name);
            let rec = Record {
                input: self.input,
                start: off,
                end: off,
                name,
                loc: 0..0,
                deps: None,
                deps_off: 0,
                has_depends: false,
                fail_line: None,
                active: self.active,
            };
            self.cur = Some(Open {
                rec,
                has_loc: false,
                line: self.lineno,
            });
            return;
        }
        let Some(cur) = self.cur.as_mut() else {
            self.fail("text before the first PKGNAME= line");
            return;
        };
        let end = off + line.len() as u64 + 1;
        match line.first() {
            Some(b'P') => {
                if let Some(v) = line.strip_prefix(b"PKG_LOCATION=") {
                    if !cur.has_loc {
                        cur.has_loc = true;
                        cur.rec.loc = scan.keep(v);
                    }
                } else if line.starts_with(b"PKG_FAIL_REASON=") && cur.rec.fail_line.is_none() {
                    cur.rec.fail_line = Some(off..end);
                }
            }
            Some(b'A') => {
                if let Some(v) = line.strip_prefix(b"ALL_DEPENDS=") {
                    if cur.rec.deps.is_none() {
                        let r = scan.keep(v);
                        scan.arena.push(b'\n');
                        cur.rec.deps = Some(r.start..r.end + 1);
                        cur.rec.deps_off = off + b"ALL_DEPENDS=".len() as u64;
                    }
                }
            }
            Some(b'D') => cur.rec.has_depends |= line.starts_with(b"DEPENDS="),
            _ => {}
        }
    }

    /// Close the open record at file offset `end`.
    fn finish(&mut self, scan: &mut Scan, end: u64) {
        if let Some(mut cur) = self.cur.take() {
            if !cur.has_loc {
                self.fail_at(cur.line, "a record without PKG_LOCATION");
                return;
            }
            cur.rec.end = end;
            scan.recs.push(cur.rec);
        }
    }
}

/// The bytes of `input` from `off` to its end: the reference's view when
/// a dependency token runs past its line.
pub fn rest_of_file(input: &Input, off: u64) -> Result<Vec<u8>> {
    use std::os::unix::fs::FileExt;
    let mut out = vec![0u8; input.len.saturating_sub(off) as usize];
    input
        .file
        .read_exact_at(&mut out, off)
        .map_err(|e| Error::err("Failed to read input", &e))?;
    Ok(out)
}
