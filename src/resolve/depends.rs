//! Reading an ALL_DEPENDS value token by token the way the reference does:
//! `<pattern>:../../<location>` separated by blanks. The pattern ends at
//! the first `:` after its start, wherever that is: a token without a colon
//! makes the reference search on past the line (into later records of the
//! same file), which [`Step::NeedMore`] asks the caller to reproduce.

use std::ops::Range;

/// What the next token of a value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Step {
    Dep {
        pattern: Range<usize>,
        location: Range<usize>,
    },
    /// The value ended normally.
    End,
    /// No `:../../` where one is needed ("Incorrect dependency").
    Malformed,
    /// The buffer is only the line; the rest of the file is needed.
    NeedMore,
}

fn at(buf: &[u8], i: usize) -> u8 {
    buf.get(i).copied().unwrap_or(0)
}

fn skip_blanks(buf: &[u8], mut i: usize) -> usize {
    while matches!(at(buf, i), b' ' | b'\t') {
        i += 1;
    }
    i
}

/// A cursor over a value. Positions are relative to the start of the
/// value, so a caller can switch from the line to the rest of the file
/// (which starts at the same byte) when asked to.
#[derive(Debug, Default)]
pub struct Tokens {
    pos: Option<usize>,
}

impl Tokens {
    /// The next token of `buf`. `whole` says `buf` runs to the end of its
    /// file (the reference's terminating NUL follows); otherwise `buf` is
    /// the value's line, newline included.
    pub fn next(&mut self, buf: &[u8], whole: bool) -> Step {
        let pos = *self.pos.get_or_insert_with(|| skip_blanks(buf, 0));
        if at(buf, pos) == b'\n' {
            return Step::End;
        }
        let colon = match buf.get(pos..).and_then(|rest| memchr::memchr(b':', rest)) {
            Some(i) => pos + i,
            None if whole => return Step::Malformed,
            None => return Step::NeedMore,
        };
        if !buf[colon..].starts_with(b":../../") {
            return Step::Malformed;
        }
        let loc_start = colon + 7;
        let loc_end = buf[loc_start..]
            .iter()
            .position(|&c| matches!(c, b' ' | b'\t' | b'\n'))
            .map_or(buf.len(), |i| loc_start + i);
        self.pos = Some(skip_blanks(buf, loc_end));
        Step::Dep {
            pattern: pos..colon,
            location: loc_start..loc_end,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn all(buf: &[u8], whole: bool) -> Vec<Step> {
        let mut t = Tokens::default();
        let mut out = Vec::new();
        loop {
            let s = t.next(buf, whole);
            let stop = !matches!(s, Step::Dep { .. });
            out.push(s);
            if stop {
                return out;
            }
        }
    }

    #[test]
    fn splits_tokens_and_blanks() {
        let v = b"  a>=1:../../x/a\tb-[0-9]*:../../y/b  \n";
        let steps = all(v, false);
        assert_eq!(steps.len(), 3);
        let Step::Dep { pattern, location } = &steps[1] else {
            panic!()
        };
        assert_eq!(&v[pattern.clone()], b"b-[0-9]*");
        assert_eq!(&v[location.clone()], b"y/b");
        assert_eq!(steps[2], Step::End);
        assert_eq!(all(b"\n", false), vec![Step::End]);
    }

    #[test]
    fn malformed_and_running_past_the_line() {
        assert_eq!(all(b"a>=1:x/a\n", false), vec![Step::Malformed]);
        assert_eq!(all(b"a>=1:../..\n", false), vec![Step::Malformed]);
        assert_eq!(all(b"a>=1\n", false), vec![Step::NeedMore]);
        // Past the line: the colon of a later line ends the pattern.
        let whole = b"a>=1\nX=y:../../loc rest\n";
        let steps = all(whole, true);
        let Step::Dep { pattern, location } = &steps[0] else {
            panic!()
        };
        assert_eq!(&whole[pattern.clone()], b"a>=1\nX=y");
        assert_eq!(&whole[location.clone()], b"loc");
        assert_eq!(steps[1], Step::Malformed);
        // The end of the file is the C string's end.
        assert_eq!(all(b"a:../../b", true).last(), Some(&Step::Malformed));
    }
}
