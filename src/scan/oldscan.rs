//! Reuse of a previous scan (`-L`): a location's old records are taken
//! instead of running make when every file named in its `SCAN_DEPENDS` is
//! older than the old scan file itself (the reference's rules, c-programs.md
//! §2.6, including its quirks: the first variant's SCAN_DEPENDS speaks for
//! all variants of a location, the list splits on spaces only, and a file
//! modified in the same second as the old scan forces a rescan).

use std::collections::HashMap;
use std::fs::File;
use std::io::Read;
use std::ops::Range;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use crate::cli::{Error, Result};
use crate::record;

const PKG_LOCATION: &[u8] = b"PKG_LOCATION=";
const SCAN_DEPENDS: &[u8] = b"SCAN_DEPENDS=";

/// What the old scan says about one location.
#[derive(Debug, Default)]
struct Entry {
    /// The record texts without their PKG_LOCATION lines, in file order.
    parts: Vec<Range<usize>>,
    /// SCAN_DEPENDS of the first record, `None` when missing or empty.
    depends: Option<Range<usize>>,
}

/// A loaded old scan plus the stat results gathered while checking it.
#[derive(Debug, Default)]
pub struct OldScan {
    buf: Vec<u8>,
    mtime: i64,
    entries: HashMap<Vec<u8>, Entry>,
    stats: HashMap<PathBuf, Option<i64>>,
}

impl OldScan {
    /// Load `path`; a file that cannot be opened or stat'ed is silently no
    /// old scan at all, as in the original.
    pub fn load(path: Option<&Path>) -> Result<OldScan> {
        let Some(path) = path else {
            return Ok(OldScan::default());
        };
        let Ok(mut f) = File::open(path) else {
            return Ok(OldScan::default());
        };
        let Ok(md) = f.metadata() else {
            return Ok(OldScan::default());
        };
        if !md.is_file() {
            return Err(Error::errx("Input is not regular file"));
        }
        let mut buf = Vec::with_capacity(md.len() as usize);
        f.read_to_end(&mut buf)
            .map_err(|e| Error::err("Failed to read input", &e))?;
        if (buf.len() as u64) < md.len() {
            return Err(Error::errx("Unexpected short read"));
        }
        record::check_no_nul(&buf, path)?;
        let mut old = OldScan {
            buf,
            mtime: md.mtime(),
            ..OldScan::default()
        };
        old.parse()?;
        Ok(old)
    }

    /// How many locations the old scan covers.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn parse(&mut self) -> Result<()> {
        let buf = &self.buf;
        let mut entries: HashMap<Vec<u8>, Entry> = HashMap::new();
        let mut start = 0;
        let mut loc: Option<(Range<usize>, Range<usize>)> = None;
        let mut deps: Option<Range<usize>> = None;
        let mut pos = 0;
        while pos < buf.len() {
            let nl = memchr::memchr(b'\n', &buf[pos..])
                .ok_or_else(|| Error::errx("Incomplete old scan"))?
                + pos;
            let line = &buf[pos..nl];
            if line.starts_with(record::PKGNAME) && pos != start {
                store(&mut entries, buf, start..pos, loc.take(), deps.take())?;
                start = pos;
            }
            if line.starts_with(PKG_LOCATION) {
                loc = Some((pos + PKG_LOCATION.len()..nl, pos..nl + 1));
            } else if line.starts_with(SCAN_DEPENDS) {
                deps = Some(pos + SCAN_DEPENDS.len()..nl);
            }
            pos = nl + 1;
        }
        if !buf.is_empty() {
            store(&mut entries, buf, start..buf.len(), loc, deps)?;
        }
        self.entries = entries;
        Ok(())
    }

    /// The old text of `location` (PKG_LOCATION lines removed) when every
    /// file its SCAN_DEPENDS names is older than the old scan.
    pub fn reusable(&mut self, pkgsrc: &Path, location: &[u8]) -> Option<Vec<u8>> {
        let entry = self.entries.get(location)?;
        if let Some(deps) = entry.depends.clone() {
            let list = &self.buf[deps];
            for word in list.split(|&b| b == b' ').filter(|w| !w.is_empty()) {
                let path = dependency_path(pkgsrc, location, word);
                let mtime = *self
                    .stats
                    .entry(path)
                    .or_insert_with_key(|p| std::fs::metadata(p).ok().map(|m| m.mtime()));
                match mtime {
                    Some(t) if t < self.mtime => {}
                    _ => return None,
                }
            }
        }
        let entry = self.entries.get(location)?;
        let mut text = Vec::with_capacity(entry.parts.iter().map(|r| r.len()).sum());
        for r in &entry.parts {
            text.extend_from_slice(&self.buf[r.clone()]);
        }
        Some(text)
    }
}

fn store(
    entries: &mut HashMap<Vec<u8>, Entry>,
    buf: &[u8],
    rec: Range<usize>,
    loc: Option<(Range<usize>, Range<usize>)>,
    deps: Option<Range<usize>>,
) -> Result<()> {
    let Some((value, line)) = loc.filter(|(v, _)| !v.is_empty()) else {
        return Err(Error::errx("Location entry missing"));
    };
    let entry = entries.entry(buf[value].to_vec()).or_insert_with(|| Entry {
        parts: Vec::new(),
        depends: deps.filter(|d| !d.is_empty()),
    });
    for part in [rec.start..line.start, line.end..rec.end] {
        if !part.is_empty() {
            entry.parts.push(part);
        }
    }
    Ok(())
}

