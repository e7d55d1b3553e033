//! Which locations to scan: the whole tree as its SUBDIR lists say, or the
//! lines of stdin (`-l`).

use std::ffi::OsStr;
use std::io::BufRead;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::child::{run_one, Outcome, Pool};
use super::jobs::JobQueue;
use super::Ctx;
use crate::cli::{Error, Result};

const LIST_SUBDIRS: &[&str] = &["show-subdir-var", "VARNAME=SUBDIR"];

/// `<tree>/<rel>`, byte for byte as the original's `"%s/%s"`.
pub fn under(tree: &Path, rel: &[u8]) -> PathBuf {
    let mut p = tree.as_os_str().as_bytes().to_vec();
    p.push(b'/');
    p.extend_from_slice(rel);
    PathBuf::from(OsStr::from_bytes(&p))
}

fn words(text: &[u8]) -> impl Iterator<Item = &[u8]> {
    text.split(|b| matches!(b, b' ' | b'\t' | b'\n'))
        .filter(|w| !w.is_empty())
}

/// Enumerate the tree: the top-level SUBDIR words in order, each either a
/// location itself (it holds a `/`) or a category whose own SUBDIR words
/// become `<cat>/<word>`. Category listings run in parallel; their results
/// are taken in category order, so jobs and warnings never depend on timing.
pub fn full_tree(ctx: &Ctx, q: &mut JobQueue) -> Result<()> {
    let top = run_one(ctx.watch, ctx.timeout, &ctx.pkgsrc, &ctx.make, LIST_SUBDIRS)?;
    let top = match top {
        Ok(text) => text,
        Err(why) => return Err(Error::errx(format!("Cannot extract categories: {why}"))),
    };
    let cats: Vec<&[u8]> = words(&top).collect();
    let mut listed: Vec<Option<Outcome>> = (0..cats.len()).map(|_| None).collect();
    {
        let mut pool = Pool::new(ctx.procs, ctx.timeout, ctx.watch);
        let mut next = 0;
        loop {
            while pool.has_room() && next < cats.len() {
                if !cats[next].contains(&b'/') {
                    pool.start(
                        next,
                        &under(&ctx.pkgsrc, cats[next]),
                        &ctx.make,
                        LIST_SUBDIRS,
                    );
                }
                next += 1;
            }
            match pool.next_done()? {
                Some((i, outcome)) => listed[i] = Some(outcome),
                None if next >= cats.len() => break,
                None => {}
            }
        }
    }
    for (cat, outcome) in cats.iter().zip(listed) {
        match outcome {
            None => q.add(cat),
            Some(Ok(subdirs)) => {
                for pkg in words(&subdirs) {
                    let mut loc = cat.to_vec();
                    loc.push(b'/');
                    loc.extend_from_slice(pkg);
                    q.add(&loc);
                }
            }
            Some(Err(why)) => {
                ctx.note_failure(&under(&ctx.pkgsrc, cat), LIST_SUBDIRS, &why);
                eprintln!(
                    "pbulk-scan: Cannot extract subdirectories for {}",
                    String::from_utf8_lossy(cat)
                );
            }
        }
    }
    Ok(())
}

/// Whether `loc` is a location a scan client accepts and that stays inside
/// the tree: what the reference client checks (relative, exactly one `/`),
/// and beyond it both parts non-empty, neither `.` nor `..` nor starting
/// with `-`, no control character, shorter than `PATH_MAX`.
pub fn safe_location(loc: &[u8]) -> bool {
    if loc.len() >= PATH_MAX || loc.iter().any(|&b| b < 0x20 || b == 0x7f) {
        return false;
    }
    let mut parts = loc.split(|&b| b == b'/');
    let (Some(cat), Some(pkg), None) = (parts.next(), parts.next(), parts.next()) else {
        return false;
    };
    [cat, pkg]
        .iter()
        .all(|p| !p.is_empty() && *p != b"." && *p != b".." && p[0] != b'-')
}

/// The original reads with fgets into a PATH_MAX buffer: a line must end
/// in a newline within PATH_MAX - 1 bytes and hold no NUL before it.
const PATH_MAX: usize = libc::PATH_MAX as usize;

/// `-l`: one location per stdin line, `#` lines and empty lines skipped.
pub fn limited_list(input: &mut impl BufRead, q: &mut JobQueue) -> Result<()> {
    let mut line = Vec::new();
    loop {
        line.clear();
        let n = input
            .read_until(b'\n', &mut line)
            .map_err(|e| Error::err("Cannot read the location list", &e))?;
        if n == 0 {
            return Ok(());
        }
        let complete = line.last() == Some(&b'\n') && line.len() < PATH_MAX && !line.contains(&0);
        if !complete {
            return Err(Error::errx("Incomplete or too long input line"));
        }
        let loc = &line[..line.len() - 1];
        if loc.is_empty() || loc[0] == b'#' {
            continue;
        }
        q.add(loc);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::scan::jobs::Progress;
    use crate::scan::oldscan::OldScan;

    fn read(input: &[u8]) -> Result<Vec<Vec<u8>>> {
        let mut q = JobQueue::new(PathBuf::from("/x"), OldScan::default(), Progress::default());
        limited_list(&mut &input[..], &mut q)?;
        Ok(q.jobs().iter().map(|j| j.location.clone()).collect())
    }

    #[test]
    fn safe_locations_stay_inside_the_tree() {
        for good in [&b"devel/gmake"[..], b"a/b", b"wip/x.y-1"] {
            assert!(safe_location(good));
        }
        let long = [b"a/".to_vec(), vec![b'x'; PATH_MAX]].concat();
        for bad in [
            &b"/etc/passwd"[..],
            b"../x",
            b"a/..",
            b"./a",
            b"a/b/c",
            b"nocat",
            b"a/",
            b"-a/b",
            b"a/b\tc",
            &long,
        ] {
            assert!(!safe_location(bad), "{}", bad.escape_ascii());
        }
    }

    #[test]
    fn limited_list_keeps_lines_as_written() {
        let got = read(b"a/b\n\n# c/d\n e/f \na/b\n").unwrap();
        assert_eq!(got, [b"a/b".to_vec(), b" e/f ".to_vec(), b"a/b".to_vec()]);
    }

    #[test]
    fn limited_list_refuses_unterminated_long_or_nul_lines() {
        let msg = "Incomplete or too long input line";
        assert_eq!(read(b"a/b\nc/d").unwrap_err().msg, msg);
        assert_eq!(read(b"a\0b\n").unwrap_err().msg, msg);
        let mut long = vec![b'x'; PATH_MAX - 2];
        long.push(b'\n');
        assert_eq!(read(&long).unwrap().len(), 1);
        long.insert(0, b'x');
        assert_eq!(read(&long).unwrap_err().msg, msg);
    }
}
