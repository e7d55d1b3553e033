//! Shell globs as `fnmatch(pattern, name, FNM_PERIOD)` of the BSD C
//! library: `*`, `?`, bracket expressions (`!`/`^` negation, ranges, a
//! leading `]` taken literally, backslash escapes), backslash escapes, and
//! a leading `.` of the name that only a literal `.` matches. An
//! unterminated `[` is an ordinary character.
//!
//! Matching is iterative with backtracking to the last `*` only, which is
//! equivalent to the recursive reference (no FNM_PATHNAME) and keeps
//! hostile patterns linear-times-length instead of exponential.

use super::at;

enum Bracket {
    /// Matched; the pattern continues at this index.
    Match(usize),
    NoMatch,
    /// Not a bracket expression: the `[` is literal.
    Literal,
}

/// The bracket expression starting after the `[` at `p`, tested on `c`.
fn bracket(pat: &[u8], mut p: usize, c: u8) -> Bracket {
    let negate = matches!(at(pat, p), b'!' | b'^');
    if negate {
        p += 1;
    }
    let mut ok = false;
    let mut first = true;
    loop {
        let mut lo = at(pat, p);
        if lo == b']' && !first {
            p += 1;
            break;
        }
        first = false;
        p += 1;
        if lo == b'\\' {
            lo = at(pat, p);
            p += 1;
        }
        if p > pat.len() {
            return Bracket::Literal;
        }
        let c2 = at(pat, p + 1);
        if at(pat, p) == b'-' && p + 1 < pat.len() && c2 != b']' {
            p += 2;
            let mut hi = c2;
            if hi == b'\\' {
                hi = at(pat, p);
                p += 1;
                if p > pat.len() {
                    return Bracket::Literal;
                }
            }
            if lo <= c && c <= hi {
                ok = true;
            }
        } else if lo == c {
            ok = true;
        }
    }
    if ok != negate {
        Bracket::Match(p)
    } else {
        Bracket::NoMatch
    }
}

/// Match one pattern element at `p` against `name[s]`; the pattern index
/// after it, or `None` if it does not match. `p` is not a `*`.
fn step(pat: &[u8], p: usize, name: &[u8], s: usize) -> Option<usize> {
    let c = *name.get(s)?;
    let leading_dot = s == 0 && c == b'.';
    match pat[p] {
        b'?' => (!leading_dot).then_some(p + 1),
        b'[' => {
            if leading_dot {
                return None;
            }
            match bracket(pat, p + 1, c) {
                Bracket::Match(np) => Some(np),
                Bracket::NoMatch => None,
                Bracket::Literal => (c == b'[').then_some(p + 1),
            }
        }
        b'\\' => match pat.get(p + 1) {
            Some(&e) => (e == c).then_some(p + 2),
            None => (c == b'\\').then_some(p + 1),
        },
        lit => (lit == c).then_some(p + 1),
    }
}

/// fnmatch(pattern, name, FNM_PERIOD) == 0.
pub(super) fn fnmatch_period(pat: &[u8], name: &[u8]) -> bool {
    let (mut p, mut s) = (0, 0);
    // Where to resume after the last `*`: (pattern index after it, name index).
    let mut star: Option<(usize, usize)> = None;
    loop {
        if p < pat.len() && pat[p] == b'*' {
            while p < pat.len() && pat[p] == b'*' {
                p += 1;
            }
            if s == 0 && at(name, 0) == b'.' {
                return false;
            }
            if p == pat.len() {
                return true;
            }
            star = Some((p, s));
            continue;
        }
        let advanced = if p < pat.len() {
            step(pat, p, name, s)
        } else if s == name.len() {
            return true;
        } else {
            None
        };
        match advanced {
            Some(np) => {
                p = np;
                s += 1;
            }
            None => match star {
                Some((sp, ss)) if ss < name.len() => {
                    star = Some((sp, ss + 1));
                    p = sp;
                    s = ss + 1;
                }
                _ => return false,
            },
        }
    }
}
