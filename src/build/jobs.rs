//! Loading the resolved tree scan: one job per record, in input order, and
//! the dependency graph from each record's first `DEPENDS=` line.

use std::collections::HashMap;

use crate::cli::{Error, Result};
use crate::record::{self, Span};

/// The builder refuses package names shorter than this.
const MIN_NAME_LEN: usize = 4;

/// Weight of a record without `PBULK_WEIGHT=` when other records have one.
pub const DEFAULT_WEIGHT: u64 = 100;

/// A compressed adjacency list: the neighbours of node `i` are
/// `targets[offsets[i]..offsets[i + 1]]`.
#[derive(Debug, Clone, Default)]
pub struct Adjacency {
    offsets: Vec<u32>,
    targets: Vec<u32>,
}

impl Adjacency {
    /// Group `edges` (from, to) by `from`, keeping for each node the order
    /// the reference walks: its dependents list is built by head insertion,
    /// so the edge added last comes first.
    pub fn from_edges_reversed(n: usize, edges: &[(u32, u32)]) -> Self {
        let mut offsets = vec![0u32; n + 1];
        for &(from, _) in edges {
            offsets[from as usize + 1] += 1;
        }
        for i in 0..n {
            offsets[i + 1] += offsets[i];
        }
        let mut fill = offsets.clone();
        let mut targets = vec![0u32; edges.len()];
        for &(from, to) in edges.iter().rev() {
            let slot = &mut fill[from as usize];
            targets[*slot as usize] = to;
            *slot += 1;
        }
        Adjacency { offsets, targets }
    }

    pub fn of(&self, node: u32) -> &[u32] {
        let i = node as usize;
        &self.targets[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }

    pub fn len(&self) -> usize {
        self.offsets.len().saturating_sub(1)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// The loaded jobs. Records stay byte ranges of the input buffer.
pub struct Jobs {
    pub buf: Vec<u8>,
    pub spans: Vec<Span>,
    /// Name -> job; with duplicate names the last record in the input wins,
    /// as in the reference's hash chains (head insertion, first hit taken).
    index: HashMap<Box<[u8]>, u32>,
    /// For each job, the jobs whose `DEPENDS=` name it (once per mention).
    pub dependents: Adjacency,
    /// For each job, the number of `DEPENDS=` tokens (duplicates count).
    pub open_depends: Vec<u32>,
    /// `PBULK_WEIGHT=` per job, when any record carries one.
    pub weights: Option<Vec<u64>>,
}

impl Jobs {
    /// Parse the records of a resolved tree scan and link the graph.
    pub fn parse(buf: Vec<u8>, path: &std::path::Path) -> Result<Jobs> {
        let spans = record::split_records(&buf, MIN_NAME_LEN, path)?;
        let mut index = HashMap::with_capacity(spans.len());
        for (i, s) in spans.iter().enumerate() {
            index.insert(Box::from(s.pkgname(&buf)), i as u32);
        }
        let mut edges = Vec::new();
        let mut open_depends = vec![0u32; spans.len()];
        for (i, s) in spans.iter().enumerate() {
            let Some(deps) = field(s.text(&buf), b"\nDEPENDS=") else {
                continue;
            };
            for tok in deps
                .split(|&b| b == b' ' || b == b'\t')
                .filter(|t| !t.is_empty())
            {
                let Some(&dep) = index.get(tok) else {
                    return Err(Error::errx(format!(
                        "Dependency `{}' doesn't exist",
                        String::from_utf8_lossy(tok)
                    )));
                };
                edges.push((dep, i as u32));
                open_depends[i] += 1;
            }
        }
        let dependents = Adjacency::from_edges_reversed(spans.len(), &edges);
        let weights = parse_weights(&buf, &spans)?;
        Ok(Jobs {
            buf,
            spans,
            index,
            dependents,
            open_depends,
            weights,
        })
    }

    pub fn len(&self) -> usize {
        self.spans.len()
    }

    pub fn is_empty(&self) -> bool {
        self.spans.is_empty()
    }

    pub fn lookup(&self, name: &[u8]) -> Option<u32> {
        self.index.get(name).copied()
    }

    pub fn name(&self, job: u32) -> &[u8] {
        self.spans[job as usize].pkgname(&self.buf)
    }

    pub fn name_str(&self, job: u32) -> std::borrow::Cow<'_, str> {
        String::from_utf8_lossy(self.name(job))
    }

    /// The whole record, as the build script gets it on stdin.
    pub fn text(&self, job: u32) -> &[u8] {
        self.spans[job as usize].text(&self.buf)
    }

    /// Whether the scan marked the package as not to be built; a record
    /// lacking either reason line is not scan output at all. As in the
    /// reference, a skip reason makes the fail reason line optional.
    pub fn prefailed(&self, job: u32) -> Result<bool> {
        let rec = self.text(job);
        for key in [&b"\nPKG_SKIP_REASON="[..], b"\nPKG_FAIL_REASON="] {
            match field(rec, key) {
                None => return Err(Error::errx("Invalid scan output")),
                Some(v) if !v.is_empty() => return Ok(true),
                Some(_) => {}
            }
        }
        Ok(false)
    }
}

/// The value of the first line of a record starting with `key` (given with
/// its leading newline: a record's first line is always `PKGNAME=`), as
/// `record::field` finds it, by a substring search instead of line by line.
fn field<'a>(rec: &'a [u8], key: &[u8]) -> Option<&'a [u8]> {
    let start = memchr::memmem::find(rec, key)? + key.len();
    let len = memchr::memchr(b'\n', &rec[start..]).unwrap_or(rec.len() - start);
    Some(&rec[start..start + len])
}

