//! Dewey versions: the reference's `mkversion` / `dewey_cmp`.
//!
//! A version string reads as a list of C `int`s: digit runs are numbers
//! (wrapping on overflow like the C code), `alpha` -3, `beta` -2, `pre` and
//! `rc` -1, `pl`, `_` and `.` 0, any other letter 0 followed by its place
//! in the alphabet; `nb<digits>` sets the tie-breaking pkgsrc revision and
//! everything else is skipped. Missing trailing elements count as 0.

use super::at;

/// The comparison operators of a dewey pattern.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeweyOp {
    Lt,
    Le,
    Eq,
    Ge,
    Gt,
    Ne,
}

impl DeweyOp {
    /// The operator written at the start of `s` and its length, trying the
    /// reference's order (`<=` before `<`, ...).
    pub fn parse(s: &[u8]) -> Option<(DeweyOp, usize)> {
        const OPS: [(&[u8], DeweyOp); 6] = [
            (b"<=", DeweyOp::Le),
            (b"<", DeweyOp::Lt),
            (b">=", DeweyOp::Ge),
            (b">", DeweyOp::Gt),
            (b"==", DeweyOp::Eq),
            (b"!=", DeweyOp::Ne),
        ];
        OPS.iter()
            .find(|(t, _)| s.starts_with(t))
            .map(|&(t, op)| (op, t.len()))
    }

    /// Whether a comparison result (sign of lhs - rhs) satisfies the operator.
    pub fn holds(self, diff: i32) -> bool {
        match self {
            DeweyOp::Lt => diff < 0,
            DeweyOp::Le => diff <= 0,
            DeweyOp::Eq => diff == 0,
            DeweyOp::Ge => diff >= 0,
            DeweyOp::Gt => diff > 0,
            DeweyOp::Ne => diff != 0,
        }
    }
}

/// The elements of a version string, produced lazily so comparing two
/// versions allocates nothing; `nb` is known once the iterator is drained.
#[derive(Debug, Clone)]
pub struct Version<'a> {
    s: &'a [u8],
    pos: usize,
    /// The letter index still owed after the 0 a letter produces.
    pending: Option<i32>,
    pub nb: i32,
}

impl<'a> Version<'a> {
    pub fn new(s: &'a [u8]) -> Self {
        Version {
            s,
            pos: 0,
            pending: None,
            nb: 0,
        }
    }

    fn digits(&mut self) -> i32 {
        let mut n: i32 = 0;
        while let Some(&c) = self.s.get(self.pos).filter(|c| c.is_ascii_digit()) {
            n = n.wrapping_mul(10).wrapping_add(i32::from(c - b'0'));
            self.pos += 1;
        }
        n
    }

    fn starts_with_ci(&self, token: &[u8]) -> bool {
        self.s.len() >= self.pos + token.len()
            && self.s[self.pos..self.pos + token.len()].eq_ignore_ascii_case(token)
    }
}

impl Iterator for Version<'_> {
    type Item = i32;

    fn next(&mut self) -> Option<i32> {
        const TOKENS: [(&[u8], i32); 7] = [
            (b"alpha", -3),
            (b"beta", -2),
            (b"pre", -1),
            (b"rc", -1),
            (b"pl", 0),
            (b"_", 0),
            (b".", 0),
        ];
        if let Some(v) = self.pending.take() {
            return Some(v);
        }
        while self.pos < self.s.len() {
            let c = at(self.s, self.pos);
            if c.is_ascii_digit() {
                return Some(self.digits());
            }
            if let Some(&(t, v)) = TOKENS.iter().find(|(t, _)| self.starts_with_ci(t)) {
                self.pos += t.len();
                return Some(v);
            }
            if self.starts_with_ci(b"nb") {
                self.pos += 2;
                self.nb = self.digits();
                continue;
            }
            self.pos += 1;
            if c.is_ascii_alphabetic() {
                self.pending = Some(i32::from(c.to_ascii_lowercase() - b'a') + 1);
                return Some(0);
            }
        }
        None
    }
}

/// The sign-carrying difference of two versions as the reference computes
/// it (first differing element, else the `nb` difference; C `int`
/// subtraction, so wrapping).
pub fn version_cmp(lhs: &[u8], rhs: &[u8]) -> i32 {
    let (mut l, mut r) = (Version::new(lhs), Version::new(rhs));
    loop {
        match (l.next(), r.next()) {
            (None, None) => return l.nb.wrapping_sub(r.nb),
            (a, b) => {
                let d = a.unwrap_or(0).wrapping_sub(b.unwrap_or(0));
                if d != 0 {
                    return d;
                }
            }
        }
    }
}

/// dewey_cmp: whether `lhs op rhs` holds.
pub fn dewey_cmp(lhs: &[u8], op: DeweyOp, rhs: &[u8]) -> bool {
    op.holds(version_cmp(lhs, rhs))
}

/// The longest lower bound the reference keeps (a 1024-byte buffer).
const BOUND_MAX: usize = 1023;

/// Dewey match of `name` against `pattern`, whose first `<` or `>` is at
/// `sep`: the name's base (before its last `-`) must equal the pattern's
/// text before `sep`, and its version must satisfy the bound(s).
pub(super) fn matches(pattern: &[u8], sep: usize, name: &[u8]) -> bool {
    let Some(dash) = memchr::memrchr(b'-', name) else {
        return false;
    };
    if dash != sep || pattern[..sep] != name[..dash] {
        return false;
    }
    let version = &name[dash + 1..];
    // A `<` or `>` always parses as an operator.
    let Some((op, n)) = DeweyOp::parse(&pattern[sep..]) else {
        return false;
    };
    let rest = &pattern[sep + n..];
    if matches!(op, DeweyOp::Gt | DeweyOp::Ge) {
        if let Some(lt) = memchr::memchr(b'<', rest) {
            let Some((op2, n2)) = DeweyOp::parse(&rest[lt..]) else {
                return false;
            };
            if !dewey_cmp(version, op2, &rest[lt + n2..]) {
                return false;
            }
            return dewey_cmp(version, op, &rest[..lt.min(BOUND_MAX)]);
        }
    }
    dewey_cmp(version, op, rest)
}
