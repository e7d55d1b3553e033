//! The shell's `read` builtin without `-r`, as the original scripts use it to
//! consume their input: a backslash quotes the next byte (and disappears), a
//! backslash before a newline joins the next line, fields are split on
//! unquoted blanks (default IFS), the last variable takes the rest of the
//! line minus surrounding blanks, and a final line without its newline makes
//! `read` fail, so a `while read` loop never sees it.

use std::io::{self, BufRead};

/// One byte of a line after backslash processing; quoted bytes never split.
#[derive(Clone, Copy)]
struct Byte {
    b: u8,
    quoted: bool,
}

fn is_ifs(c: Byte) -> bool {
    !c.quoted && matches!(c.b, b' ' | b'\t' | b'\n')
}

/// Reads logical lines from `input` the way `while read a b ...` does.
pub struct ShRead<R> {
    input: R,
}

impl<R: BufRead> ShRead<R> {
    pub fn new(input: R) -> Self {
        ShRead { input }
    }

    fn next_byte(&mut self) -> io::Result<Option<u8>> {
        let buf = self.input.fill_buf()?;
        let Some(&b) = buf.first() else {
            return Ok(None);
        };
        self.input.consume(1);
        Ok(Some(b))
    }

    /// The next line split into `nvars` fields (the last one taking the
    /// rest), or `None` once `read` would return false.
    pub fn read(&mut self, nvars: usize) -> io::Result<Option<Vec<Vec<u8>>>> {
        let mut line = Vec::new();
        loop {
            match self.next_byte()? {
                None => return Ok(None),
                Some(b'\n') => break,
                Some(b'\\') => match self.next_byte()? {
                    None => return Ok(None),
                    Some(b'\n') => {}
                    Some(b) => line.push(Byte { b, quoted: true }),
                },
                Some(b) => line.push(Byte { b, quoted: false }),
            }
        }
        Ok(Some(split_fields(&line, nvars.max(1))))
    }
}

fn split_fields(line: &[Byte], nvars: usize) -> Vec<Vec<u8>> {
    let mut out = Vec::with_capacity(nvars);
    let mut pos = 0;
    for i in 0..nvars {
        while pos < line.len() && is_ifs(line[pos]) {
            pos += 1;
        }
        let start = pos;
        if i + 1 == nvars {
            let mut end = line.len();
            while end > start && is_ifs(line[end - 1]) {
                end -= 1;
            }
            out.push(line[start..end].iter().map(|c| c.b).collect());
        } else {
            while pos < line.len() && !is_ifs(line[pos]) {
                pos += 1;
            }
            out.push(line[start..pos].iter().map(|c| c.b).collect());
        }
    }
    out
}

/// Every line `while read line` would see, each trimmed and unescaped.
pub fn read_lines(input: &[u8]) -> Vec<Vec<u8>> {
    let mut r = ShRead::new(input);
    let mut out = Vec::new();
    while let Ok(Some(mut f)) = r.read(1) {
        out.push(f.remove(0));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fields(input: &str, n: usize) -> Vec<Vec<String>> {
        let mut r = ShRead::new(input.as_bytes());
        let mut out = Vec::new();
        while let Some(f) = r.read(n).unwrap() {
            out.push(
                f.into_iter()
                    .map(|v| String::from_utf8(v).unwrap())
                    .collect(),
            );
        }
        out
    }

    #[test]
    fn trims_blanks_and_keeps_inner_spacing() {
        assert_eq!(fields("  a  b \t\n", 1), vec![vec!["a  b"]]);
    }

    #[test]
    fn backslashes_quote_and_join_lines() {
        assert_eq!(fields("a\\\\b\\x\n", 1), vec![vec!["a\\bx"]]);
        assert_eq!(fields("one\\\ntwo\n", 1), vec![vec!["onetwo"]]);
        // A quoted trailing blank survives the trimming.
        assert_eq!(fields("a\\ \n", 1), vec![vec!["a "]]);
    }

    #[test]
    fn last_line_without_newline_is_not_seen() {
        assert_eq!(fields("x\ny", 1), vec![vec!["x"]]);
        assert_eq!(fields("x\\", 1), Vec::<Vec<String>>::new());
    }

    #[test]
    fn two_fields_split_on_first_blank_run() {
        assert_eq!(
            fields("  f   $NetBSD: x $  \n", 2),
            vec![vec!["f", "$NetBSD: x $"]]
        );
        assert_eq!(fields("f\n", 2), vec![vec!["f", ""]]);
        assert_eq!(fields("\n", 2), vec![vec!["", ""]]);
        assert_eq!(fields("a\\ b c\n", 2), vec![vec!["a b", "c"]]);
    }
}