/// Newer pkgsrc emits `PBULK_WEIGHT=<n>`; without any such line the
/// priority is the plain count of the reference.
fn parse_weights(buf: &[u8], spans: &[Span]) -> Result<Option<Vec<u64>>> {
    if memchr::memmem::find(buf, b"\nPBULK_WEIGHT=").is_none() {
        return Ok(None);
    }
    let mut any = false;
    let mut weights = Vec::with_capacity(spans.len());
    for s in spans {
        let w = match field(s.text(buf), b"\nPBULK_WEIGHT=") {
            None => DEFAULT_WEIGHT,
            Some(v) => {
                any = true;
                std::str::from_utf8(v)
                    .ok()
                    .and_then(|v| v.trim().parse().ok())
                    .ok_or_else(|| {
                        Error::errx(format!(
                            "Invalid PBULK_WEIGHT `{}' for package {}",
                            String::from_utf8_lossy(v),
                            String::from_utf8_lossy(s.pkgname(buf))
                        ))
                    })?
            }
        };
        weights.push(w);
    }
    Ok(any.then_some(weights))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rec(name: &str, deps: &str) -> String {
        format!("PKGNAME={name}\nPKG_SKIP_REASON=\nPKG_FAIL_REASON=\nDEPENDS={deps}\n")
    }

    #[test]
    fn links_dependents_in_reference_order_and_counts_duplicates() {
        let input = [
            rec("base-1", ""),
            rec("aaa-1", "base-1"),
            rec("bbb-1", "base-1 base-1\taaa-1"),
        ]
        .concat();
        let jobs = Jobs::parse(input.into_bytes(), std::path::Path::new("presolve")).unwrap();
        assert_eq!(jobs.dependents.of(0), &[2, 2, 1]);
        assert_eq!(jobs.dependents.of(1), &[2]);
        assert_eq!(jobs.open_depends, vec![0, 1, 3]);
        assert!(jobs.weights.is_none());
    }

    #[test]
    fn unknown_dependency_is_named() {
        let e = Jobs::parse(
            rec("aaaa-1", "nope-2").into_bytes(),
            std::path::Path::new("presolve"),
        )
        .err()
        .unwrap();
        assert_eq!(e.msg, "Dependency `nope-2' doesn't exist");
    }

    #[test]
    fn last_duplicate_wins_lookups() {
        let input = [rec("dup-1", ""), rec("dup-1", ""), rec("user-1", "dup-1")].concat();
        let jobs = Jobs::parse(input.into_bytes(), std::path::Path::new("presolve")).unwrap();
        assert_eq!(jobs.lookup(b"dup-1"), Some(1));
        assert_eq!(jobs.dependents.of(1), &[2]);
        assert!(jobs.dependents.of(0).is_empty());
    }

    #[test]
    fn prefail_reasons_and_missing_lines() {
        let input = "PKGNAME=skip-1\nPKG_SKIP_REASON=no\nPKGNAME=fail-1\nPKG_SKIP_REASON=\n\
                     PKG_FAIL_REASON=x\nPKGNAME=bad-1\nPKG_SKIP_REASON=\n";
        let jobs =
            Jobs::parse(input.as_bytes().to_vec(), std::path::Path::new("presolve")).unwrap();
        assert!(jobs.prefailed(0).unwrap());
        assert!(jobs.prefailed(1).unwrap());
        assert_eq!(jobs.prefailed(2).unwrap_err().msg, "Invalid scan output");
    }

    #[test]
    fn weights_default_to_100_when_some_record_has_one() {
        let input = format!(
            "{}PBULK_WEIGHT=250\n{}",
            rec("heavy-1", ""),
            rec("plain-1", "")
        );
        let jobs = Jobs::parse(input.into_bytes(), std::path::Path::new("presolve")).unwrap();
        assert_eq!(jobs.weights, Some(vec![250, 100]));
        let bad = format!("{}PBULK_WEIGHT=x\n", rec("heavy-1", ""));
        assert!(Jobs::parse(bad.into_bytes(), std::path::Path::new("presolve")).is_err());
    }
}
