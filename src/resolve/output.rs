//! Writing the result: every active record's text as it is in its input,
//! followed by its `DEPENDS=` line, or with its `PKG_FAIL_REASON=` line
//! replaced when it is marked failed (0.76 non-strict mode).

use std::io::Write;
use std::os::unix::fs::FileExt;

use super::load::{Input, Scan};
use super::Resolution;
use crate::cli::{Error, Result};

/// Bytes read from an input per `pread`.
const WINDOW: usize = 4 << 20;

/// A forward-moving window over one input file.
struct Window<'a> {
    input: &'a Input,
    buf: Vec<u8>,
    /// File offset of `buf[0]`.
    base: u64,
}

impl<'a> Window<'a> {
    fn new(input: &'a Input) -> Self {
        Window {
            input,
            buf: Vec::new(),
            base: 0,
        }
    }

    /// The bytes `start..end` of the file; ranges come in increasing order.
    fn get(&mut self, start: u64, end: u64) -> Result<&[u8]> {
        let have = self.base + self.buf.len() as u64;
        if start < self.base || end > have {
            let len = ((end - start) as usize)
                .max(WINDOW)
                .min((self.input.len - start) as usize);
            self.buf.resize(len, 0);
            self.input
                .file
                .read_exact_at(&mut self.buf, start)
                .map_err(|_| changed(self.input))?;
            self.base = start;
        }
        Ok(&self.buf[(start - self.base) as usize..(end - self.base) as usize])
    }
}

fn changed(input: &Input) -> Error {
    Error::errx(format!(
        "{}: input changed while resolving",
        input.path.display()
    ))
}

fn write_err(e: std::io::Error) -> Error {
    Error::err("Cannot write output", &e)
}

/// Write all active records of `scan` with their resolution to `out`.
pub fn write(scan: &Scan, res: &Resolution, out: &mut dyn Write) -> Result<()> {
    for input in &scan.inputs {
        let now = input
            .file
            .metadata()
            .map_err(|e| Error::err("Cannot stat input", &e))?;
        if now.len() != input.len {
            return Err(changed(input));
        }
    }
    let mut out = std::io::BufWriter::with_capacity(1 << 20, out);
    let mut windows: Vec<Window> = scan.inputs.iter().map(Window::new).collect();
    let mut line = Vec::new();
    for (i, rec) in scan.recs.iter().enumerate() {
        if !res.active[i] {
            continue;
        }
        let text = windows[rec.input].get(rec.start, rec.end)?;
        let name = scan.name(i);
        if !(text.starts_with(b"PKGNAME=") && text[8..].starts_with(name)) {
            return Err(changed(&scan.inputs[rec.input]));
        }
        line.clear();
        if let Some(pattern) = &res.marks[i] {
            line.extend_from_slice(b"PKG_FAIL_REASON=\"could not resolve dependency \"");
            line.extend_from_slice(pattern);
            line.extend_from_slice(b"\"\"\n");
            match &rec.fail_line {
                Some(f) => {
                    let (a, b) = ((f.start - rec.start) as usize, (f.end - rec.start) as usize);
                    out.write_all(&text[..a]).map_err(write_err)?;
                    out.write_all(&line).map_err(write_err)?;
                    out.write_all(&text[b..]).map_err(write_err)?;
                }
                None => {
                    out.write_all(text).map_err(write_err)?;
                    out.write_all(&line).map_err(write_err)?;
                }
            }
            continue;
        }
        out.write_all(text).map_err(write_err)?;
        let (start, len) = res.depends_at[i];
        if len > 0 {
            line.extend_from_slice(b"DEPENDS=");
            for (k, &d) in res.depends[start as usize..(start + len) as usize]
                .iter()
                .enumerate()
            {
                if k > 0 {
                    line.push(b' ');
                }
                line.extend_from_slice(scan.name(d as usize));
            }
            line.push(b'\n');
            out.write_all(&line).map_err(write_err)?;
        }
    }
    out.flush().map_err(write_err)
}
