//! Reading `meta/report` and `meta/status` the way the awk generators do:
//! line by line, a `PKGNAME=` line switching the current package, later
//! lines overwriting earlier ones, and arrays keyed by package name whose
//! creation order is kept for [`super::awk`].

use std::collections::HashMap;
use std::path::Path;

use super::awk::AwkArray;
use crate::cli::Result;

/// The lines of a buffer as awk's getline sees them (no newline; a last
/// line without one still counts).
pub fn lines(buf: &[u8]) -> impl Iterator<Item = &[u8]> {
    let mut pos = 0;
    std::iter::from_fn(move || {
        if pos >= buf.len() {
            return None;
        }
        let end = memchr::memchr(b'\n', &buf[pos..]).map_or(buf.len(), |i| pos + i);
        let line = &buf[pos..end];
        pos = end + 1;
        Some(line)
    })
}

/// awk's string-to-number for the integers the reports hold: leading
/// blanks, a sign, digits; anything else ends the number (empty is 0).
pub fn awk_int(s: &[u8]) -> i64 {
    let mut i = 0;
    while i < s.len() && matches!(s[i], b' ' | b'\t' | b'\n') {
        i += 1;
    }
    let neg = match s.get(i) {
        Some(b'-') => {
            i += 1;
            true
        }
        Some(b'+') => {
            i += 1;
            false
        }
        _ => false,
    };
    let mut n: i64 = 0;
    while i < s.len() && s[i].is_ascii_digit() {
        n = n.saturating_mul(10).saturating_add((s[i] - b'0') as i64);
        i += 1;
    }
    if neg {
        -n
    } else {
        n
    }
}

/// The values of `meta/status` the reports use (last occurrence wins).
#[derive(Debug, Default, Clone)]
pub struct Status {
    pub platform: Vec<u8>,
    pub compiler: Vec<u8>,
    pub build_start_iso: Vec<u8>,
    pub build_start_dir: Vec<u8>,
    pub build_end_iso: Vec<u8>,
    pub base_url: Vec<u8>,
}

impl Status {
    /// Read `path`; a missing file gives empty values, as awk's getline does.
    pub fn read(path: &Path) -> Status {
        let buf = std::fs::read(path).unwrap_or_default();
        let mut st = Status::default();
        for l in lines(&buf) {
            let (slot, v) = if let Some(v) = l.strip_prefix(b"PLATFORM=") {
                (&mut st.platform, v)
            } else if let Some(v) = l.strip_prefix(b"COMPILER=") {
                (&mut st.compiler, v)
            } else if let Some(v) = l.strip_prefix(b"BUILD_START_ISO=") {
                (&mut st.build_start_iso, v)
            } else if let Some(v) = l.strip_prefix(b"BUILD_START_DIR=") {
                (&mut st.build_start_dir, v)
            } else if let Some(v) = l.strip_prefix(b"BUILD_END_ISO=") {
                (&mut st.build_end_iso, v)
            } else if let Some(v) = l.strip_prefix(b"BASE_URL=") {
                (&mut st.base_url, v)
            } else {
                continue;
            };
            *slot = v.to_vec();
        }
        st
    }
}

/// What the generators know about one package of `meta/report`.
#[derive(Debug, Default, Clone)]
pub struct Pkg<'a> {
    pub name: &'a [u8],
    pub maintainer: &'a [u8],
    pub location: &'a [u8],
    /// `PKG_DEPTH - 1`: the number of other packages depending on it.
    pub depth: i64,
    pub status: &'a [u8],
    pub fail_reason: &'a [u8],
    pub depends: Option<&'a [u8]>,
}

/// The build status values the reports tell apart.
pub mod st {
    pub const DONE: &[u8] = b"done";
    pub const FAILED: &[u8] = b"failed";
    pub const PREFAILED: &[u8] = b"prefailed";
    pub const INDIRECT_FAILED: &[u8] = b"indirect-failed";
    pub const INDIRECT_PREFAILED: &[u8] = b"indirect-prefailed";

    /// The four statuses of a package that did not build.
    pub fn is_broken(s: &[u8]) -> bool {
        matches!(s, FAILED | PREFAILED | INDIRECT_FAILED | INDIRECT_PREFAILED)
    }
}

