//! Finding the best package for a dependency pattern.
//!
//! The reference walks a hash bucket keyed on the pattern's first two
//! bytes (fast path: in reverse load order) or every record (slow path: in
//! load order) and keeps the best match by `pkg_order`. Here the candidates
//! come from a sorted name index narrowed by the bytes every match must
//! start with; the matches are then visited in the reference's order, so
//! the winner among identical names, the `-vv` messages and the errors are
//! the same.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};

use super::load::Scan;
use crate::pattern::{self, Best, MatchError, Pattern};

/// Candidate lookup: names sorted (for prefix ranges) and grouped by base
/// (the text before the last `-`, which dewey and exact patterns fix).
pub struct Index<'a> {
    sorted: Vec<(&'a [u8], u32)>,
    by_base: HashMap<&'a [u8], Vec<u32>, BuildHasherDefault<FxHasher>>,
}

impl<'a> Index<'a> {
    pub fn new(scan: &'a Scan) -> Self {
        let mut sorted: Vec<(&[u8], u32)> = (0..scan.recs.len())
            .map(|i| (scan.name(i), i as u32))
            .collect();
        sorted.sort_unstable();
        let mut by_base: HashMap<&[u8], Vec<u32>, _> = HashMap::default();
        for i in 0..scan.recs.len() {
            let name = scan.name(i);
            if let Some(dash) = memchr::memrchr(b'-', name) {
                by_base.entry(&name[..dash]).or_default().push(i as u32);
            }
        }
        Index { sorted, by_base }
    }

    /// The records whose name starts with `prefix`.
    fn starting_with<'p>(&'p self, prefix: &'p [u8]) -> impl Iterator<Item = u32> + 'p {
        let lo = self.sorted.partition_point(|&(n, _)| n < prefix);
        self.sorted[lo..]
            .iter()
            .take_while(move |(n, _)| n.starts_with(prefix))
            .map(|&(_, i)| i)
    }

    /// A superset of the records `pattern` (without alternates) can match.
    fn candidates(&self, pattern: &[u8]) -> Vec<u32> {
        let base = if let Some(sep) = memchr::memchr2(b'<', b'>', pattern) {
            // Dewey: the name's base is the text before the operator.
            Some(&pattern[..sep])
        } else if !pattern.iter().any(|c| b"*?[]".contains(c)) {
            // Exact: the name is the pattern.
            memchr::memrchr(b'-', pattern).map(|d| &pattern[..d])
        } else {
            None
        };
        match base {
            Some(b) => self.by_base.get(b).cloned().unwrap_or_default(),
            None => self
                .starting_with(pattern::literal_prefix(pattern))
                .collect(),
        }
    }
}

/// Whether the reference takes its fast path (one hash bucket) for
/// `pattern`: four plain leading bytes and no alternates.
pub fn fast_path(pattern: &[u8]) -> bool {
    pattern.len() >= 4
        && pattern[..4].iter().all(|&c| pattern::is_simple(c))
        && memchr::memchr(b'{', pattern).is_none()
}

/// The matches of `pattern` in the order the reference visits them.
pub fn matches_in_order(
    scan: &Scan,
    index: &Index<'_>,
    pattern: &[u8],
) -> Result<Vec<u32>, MatchError> {
    let pat = Pattern::new(pattern);
    let has_alternates = memchr::memchr(b'{', pattern).is_some();
    let mut found = Vec::new();
    if !has_alternates {
        for i in index.candidates(pattern) {
            if pat.matches_plain(scan.name(i as usize))? {
                found.push(i);
            }
        }
        found.sort_unstable();
    } else if let Some(leaves) = pattern::expansions(pattern) {
        // No error possible; a match matches one of the expansions.
        let mut cands: Vec<u32> = leaves.iter().flat_map(|l| index.candidates(l)).collect();
        cands.sort_unstable();
        cands.dedup();
        for i in cands {
            if pat.matches_plain(scan.name(i as usize))? {
                found.push(i);
            }
        }
    } else {
        // An error may stop the walk: visit exactly the candidates the
        // reference's quick reject lets through, in its (load) order.
        let mut cands: Vec<u32> = index
            .starting_with(pattern::quick_prefix(pattern))
            .collect();
        cands.sort_unstable();
        for i in cands {
            if pat.matches_plain(scan.name(i as usize))? {
                found.push(i);
            }
        }
    }
    if fast_path(pattern) {
        found.reverse();
    }
    Ok(found)
}

/// Fold matches (in visiting order) to the best one, calling `on_multi`
/// with the current best where the reference logs a multiple match.
pub fn best_of(
    scan: &Scan,
    matches: &[u32],
    mut on_multi: impl FnMut(u32),
) -> Result<Option<u32>, MatchError> {
    let Some((&first, rest)) = matches.split_first() else {
        return Ok(None);
    };
    let mut best = first;
    for (k, &cur) in rest.iter().enumerate() {
        if k == 0 {
            on_multi(best);
        }
        on_multi(best);
        if pattern::pkg_order(scan.name(best as usize), scan.name(cur as usize))? == Best::Second {
            best = cur;
        }
    }
    Ok(Some(best))
}

/// A small multiplicative hasher for the pattern memo: keys are short
/// trusted strings, and SipHash would cost more than the lookups save.
#[derive(Default)]
pub struct FxHasher(u64);

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        const K: u64 = 0x517c_c1b7_2722_0a95;
        let mut chunks = bytes.chunks_exact(8);
        for c in &mut chunks {
            let w = u64::from_le_bytes(c.try_into().expect("8 bytes"));
            self.0 = (self.0.rotate_left(5) ^ w).wrapping_mul(K);
        }
        for &b in chunks.remainder() {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(K);
        }
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

/// Best match per pattern text, valid for the whole run (candidacy does not
/// depend on which records are active).
pub type Memo = HashMap<Box<[u8]>, Option<u32>, BuildHasherDefault<FxHasher>>;
