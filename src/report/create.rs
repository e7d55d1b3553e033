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
type Block = Vec<(usize, usize)>;

/// The report's bytes for the given presolve and pbuild contents.
pub fn render(presolve: &[u8], pbuild: &[u8], out: &mut impl Write) -> std::io::Result<()> {
    let builds = parse_pbuild(pbuild);
    let mut pkgs: AwkArray<&[u8]> = AwkArray::new();
    let mut blocks: Vec<Block> = Vec::new();
    let mut cur: Option<usize> = None;
    let base = presolve.as_ptr() as usize;
    for l in lines(presolve) {
        let start = l.as_ptr() as usize - base;
        let range = (start, start + l.len());
        if let Some(name) = l.strip_prefix(b"PKGNAME=") {
            let id = pkgs.touch(name);
            if id == blocks.len() {
                blocks.push(Vec::new());
            }
            // A repeated PKGNAME starts that package's block afresh.
            blocks[id] = vec![range];
            cur = Some(id);
            continue;
        }
        let id = match cur {
            Some(id) => id,
            None => {
                // Lines before any PKGNAME= go to the package named "".
                let id = pkgs.touch(b"");
                if id == blocks.len() {
                    blocks.push(vec![(0, 0)]);
                }
                cur = Some(id);
                id
            }
        };
        let b = &mut blocks[id];
        match b.last_mut() {
            Some(last) if last.1 + 1 == range.0 && last.1 != last.0 => last.1 = range.1,
            _ => b.push(range),
        }
    }
    for id in pkgs.iter_order() {
        for (i, &(s, e)) in blocks[id].iter().enumerate() {
            if i > 0 {
                out.write_all(b"\n")?;
            }
            out.write_all(&presolve[s..e])?;
        }
        let b = builds.get(pkgs.key(id)).copied().unwrap_or_default();
        out.write_all(b"\nPKG_DEPTH=")?;
        out.write_all(b.depth)?;
        out.write_all(b"\nBUILD_STATUS=")?;
        out.write_all(b.status)?;
        out.write_all(b"\n")?;
    }
    Ok(())
}

/// Write `<meta>/report` from `<meta>/presolve` and `<meta>/pbuild`.
pub fn run(meta: &Path) -> Result<()> {
    let pbuild = super::read_file(&meta.join("pbuild"))?;
    let presolve = super::input::Mapped::open(&meta.join("presolve"))?;
    let path = meta.join("report");
    // Large buffer: the report is as big as presolve (160 MB on a full tree).
    crate::fsutil::write_atomic_with(&path, |w| {
        let mut big = std::io::BufWriter::with_capacity(1 << 20, w);
        render(&presolve, &pbuild, &mut big)?;
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
