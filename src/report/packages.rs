//! `compute-packages`: the rsync include rules for the binary packages that
//! may be uploaded: every successful package except those restricted by a
//! non-empty `NO_BIN_ON_FTP` and everything depending on them, directly or
//! not. Each package is included under `All/` and each of its categories
//! (with the literal `.tgz` suffix the original hard-codes).

use std::collections::{HashMap, HashSet};
use std::path::Path;

use super::awk::{split_blanks, split_order};
use super::parse::lines;
use crate::cli::Result;

/// The include rules for a presolve and a success list.
pub fn render(presolve: &[u8], success: &[u8]) -> Vec<u8> {
    let mut categories: HashMap<&[u8], &[u8]> = HashMap::new();
    let mut depends: HashMap<&[u8], &[u8]> = HashMap::new();
    let mut restricted_seed: Vec<&[u8]> = Vec::new();
    let mut cur: &[u8] = b"";
    for l in lines(presolve) {
        if let Some(v) = l.strip_prefix(b"PKGNAME=") {
            cur = v;
        }
        if let Some(v) = l.strip_prefix(b"CATEGORIES=") {
            categories.insert(cur, v);
        }
        if l.len() > 14 && l.starts_with(b"NO_BIN_ON_FTP=") {
            restricted_seed.push(cur);
        }
        if let Some(v) = l.strip_prefix(b"DEPENDS=") {
            depends.insert(cur, v);
        }
    }
    let mut rdeps: HashMap<&[u8], Vec<&[u8]>> = HashMap::new();
    for (&pkg, &deps) in &depends {
        for d in split_blanks(deps) {
            rdeps.entry(d).or_default().push(pkg);
        }
    }
    let mut restricted: HashSet<&[u8]> = HashSet::new();
    let mut stack = restricted_seed;
    while let Some(p) = stack.pop() {
        if restricted.insert(p) {
            if let Some(rs) = rdeps.get(p) {
                stack.extend(rs.iter().copied());
            }
        }
    }

    let mut out = Vec::new();
    let mut printed: HashSet<Vec<u8>> = HashSet::new();
    let mut orders: HashMap<usize, Vec<usize>> = HashMap::new();
    for pkg in lines(success) {
        if restricted.contains(pkg) {
            continue;
        }
        let cats = split_blanks(categories.get(pkg).copied().unwrap_or(b""));
        let order = orders
            .entry(cats.len())
            .or_insert_with(|| split_order(cats.len(), true));
        for &k in order.iter() {
            let cat: &[u8] = if k == cats.len() { b"All" } else { cats[k] };
            if printed.insert(cat.to_vec()) {
                for part in [&b"+ "[..], cat, b"/\n"] {
                    out.extend_from_slice(part);
                }
            }
            for part in [&b"+ "[..], cat, b"/", pkg, b".tgz\n"] {
                out.extend_from_slice(part);
            }
        }
    }
    out
}

/// The include rules for `<meta>/presolve` and `<meta>/success`.
pub fn run(meta: &Path) -> Result<Vec<u8>> {
    let keys: [&[u8]; 4] = [b"PKGNAME=", b"CATEGORIES=", b"NO_BIN_ON_FTP=", b"DEPENDS="];
    let presolve = super::input::read_filtered(&meta.join("presolve"), &keys)?;
    let success = super::read_file(&meta.join("success"))?;
    Ok(render(&presolve, &success))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sorted(b: Vec<u8>) -> Vec<String> {
        let mut v: Vec<String> = String::from_utf8(b)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        v.sort();
        v
    }

    #[test]
    fn restricted_closure_and_categories() {
        let presolve = b"PKGNAME=a-1\nCATEGORIES=devel\nNO_BIN_ON_FTP=no\n\
PKGNAME=b-1\nCATEGORIES=devel lang\nDEPENDS=a-1\n\
PKGNAME=c-1\nCATEGORIES=x11\nDEPENDS=b-1\n\
PKGNAME=d-1\nCATEGORIES=www  net\nNO_BIN_ON_FTP=\n\
PKGNAME=e-1\nCATEGORIES= lead\n";
        let out = render(presolve, b"a-1\nb-1\nc-1\nd-1\ne-1\nf-1\n");
        assert_eq!(
            sorted(out),
            vec![
                "+ /",
                "+ /e-1.tgz",
                "+ All/",
                "+ All/d-1.tgz",
                "+ All/e-1.tgz",
                "+ All/f-1.tgz",
                "+ lead/",
                "+ lead/e-1.tgz",
                "+ net/",
                "+ net/d-1.tgz",
                "+ www/",
                "+ www/d-1.tgz"
            ]
        );
    }
}
