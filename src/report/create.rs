//! `create-report`: every presolve record, in one-true-awk's order of the
//! array keyed by PKGNAME, followed by its depth and build status from
//! `pbuild`.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use super::awk::AwkArray;
use super::parse::lines;
use crate::cli::{Error, Result};

/// One pbuild line: `name|status|restricted|depth`. The golden reports
/// carry no `RESTRICTED_SUBSET=` line (unlike the 1.3 script's text), so
/// the third field is not used.
#[derive(Default, Clone, Copy)]
struct Build<'a> {
    status: &'a [u8],
    depth: &'a [u8],
}

fn parse_pbuild(buf: &[u8]) -> HashMap<&[u8], Build<'_>> {
    let mut out = HashMap::new();
    for l in lines(buf) {
        let mut f = l.split(|&b| b == b'|');
        let name = f.next().unwrap_or(b"");
        let b = Build {
            status: f.next().unwrap_or(b""),
            depth: f.nth(1).unwrap_or(b""),
        };
        out.insert(name, b);
    }
    out
}

/// A presolve block as the script accumulates it: line ranges joined by
/// newlines (a run of consecutive lines is one range).
type Block = Vec<(u64, u64)>;

/// The packages in creation order of the awk array and their blocks.
struct Index {
    pkgs: AwkArray<Vec<u8>>,
    blocks: Vec<Block>,
    cur: Option<usize>,
}

impl Index {
    fn new() -> Self {
        Index {
            pkgs: AwkArray::new(),
            blocks: Vec::new(),
            cur: None,
        }
    }

    /// Take one presolve line: its byte range and, for a `PKGNAME=` line,
    /// the name.
    fn line(&mut self, start: u64, end: u64, name: Option<&[u8]>) {
        if let Some(name) = name {
            let id = self.pkgs.touch(name.to_vec());
            if id == self.blocks.len() {
                self.blocks.push(Vec::new());
            }
            // A repeated PKGNAME starts that package's block afresh.
            self.blocks[id] = vec![(start, end)];
            self.cur = Some(id);
            return;
        }
        let id = match self.cur {
            Some(id) => id,
            None => {
                // Lines before any PKGNAME= go to the package named "",
                // whose text starts empty (hence a leading newline).
                let id = self.pkgs.touch(Vec::new());
                if id == self.blocks.len() {
                    self.blocks.push(vec![(0, 0)]);
                }
                self.cur = Some(id);
                id
            }
        };
        let b = &mut self.blocks[id];
        match b.last_mut() {
            Some(last) if last.1 + 1 == start && last.1 != last.0 => last.1 = end,
            _ => b.push((start, end)),
        }
    }

    /// Write the report, fetching block text with `read(start, end, buf)`.
    fn emit(
        &self,
        pbuild: &[u8],
        mut read: impl FnMut(u64, u64, &mut Vec<u8>) -> std::io::Result<()>,
        out: &mut impl Write,
    ) -> std::io::Result<()> {
        let builds = parse_pbuild(pbuild);
        let mut text = Vec::new();
        for id in self.pkgs.iter_order() {
            for (i, &(s, e)) in self.blocks[id].iter().enumerate() {
                if i > 0 {
                    out.write_all(b"\n")?;
                }
                read(s, e, &mut text)?;
                out.write_all(&text)?;
            }
            let b = builds
                .get(self.pkgs.key(id).as_slice())
                .copied()
                .unwrap_or_default();
            out.write_all(b"\nPKG_DEPTH=")?;
            out.write_all(b.depth)?;
            out.write_all(b"\nBUILD_STATUS=")?;
            out.write_all(b.status)?;
            out.write_all(b"\n")?;
        }
        Ok(())
    }
}

fn index(presolve: impl std::io::Read) -> std::io::Result<Index> {
    let mut idx = Index::new();
    super::input::scan_lines(presolve, b"PKGNAME=", |s, e, name| idx.line(s, e, name))?;
    Ok(idx)
}

/// The report's bytes for the given presolve and pbuild contents.
pub fn render(presolve: &[u8], pbuild: &[u8], out: &mut impl Write) -> std::io::Result<()> {
    let idx = index(presolve)?;
    idx.emit(
        pbuild,
        |s, e, buf| {
            buf.clear();
            buf.extend_from_slice(&presolve[s as usize..e as usize]);
            Ok(())
        },
        out,
    )
}

/// Write `<meta>/report` from `<meta>/presolve` and `<meta>/pbuild`.
///
/// presolve is as big as the report (160 MB on a full tree): a first pass
/// streams it to find the blocks, the second reads each block in awk's
/// order, so memory holds only the index.
pub fn run(meta: &Path) -> Result<()> {
    use std::os::unix::fs::FileExt;
    let pbuild = super::read_file(&meta.join("pbuild"))?;
    let pre_path = meta.join("presolve");
    let read_err =
        |e: std::io::Error| Error::err(format_args!("cannot read {}", pre_path.display()), &e);
    let file = std::fs::File::open(&pre_path).map_err(read_err)?;
    let idx = index(std::io::BufReader::with_capacity(1 << 20, &file)).map_err(read_err)?;
    let path = meta.join("report");
    crate::fsutil::write_atomic_with(&path, |w| {
        let mut big = std::io::BufWriter::with_capacity(1 << 20, w);
        let read = |s: u64, e: u64, buf: &mut Vec<u8>| {
            buf.resize((e - s) as usize, 0);
            file.read_exact_at(buf, s)
        };
        idx.emit(&pbuild, read, &mut big)?;
        big.flush()
    })
    .map_err(|e| Error::err(format_args!("cannot write {}", path.display()), &e))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blocks_get_build_results_and_restarts_on_repeats() {
        let presolve = b"PKGNAME=a-1\nX=1\nPKGNAME=b-1\nY=2\nPKGNAME=a-1\nZ=3\n";
        let pbuild = b"a-1|failed|restricted|3\nb-1|done||1\n";
        let mut out = Vec::new();
        render(presolve, pbuild, &mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("PKGNAME=a-1\nZ=3\nPKG_DEPTH=3\nBUILD_STATUS=failed\n"));
        assert!(text.contains("PKGNAME=b-1\nY=2\nPKG_DEPTH=1\nBUILD_STATUS=done\n"));
        assert!(!text.contains("X=1"));
    }

    #[test]
    fn missing_build_result_gives_empty_values() {
        let mut out = Vec::new();
        render(b"PKGNAME=c-1\n", b"", &mut out).unwrap();
        assert_eq!(out, b"PKGNAME=c-1\nPKG_DEPTH=\nBUILD_STATUS=\n");
    }
}
