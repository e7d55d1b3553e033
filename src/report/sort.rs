//! The external sorts the awk scripts pipe their keys through, in the C
//! locale: plain `sort` (byte order of whole lines) and `sort -rn` (numeric
//! prefix, ties broken by the whole line, all reversed).

use std::cmp::Ordering;

/// `LC_ALL=C sort`.
pub fn sort_c(lines: &mut [Vec<u8>]) {
    lines.sort_unstable();
}

/// `LC_ALL=C sort -rn`.
pub fn sort_rn(lines: &mut [Vec<u8>]) {
    lines.sort_unstable_by(|a, b| cmp_numeric(a, b).then_with(|| a.cmp(b)).reverse());
}

/// The numeric prefix of a line as `sort -n` reads it in the C locale:
/// blanks, an optional minus, digits, optionally a point and more digits.
fn numeric_prefix(s: &[u8]) -> (bool, &[u8], &[u8]) {
    let mut i = 0;
    while i < s.len() && (s[i] == b' ' || s[i] == b'\t') {
        i += 1;
    }
    let neg = s.get(i) == Some(&b'-');
    if neg {
        i += 1;
    }
    let int_start = i;
    while i < s.len() && s[i].is_ascii_digit() {
        i += 1;
    }
    let mut int = &s[int_start..i];
    while int.first() == Some(&b'0') {
        int = &int[1..];
    }
    let mut frac: &[u8] = b"";
    if s.get(i) == Some(&b'.') {
        let f = i + 1;
        let mut j = f;
        while j < s.len() && s[j].is_ascii_digit() {
            j += 1;
        }
        frac = &s[f..j];
        while frac.last() == Some(&b'0') {
            frac = &frac[..frac.len() - 1];
        }
    }
    // -0 equals 0.
    let zero = int.is_empty() && frac.is_empty();
    (neg && !zero, int, frac)
}

fn cmp_numeric(a: &[u8], b: &[u8]) -> Ordering {
    let (na, ia, fa) = numeric_prefix(a);
    let (nb, ib, fb) = numeric_prefix(b);
    let magnitude = ia
        .len()
        .cmp(&ib.len())
        .then_with(|| ia.cmp(ib))
        .then_with(|| fa.cmp(fb));
    match (na, nb) {
        (false, false) => magnitude,
        (true, true) => magnitude.reverse(),
        (true, false) => Ordering::Less,
        (false, true) => Ordering::Greater,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(xs: &[&str]) -> Vec<Vec<u8>> {
        xs.iter().map(|s| s.as_bytes().to_vec()).collect()
    }

    #[test]
    fn rn_orders_numbers_down_and_ties_by_reverse_line() {
        let mut l = v(&[
            "15 devel/a",
            "9 x",
            "15 www/b",
            "100 z",
            "15 time/c",
            "-1 n",
            "0 m",
        ]);
        sort_rn(&mut l);
        assert_eq!(
            l,
            v(&[
                "100 z",
                "15 www/b",
                "15 time/c",
                "15 devel/a",
                "9 x",
                "0 m",
                "-1 n"
            ])
        );
    }

    #[test]
    fn c_sort_is_byte_order() {
        let mut l = v(&["b", "B", "a b", "a", "_x"]);
        sort_c(&mut l);
        assert_eq!(l, v(&["B", "_x", "a", "a b", "b"]));
    }
}
