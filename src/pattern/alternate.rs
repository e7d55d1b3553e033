//! csh-style alternates: `pre{a,b{c,d}}post` matches if any of
//! `preapost`, `prebcpost`, `prebdpost` does. Every alternative is tried
//! (the reference does not stop at the first hit), each through the whole
//! matcher again, so the result of one alternative can be another pattern
//! form or contain further braces.

use super::{match_c, MatchError};

/// The reference builds each alternative in a `PATH_MAX` buffer (1024 on
/// NetBSD and illumos, where pbulk comes from) and cuts what does not fit.
const ALT_MAX: usize = 1023;

/// How far we expand when proving a pattern well-formed before giving up.
const EXPAND_LIMIT: usize = 256;

/// The first brace group of a pattern: the text before the `{`, the
/// alternatives, and the text after the matching `}`.
struct Group<'a> {
    prefix: &'a [u8],
    alts: Vec<&'a [u8]>,
    suffix: &'a [u8],
}

/// The first brace group of `pattern`; `None` for unbalanced braces.
fn split(pattern: &[u8]) -> Option<Group<'_>> {
    let open = memchr::memchr(b'{', pattern)?;
    let mut depth = 0usize;
    let mut close = None;
    for (i, &c) in pattern.iter().enumerate().skip(open) {
        if c == b'{' {
            depth += 1;
        } else if c == b'}' {
            depth -= 1;
            if depth == 0 {
                close = Some(i);
                break;
            }
        }
    }
    let close = close?;
    let mut alts = Vec::new();
    let (mut start, mut depth) = (open + 1, 0usize);
    for i in open + 1..=close {
        match pattern[i] {
            b'{' => depth += 1,
            b'}' if depth > 0 => depth -= 1,
            b',' | b'}' if depth == 0 => {
                alts.push(&pattern[start..i]);
                start = i + 1;
            }
            _ => {}
        }
    }
    Some(Group {
        prefix: &pattern[..open],
        alts,
        suffix: &pattern[close + 1..],
    })
}

/// `prefix + alt + suffix`, cut to what the reference's buffer holds.
fn join(prefix: &[u8], alt: &[u8], suffix: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(prefix.len() + alt.len() + suffix.len());
    out.extend_from_slice(prefix);
    out.extend_from_slice(alt);
    out.extend_from_slice(suffix);
    out.truncate(ALT_MAX);
    out
}

/// Match `name` against a pattern containing `{`.
pub(super) fn matches(pattern: &[u8], name: &[u8]) -> Result<bool, MatchError> {
    let g = split(pattern).ok_or_else(|| MatchError::MalformedAlternate(pattern.to_vec()))?;
    let mut found = false;
    for alt in g.alts {
        found |= match_c(&join(g.prefix, alt, g.suffix), name)?;
    }
    Ok(found)
}

/// Whether no expansion of `pattern` has unbalanced braces.
pub(super) fn never_malformed(pattern: &[u8]) -> bool {
    let mut todo = vec![pattern.to_vec()];
    let mut seen = 0;
    while let Some(p) = todo.pop() {
        if memchr::memchr(b'{', &p).is_none() {
            continue;
        }
        seen += 1;
        if seen > EXPAND_LIMIT {
            return false;
        }
        let Some(g) = split(&p) else { return false };
        todo.extend(g.alts.into_iter().map(|a| join(g.prefix, a, g.suffix)));
    }
    true
}