/// Where a SCAN_DEPENDS word points: absolute as is; `../../x` relative to
/// the tree when the location has at most one slash (the usual `cat/pkg`),
/// else relative to the package directory like any other relative word.
fn dependency_path(pkgsrc: &Path, location: &[u8], word: &[u8]) -> PathBuf {
    let joined = |a: &[u8], b: &[u8]| {
        let mut p = a.to_vec();
        p.push(b'/');
        p.extend_from_slice(b);
        p
    };
    let tree = pkgsrc.as_os_str().as_bytes();
    let bytes = if word.starts_with(b"/") {
        word.to_vec()
    } else if let (Some(rest), true) = (
        word.strip_prefix(b"../../"),
        memchr::memchr(b'/', location) == memchr::memrchr(b'/', location),
    ) {
        joined(tree, rest)
    } else {
        joined(&joined(tree, location), word)
    };
    PathBuf::from(std::ffi::OsStr::from_bytes(&bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dependency_paths_follow_the_three_forms() {
        let t = Path::new("/p");
        assert_eq!(
            dependency_path(t, b"a/b", b"/abs/x.mk"),
            Path::new("/abs/x.mk")
        );
        assert_eq!(
            dependency_path(t, b"a/b", b"../../mk/x.mk"),
            Path::new("/p/mk/x.mk")
        );
        assert_eq!(
            dependency_path(t, b"ab", b"../../mk/x.mk"),
            Path::new("/p/mk/x.mk")
        );
        assert_eq!(
            dependency_path(t, b"a/b/c", b"../../mk/x.mk"),
            Path::new("/p/a/b/c/../../mk/x.mk")
        );
        assert_eq!(
            dependency_path(t, b"a/b", b"Makefile"),
            Path::new("/p/a/b/Makefile")
        );
    }

    fn parsed(text: &[u8]) -> Result<OldScan> {
        let mut o = OldScan {
            buf: text.to_vec(),
            mtime: i64::MAX,
            ..OldScan::default()
        };
        o.parse()?;
        Ok(o)
    }

    #[test]
    fn multi_version_records_join_and_lose_their_location_lines() {
        let mut o = parsed(
            b"PKGNAME=a-1\nPKG_LOCATION=c/a\nSCAN_DEPENDS=\nX=1\nPKGNAME=b-1\nPKG_LOCATION=c/b\n\
              PKGNAME=a2-1\nX=2\nPKG_LOCATION=c/a\nSCAN_DEPENDS=/nonexistent\n",
        )
        .unwrap();
        assert_eq!(o.len(), 2);
        // The first variant has no SCAN_DEPENDS, so the second's missing
        // file does not matter.
        let text = o.reusable(Path::new("/p"), b"c/a").unwrap();
        assert_eq!(
            text,
            b"PKGNAME=a-1\nSCAN_DEPENDS=\nX=1\nPKGNAME=a2-1\nX=2\nSCAN_DEPENDS=/nonexistent\n"
        );
        assert_eq!(o.reusable(Path::new("/p"), b"c/x"), None);
    }

    #[test]
    fn malformed_old_scans_are_refused() {
        assert_eq!(
            parsed(b"PKGNAME=a-1\nPKG_LOCATION=c/a").unwrap_err().msg,
            "Incomplete old scan"
        );
        assert_eq!(
            parsed(b"PKGNAME=a-1\nX=1\n").unwrap_err().msg,
            "Location entry missing"
        );
        assert_eq!(
            parsed(b"PKGNAME=a-1\nPKG_LOCATION=\n").unwrap_err().msg,
            "Location entry missing"
        );
        assert!(parsed(b"").unwrap().is_empty());
    }

    #[test]
    fn missing_or_new_files_force_a_rescan() {
        let dir = tempfile::tempdir().unwrap();
        let f = dir.path().join("x.mk");
        std::fs::write(&f, "").unwrap();
        let rec = format!(
            "PKGNAME=a-1\nPKG_LOCATION=c/a\nSCAN_DEPENDS={} {}/gone\n",
            f.display(),
            dir.path().display()
        );
        let mut o = parsed(rec.as_bytes()).unwrap();
        assert_eq!(o.reusable(dir.path(), b"c/a"), None);
        let rec = format!(
            "PKGNAME=a-1\nPKG_LOCATION=c/a\nSCAN_DEPENDS={}  {}\n",
            f.display(),
            f.display()
        );
        let mut o = parsed(rec.as_bytes()).unwrap();
        assert!(o.reusable(dir.path(), b"c/a").is_some());
        let now = std::fs::metadata(&f).unwrap().mtime();
        o.mtime = now;
        o.stats.clear();
        assert_eq!(
            o.reusable(dir.path(), b"c/a"),
            None,
            "same-second modification"
        );
    }
}
