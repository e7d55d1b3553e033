//! Package patterns and versions: pkg_install's `pkg_match` and dewey order,
//! as pbulk's `lib/match.c` implements them.
//!
//! A pattern is one of, tried in this order: csh-style alternates
//! (`{a,b}`, nested), a dewey comparison (`name>=1.0`, `name>=1<2`), a
//! shell glob (`name-[0-9]*`) or a plain name. Everything works on bytes
//! with C string semantics: text after a NUL byte does not count, and the
//! C `int` arithmetic of the version parser (wrapping) is kept, because
//! which package wins a dependency must not change with the implementation.

mod alternate;
mod dewey;
mod glob;

pub use dewey::{dewey_cmp, version_cmp, DeweyOp, Version};

/// The two failures of the reference matcher; both end the program there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MatchError {
    /// Unbalanced braces in the (sub)pattern named.
    MalformedAlternate(Vec<u8>),
    /// `pkg_order` on a name without any `-`.
    NoVersion,
    /// Alternates expanding to more than [`MAX_ALTERNATES`] texts (ours).
    TooManyAlternates(Vec<u8>),
}

pub use alternate::MAX_TEXTS as MAX_ALTERNATES;

/// Refuse a pattern whose alternates expand to more than
/// [`MAX_ALTERNATES`] distinct texts, before matching it against anything:
/// the answer depends on the pattern only, never on the names it meets.
pub fn check_alternates(pattern: &[u8]) -> Result<(), MatchError> {
    let pattern = c_str(pattern);
    if memchr::memchr(b'{', pattern).is_none() || alternate::within_limit(pattern) {
        return Ok(());
    }
    Err(MatchError::TooManyAlternates(pattern.to_vec()))
}

impl MatchError {
    /// The reference's diagnostic text (without the program name).
    pub fn message(&self) -> String {
        match self {
            MatchError::MalformedAlternate(p) => {
                format!("Malformed alternate `{}'", String::from_utf8_lossy(p))
            }
            MatchError::NoVersion => "Internal error".to_string(),
            MatchError::TooManyAlternates(p) => format!(
                "Pattern `{}' expands to more than {MAX_ALTERNATES} alternatives",
                String::from_utf8_lossy(p)
            ),
        }
    }
}

impl std::fmt::Display for MatchError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.message())
    }
}

impl std::error::Error for MatchError {}

/// The text of a C string held in `s`: up to the first NUL.
fn c_str(s: &[u8]) -> &[u8] {
    match memchr::memchr(0, s) {
        Some(n) => &s[..n],
        None => s,
    }
}

/// The byte at `i`, or NUL past the end, as a C string reads.
#[inline]
fn at(s: &[u8], i: usize) -> u8 {
    s.get(i).copied().unwrap_or(0)
}

/// Bytes for which the quick reject and the resolver's fast path compare
/// positions directly.
#[inline]
pub fn is_simple(c: u8) -> bool {
    c.is_ascii_alphanumeric() || c == b'-'
}

/// Whether `pattern` matches the package name `name` (pkg_match).
pub fn pkg_match(pattern: &[u8], name: &[u8]) -> Result<bool, MatchError> {
    Pattern::new(pattern).matches(name)
}

/// [`pkg_match`] on NUL-free input.
pub(crate) fn match_c(pattern: &[u8], name: &[u8]) -> Result<bool, MatchError> {
    Pattern::classify(pattern).matches_c(name)
}

/// Which of the pattern forms applies, in the reference's order of tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Alternates,
    /// Dewey comparison; the first `<` or `>` is at this index.
    Dewey(usize),
    Glob,
    Exact,
}

/// A pattern read once for matching against many names.
#[derive(Debug, Clone, Copy)]
pub struct Pattern<'a> {
    text: &'a [u8],
    kind: Kind,
}

impl<'a> Pattern<'a> {
    /// The pattern held in `text` (up to a NUL byte, as in C).
    pub fn new(text: &'a [u8]) -> Self {
        Pattern::classify(c_str(text))
    }

