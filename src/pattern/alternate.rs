//! csh-style alternates: `pre{a,b{c,d}}post` matches if any of
//! `preapost`, `prebcpost`, `prebdpost` does. Every alternative is tried
//! (the reference does not stop at the first hit), each through the whole
//! matcher again, so the result of one alternative can be another pattern
//! form or contain further braces.

use std::collections::HashSet;

use super::{match_c, quick_match, MatchError};

/// The reference builds each alternative in a `PATH_MAX` buffer (1024 on
/// NetBSD and illumos, where pbulk comes from) and cuts what does not fit.
const ALT_MAX: usize = 1023;

/// How many brace groups we expand before giving up on listing leaves.
const EXPAND_LIMIT: usize = 256;

/// The first brace group of a pattern: the text before the `{`, the
/// alternatives, and the text after the matching `}`.
struct Group<'a> {
    prefix: &'a [u8],
    /// The text between the braces.
    body: &'a [u8],
    suffix: &'a [u8],
}

impl<'a> Group<'a> {
    /// The alternatives: `body` split at commas outside nested braces.
    fn alternatives(&self) -> impl Iterator<Item = &'a [u8]> {
        let body = self.body;
        let mut depth = 0usize;
        let mut start = 0;
        let mut done = false;
        std::iter::from_fn(move || {
            if done {
                return None;
            }
            let mut i = start;
            while i < body.len() {
                match body[i] {
                    b'{' => depth += 1,
                    b'}' => depth -= 1,
                    b',' if depth == 0 => {
                        let alt = &body[start..i];
                        start = i + 1;
                        return Some(alt);
                    }
                    _ => {}
                }
                i += 1;
            }
            done = true;
            Some(&body[start..])
        })
    }

    /// `prefix + alt + suffix` in `buf`, cut to what the reference's buffer
    /// holds; the length used.
    fn join(&self, alt: &[u8], buf: &mut [u8; ALT_MAX]) -> usize {
        let mut n = 0;
        for part in [self.prefix, alt, self.suffix] {
            let take = part.len().min(ALT_MAX - n);
            buf[n..n + take].copy_from_slice(&part[..take]);
            n += take;
        }
        n
    }
}

/// The first brace group of `pattern`; `None` for unbalanced braces.
fn split(pattern: &[u8]) -> Option<Group<'_>> {
    let open = memchr::memchr(b'{', pattern)?;
    let mut depth = 0usize;
    for (i, &c) in pattern.iter().enumerate().skip(open) {
        if c == b'{' {
            depth += 1;
        } else if c == b'}' {
            depth -= 1;
            if depth == 0 {
                return Some(Group {
                    prefix: &pattern[..open],
                    body: &pattern[open + 1..i],
                    suffix: &pattern[i + 1..],
                });
            }
        }
    }
    None
}

/// The most distinct texts the alternates of one pattern may expand to.
/// The reference expands every alternative, so groups in a row multiply
/// (30 groups of two: 2^30 texts, minutes of work); real dependency
/// patterns have a handful. Beyond this a pattern is refused, so matching
/// costs at most this many texts per name.
pub const MAX_TEXTS: usize = 1024;

/// Match `name` against a pattern containing `{`.
pub(super) fn matches(pattern: &[u8], name: &[u8]) -> Result<bool, MatchError> {
    expand_match(pattern, name, &mut HashSet::new())
}

/// Whether `pattern` stays within [`MAX_TEXTS`] distinct expanded texts
/// (counted as [`expand_match`] meets them, whatever the name, so the
/// answer depends on the pattern alone). Unbalanced braces are left to
/// the matcher to report.
pub(super) fn within_limit(pattern: &[u8]) -> bool {
    let mut seen: HashSet<Vec<u8>> = HashSet::new();
    let mut todo = vec![pattern.to_vec()];
    let mut buf = [0u8; ALT_MAX];
    while let Some(p) = todo.pop() {
        let Some(g) = split(&p) else { continue };
        for alt in g.alternatives() {
            let n = g.join(alt, &mut buf);
            let text = &buf[..n];
            if seen.contains(text) {
                continue;
            }
            if seen.len() >= MAX_TEXTS {
                return false;
            }
            seen.insert(text.to_vec());
            if memchr::memchr(b'{', text).is_some() {
                todo.push(text.to_vec());
            }
        }
    }
    true
}

/// Matching is a pure function of the expanded text, and the whole result
/// is the OR of every expansion's (an error ends it at once), so a text
/// already matched anywhere in this walk need not be matched again:
/// `{,x}{,x}` gives `x` twice. Without this, repeated groups multiply the
/// work for nothing (the pattern fuzzer found such patterns taking
/// minutes). Distinct texts are bounded by [`MAX_TEXTS`].
fn expand_match(
    pattern: &[u8],
    name: &[u8],
    seen: &mut HashSet<Vec<u8>>,
) -> Result<bool, MatchError> {
    let g = split(pattern).ok_or_else(|| MatchError::MalformedAlternate(pattern.to_vec()))?;
    let mut buf = [0u8; ALT_MAX];
    let mut found = false;
    for alt in g.alternatives() {
        let n = g.join(alt, &mut buf);
        let text = &buf[..n];
        if seen.contains(text) {
            continue;
        }
        if seen.len() >= MAX_TEXTS {
            return Err(MatchError::TooManyAlternates(pattern.to_vec()));
        }
        seen.insert(text.to_vec());
        found |= if memchr::memchr(b'{', text).is_some() {
            // What match_c does with a pattern of alternates.
            quick_match(text, name) && expand_match(text, name, seen)?
        } else {
            match_c(text, name)?
        };
    }
    Ok(found)
}

/// The brace-free patterns `pattern` expands to, or `None` if some
/// expansion has unbalanced braces (or there are too many to list).
pub(super) fn leaves(pattern: &[u8]) -> Option<Vec<Vec<u8>>> {
    let mut todo = vec![pattern.to_vec()];
    let mut out = Vec::new();
    let mut seen = 0;
    while let Some(p) = todo.pop() {
        if memchr::memchr(b'{', &p).is_none() {
            out.push(p);
            continue;
        }
        seen += 1;
        if seen > EXPAND_LIMIT {
            return None;
        }
        let g = split(&p)?;
        let mut buf = [0u8; ALT_MAX];
        for alt in g.alternatives() {
            let n = g.join(alt, &mut buf);
            todo.push(buf[..n].to_vec());
        }
    }
    Some(out)
}