/// `meta/report`, parsed.
pub struct Report<'a> {
    pub pkgs: Vec<Pkg<'a>>,
    pub by_name: HashMap<&'a [u8], usize>,
    /// The awk array `status[]`: created at each `BUILD_STATUS=` line.
    pub status_arr: AwkArray<&'a [u8]>,
    /// The awk array `depends[]`: created at each `DEPENDS=` line.
    pub depends_arr: AwkArray<&'a [u8]>,
}

impl<'a> Report<'a> {
    pub fn parse(buf: &'a [u8]) -> Report<'a> {
        let mut r = Report {
            pkgs: Vec::new(),
            by_name: HashMap::new(),
            status_arr: AwkArray::new(),
            depends_arr: AwkArray::new(),
        };
        let mut cur = r.pkg_index(b"");
        let mut cur_name: &[u8] = b"";
        for l in lines(buf) {
            if let Some(v) = l.strip_prefix(b"PKGNAME=") {
                cur = r.pkg_index(v);
                cur_name = v;
            } else if let Some(v) = l.strip_prefix(b"MAINTAINER=") {
                r.pkgs[cur].maintainer = v;
            } else if let Some(v) = l.strip_prefix(b"PKG_LOCATION=") {
                r.pkgs[cur].location = v;
            } else if let Some(v) = l.strip_prefix(b"PKG_DEPTH=") {
                r.pkgs[cur].depth = awk_int(v) - 1;
            } else if let Some(v) = l.strip_prefix(b"BUILD_STATUS=") {
                r.pkgs[cur].status = v;
                r.status_arr.touch(cur_name);
            } else if let Some(v) = l.strip_prefix(b"PKG_FAIL_REASON=") {
                r.pkgs[cur].fail_reason = v;
            } else if let Some(v) = l.strip_prefix(b"DEPENDS=") {
                r.pkgs[cur].depends = Some(v);
                r.depends_arr.touch(cur_name);
            }
        }
        r
    }

    fn pkg_index(&mut self, name: &'a [u8]) -> usize {
        let n = self.pkgs.len();
        *self.by_name.entry(name).or_insert_with(|| {
            self.pkgs.push(Pkg {
                name,
                ..Pkg::default()
            });
            n
        })
    }

    /// The package called `name`, if the report has it.
    pub fn get(&self, name: &[u8]) -> Option<&Pkg<'a>> {
        self.by_name.get(name).map(|&i| &self.pkgs[i])
    }

    /// The status of `name` (`status[name]`), empty if unknown.
    pub fn status_of(&self, name: &[u8]) -> &'a [u8] {
        self.get(name).map_or(b"", |p| p.status)
    }

    /// The packages with a status, in `for (pkg in status)` order.
    pub fn status_order(&self) -> Vec<usize> {
        self.status_arr
            .iter_order()
            .into_iter()
            .map(|id| self.by_name[self.status_arr.key(id)])
            .collect()
    }
}

/// The kinds of `meta/report` lines the generators look at.
pub const REPORT_KEYS: [&[u8]; 7] = [
    b"PKGNAME=",
    b"MAINTAINER=",
    b"PKG_LOCATION=",
    b"PKG_DEPTH=",
    b"BUILD_STATUS=",
    b"PKG_FAIL_REASON=",
    b"DEPENDS=",
];

/// The lines of `<meta>/report` that [`Report::parse`] uses.
pub fn read_report(meta: &Path) -> Result<Vec<u8>> {
    super::input::read_filtered(&meta.join("report"), &REPORT_KEYS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_like_getline() {
        let all = |b: &'static [u8]| lines(b).collect::<Vec<_>>();
        assert_eq!(all(b""), Vec::<&[u8]>::new());
        assert_eq!(all(b"\n"), vec![&b""[..]]);
        assert_eq!(all(b"a\n\nb"), vec![&b"a"[..], b"", b"b"]);
        assert_eq!(all(b"a\n"), vec![&b"a"[..]]);
    }

    #[test]
    fn awk_numbers() {
        assert_eq!(awk_int(b" 12x"), 12);
        assert_eq!(awk_int(b"-3"), -3);
        assert_eq!(awk_int(b""), 0);
    }
}