    fn classify(text: &'a [u8]) -> Self {
        let kind = if memchr::memchr(b'{', text).is_some() {
            Kind::Alternates
        } else if let Some(sep) = memchr::memchr2(b'<', b'>', text) {
            Kind::Dewey(sep)
        } else if text.iter().any(|&c| matches!(c, b'*' | b'?' | b'[' | b']')) {
            Kind::Glob
        } else {
            Kind::Exact
        };
        Pattern { text, kind }
    }

    pub fn text(&self) -> &'a [u8] {
        self.text
    }

    /// Whether the pattern matches `name` (up to a NUL byte).
    pub fn matches(&self, name: &[u8]) -> Result<bool, MatchError> {
        self.matches_c(c_str(name))
    }

    /// [`Pattern::matches`] for a name known to hold no NUL byte (names
    /// of a loaded scan), saving the scan for one.
    pub fn matches_plain(&self, name: &[u8]) -> Result<bool, MatchError> {
        debug_assert!(memchr::memchr(0, name).is_none());
        self.matches_c(name)
    }

    fn matches_c(&self, name: &[u8]) -> Result<bool, MatchError> {
        if !quick_match(self.text, name) {
            return Ok(false);
        }
        Ok(match self.kind {
            Kind::Alternates => return alternate::matches(self.text, name),
            Kind::Dewey(sep) => dewey::matches(self.text, sep, name),
            Kind::Glob => glob::fnmatch_period(self.text, name),
            Kind::Exact => self.text == name,
        })
    }
}

/// The reference's cheap pre-check: the first one or two pattern bytes,
/// if they are plain, must equal the name's.
#[inline]
fn quick_match(pattern: &[u8], name: &[u8]) -> bool {
    let p0 = at(pattern, 0);
    if !is_simple(p0) {
        return true;
    }
    if p0 != at(name, 0) {
        return false;
    }
    let p1 = at(pattern, 1);
    !is_simple(p1) || p1 == at(name, 1)
}

/// Which of two matching names is the better one (pkg_order).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Best {
    First,
    Second,
}

/// pkg_order: the higher version (text after the last `-`) wins; on equal
/// versions the byte-wise larger name; on equal names the second.
pub fn pkg_order(a: &[u8], b: &[u8]) -> Result<Best, MatchError> {
    let (a, b) = (c_str(a), c_str(b));
    let va = memchr::memrchr(b'-', a).ok_or(MatchError::NoVersion)?;
    let vb = memchr::memrchr(b'-', b).ok_or(MatchError::NoVersion)?;
    let (va, vb) = (&a[va + 1..], &b[vb + 1..]);
    Ok(match version_cmp(va, vb) {
        d if d > 0 => Best::First,
        d if d < 0 => Best::Second,
        _ if a > b => Best::First,
        _ => Best::Second,
    })
}

/// The bytes every name matching `pattern` starts with: the text before
/// the first byte that is not taken literally by some pattern form. Used
/// to narrow candidate sets; empty means "any name".
pub fn literal_prefix(pattern: &[u8]) -> &[u8] {
    let pattern = c_str(pattern);
    let end = pattern
        .iter()
        .position(|&c| matches!(c, b'{' | b'<' | b'>' | b'*' | b'?' | b'[' | b'\\'))
        .unwrap_or(pattern.len());
    &pattern[..end]
}

/// The bytes a name must start with to get past the quick reject of
/// `pattern` (zero to two bytes).
pub fn quick_prefix(pattern: &[u8]) -> &[u8] {
    let p0 = at(pattern, 0);
    if !is_simple(p0) {
        return &[];
    }
    if !is_simple(at(pattern, 1)) {
        return &pattern[..1];
    }
    &pattern[..2]
}

/// The brace-free patterns `pattern` expands to; a name matches `pattern`
/// exactly when it matches one of them. `None` when matching may fail with
/// a malformed alternate for some name (or the expansion is too large to
/// list), so callers must match the pattern itself.
pub fn expansions(pattern: &[u8]) -> Option<Vec<Vec<u8>>> {
    alternate::leaves(c_str(pattern))
}

#[cfg(test)]
mod tests;
