//! `create-report-html`: the HTML report of every unsuccessful package.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use super::awk::{split_blanks, AwkArray, SplitOrders};
use super::parse::{st, Report, Status};
use super::sort::{sort_c, sort_rn};

const TOP: usize = 25;
/// At most this many causes are named; one more turns into ` ...`.
const MAX_CAUSES: usize = 9;
/// The build phases whose logs are linked, in column order.
const PHASES: [&str; 9] = [
    "pre-clean",
    "depends",
    "checksum",
    "configure",
    "build",
    "install",
    "package",
    "clean",
    "deinstall",
];

const TABLE_HEAD: &str = "    <table>
      <thead>
        <tr>
          <th> Location </th>
          <th> Package </th>
          <th> Breaks </th>
          <th> Maintainer </th>
          <th> Status </th>
          <th colspan=\"9\"> Build log </th>
        </tr>
      </thead>
      <tbody>
";

/// The "root causes" of indirect failures: for each package the string
/// the script builds (space-prefixed names, at most nine, then ` ...`),
/// memoised as the script memoises it.
struct Causes<'r, 'a> {
    r: &'r Report<'a>,
    memo: HashMap<usize, Vec<u8>>,
    splits: SplitOrders,
}

impl<'r, 'a> Causes<'r, 'a> {
    fn get(&mut self, pkg: usize) -> Vec<u8> {
        if let Some(s) = self.memo.get(&pkg) {
            if !s.is_empty() {
                return s.clone();
            }
        }
        let deps = split_blanks(self.r.pkgs[pkg].depends.unwrap_or(b""));
        let order = self.splits.get(deps.len()).to_vec();
        let mut acc: Vec<u8> = Vec::new();
        for k in order {
            let dep = deps[k];
            let idx = self.r.by_name.get(dep).copied();
            let status = idx.map_or(&b""[..], |i| self.r.pkgs[i].status);
            if status == st::FAILED || status == st::PREFAILED {
                acc.push(b' ');
                acc.extend_from_slice(dep);
            } else if status == st::INDIRECT_FAILED || status == st::INDIRECT_PREFAILED {
                let theirs = self.get(idx.expect("status implies the package exists"));
                let mut s = theirs;
                s.push(b' ');
                s.extend_from_slice(&acc);
                acc = s;
            }
        }
        let names = split_blanks(&acc);
        let order = self.splits.get(names.len()).to_vec();
        let mut found: AwkArray<&[u8]> = AwkArray::new();
        for k in order {
            found.touch(names[k]);
        }
        let mut out = Vec::new();
        for (n, id) in found.iter_order().into_iter().enumerate() {
            if n == MAX_CAUSES {
                out.extend_from_slice(b" ...");
                break;
            }
            out.push(b' ');
            out.extend_from_slice(found.key(id));
        }
        self.memo.insert(pkg, out.clone());
        out
    }
}

/// The rendering of PKG_FAIL_REASON: quotes toggle and vanish, unquoted
/// blank runs become one `<br />`, backslash escapes, and the value's last
/// byte is never looked at (unless an escape reaches it).
fn fail_reason(o: &mut Vec<u8>, s: &[u8]) {
    let at = |i: usize| s.get(i.wrapping_sub(1)).copied();
    let (mut in_quote, mut in_sep) = (false, false);
    let mut i = 1;
    while i < s.len() {
        let c = s[i - 1];
        if c == b'"' {
            in_quote = !in_quote;
            i += 1;
            continue;
        }
        if !in_quote && c == b' ' {
            if !in_sep {
                o.extend_from_slice(b"<br />");
            }
            in_sep = true;
            i += 1;
            continue;
        }
        in_sep = false;
        if c == b'\\' {
            i += 1;
            match at(i) {
                Some(b'n') | Some(b't') => o.push(b' '),
                Some(b'<') => o.extend_from_slice(b"&lt;"),
                Some(b'>') => o.extend_from_slice(b"&gt;"),
                Some(b'&') => o.extend_from_slice(b"&amp;"),
                Some(c) => o.push(c),
                None => {}
            }
            i += 1;
            continue;
        }
        o.push(c);
        i += 1;
    }
    o.push(b'\n');
}

/// Which phase logs exist in `<logdir>/<pkg>` (the script runs `ls`).
fn present_logs(logdir: &Path, pkg: &[u8]) -> [bool; 9] {
    use std::os::unix::ffi::OsStrExt;
    let mut have = [false; 9];
    // A name that is no plain file name has no logs of its own.
    if crate::record::name_problem(pkg).is_some() {
        return have;
    }
    let dir = logdir.join(std::ffi::OsStr::from_bytes(pkg));
    if let Ok(rd) = std::fs::read_dir(dir) {
        for e in rd.flatten() {
            let name = e.file_name();
            if let Some(k) = PHASES
                .iter()
                .position(|p| name.as_bytes() == format!("{p}.log").as_bytes())
            {
                have[k] = true;
            }
        }
    }
    have
}

fn row(o: &mut Vec<u8>, r: &Report, i: usize, logdir: &Path, causes: &mut Causes) {
    let p = &r.pkgs[i];
    let have = if p.status == st::FAILED {
        present_logs(logdir, p.name)
    } else {
        [false; 9]
    };
    let last = (0..PHASES.len()).rev().find(|&k| have[k]);
    let name = p.name;
    o.extend_from_slice(b"<tr class=\"");
    o.extend_from_slice(p.status);
    o.extend_from_slice(b"\">\n");
    match last {
        Some(k) => {
            let _ = write!(o, "<td><a href=\"../");
            o.extend_from_slice(name);
            let _ = write!(o, "/{}.log\"> ", PHASES[k]);
            o.extend_from_slice(p.location);
            o.extend_from_slice(b"</a></td>\n");
        }
        None => cell(o, p.location),
    }
    cell(o, name);
    if p.depth == 0 {
        o.extend_from_slice(b"<td>&nbsp;</td>\n");
    } else {
        cell(o, p.depth.to_string().as_bytes());
    }
    cell(o, p.maintainer);
    cell(o, p.status);
    for (k, phase) in PHASES.iter().enumerate() {
        if have[k] {
            o.extend_from_slice(b"<td><a href=\"../");
            o.extend_from_slice(name);
            let _ = writeln!(o, "/{phase}.log\">{phase}</a></td>");
        } else {
            o.extend_from_slice(b"<td>&nbsp;</td>\n");
        }
    }
    o.extend_from_slice(b"</tr>\n");
    if p.status == st::INDIRECT_FAILED || p.status == st::INDIRECT_PREFAILED {
        o.extend_from_slice(b"<tr class=\"");
        o.extend_from_slice(p.status);
        o.extend_from_slice(b"\">\n<td>&nbsp;</td><td colspan=\"13\"> Failed: ");
        o.extend_from_slice(&causes.get(i));
        o.extend_from_slice(b"</td>\n</tr>\n");
    }
    if p.status == st::PREFAILED {
        o.extend_from_slice(b"<tr class=\"");
        o.extend_from_slice(p.status);
        o.extend_from_slice(b"\">\n<td>&nbsp;</td><td colspan=\"13\">");
        fail_reason(o, p.fail_reason);
        o.extend_from_slice(b"</td>\n</tr>\n");
    }
}

fn cell(o: &mut Vec<u8>, v: &[u8]) {
    o.extend_from_slice(b"<td>");
    o.extend_from_slice(v);
    o.extend_from_slice(b"</td>\n");
}

/// The HTML report for a parsed report and status; logs are looked up
/// under `logdir`.
/// With `timeline`, a link to the timeline page follows the build times
/// (our extension; without it the page is the original's byte for byte).
pub fn render(r: &Report, status: &Status, logdir: &Path, timeline: bool) -> Vec<u8> {
    let mut counts = [0i64; 5];
    let statuses = [
        st::DONE,
        st::FAILED,
        st::PREFAILED,
        st::INDIRECT_FAILED,
        st::INDIRECT_PREFAILED,
    ];
    let with_status = r.status_order();
    for &i in &with_status {
        if let Some(k) = statuses.iter().position(|s| *s == r.pkgs[i].status) {
            counts[k] += 1;
        }
    }
    let [done, failed, prefailed, ind_failed, ind_prefailed] = counts;
    let mut causes = Causes {
        r,
        memo: HashMap::new(),
        splits: SplitOrders::default(),
    };

    let mut o = Vec::new();
    o.extend_from_slice(b"<html>\n  <head>\n    <title> pkgsrc bulk build for ");
    o.extend_from_slice(&status.platform);
    o.extend_from_slice(b" from ");
    o.extend_from_slice(&status.build_start_iso);
    o.extend_from_slice(b"</title>\n  </head>\n  <body>\n    <h1> pkgsrc bulk build for ");
    o.extend_from_slice(&status.platform);
    o.extend_from_slice(b"</h1>\n    <h2> Build start: ");
    o.extend_from_slice(&status.build_start_iso);
    o.extend_from_slice(b"</h2>\n    <h2> Build end: ");
    o.extend_from_slice(&status.build_end_iso);
    o.extend_from_slice(b"</h2>\n");
    if timeline {
        o.extend_from_slice(b"    <p><a href=\"report-timeline.html\">Build timeline</a></p>\n");
    }
    o.extend_from_slice(b"    <hr />\n    <table>\n");
    let total = done + failed + prefailed + ind_failed + ind_prefailed;
    for (label, n) in [
        ("Total number of packages:", total),
        ("Successfully built:", done),
        ("Failed build:", failed),
        ("Depending on failed package:", ind_failed),
        ("Explicitly broken or masked:", prefailed),
        ("Depending on masked package:", ind_prefailed),
    ] {
        let _ = writeln!(o, "      <tr><td>{label}</td><td>{n}</td></tr>");
    }
    o.extend_from_slice(b"    </table>\n    <hr />\n");

    let mut top: Vec<Vec<u8>> = Vec::new();
    let mut top_pkg: HashMap<Vec<u8>, usize> = HashMap::new();
    for &i in &with_status {
        let p = &r.pkgs[i];
        if p.depth == 0 || p.status != st::FAILED {
            continue;
        }
        let key = [p.depth.to_string().as_bytes(), b" ", p.name].concat();
        top_pkg.insert(key.clone(), i);
        top.push(key);
    }
    if !top.is_empty() {
        sort_rn(&mut top);
        o.extend_from_slice(b"    <h2>Packages causing the most breakage</h2>\n");
        o.extend_from_slice(TABLE_HEAD.as_bytes());
        for key in top.iter().take(TOP) {
            row(&mut o, r, top_pkg[key], logdir, &mut causes);
        }
        o.extend_from_slice(b"      </tbody>\n    </table>\n    <hr />\n");
    }

    o.extend_from_slice(b"    <h2> All unsuccessful builds </h2>\n");
    o.extend_from_slice(TABLE_HEAD.as_bytes());
    let mut keyed: HashMap<Vec<u8>, usize> = HashMap::new();
    for &i in &with_status {
        let p = &r.pkgs[i];
        keyed.insert([p.location, b" ", p.name].concat(), i);
    }
    let mut keys: Vec<Vec<u8>> = keyed.keys().cloned().collect();
    sort_c(&mut keys);
    for key in &keys {
        let i = keyed[key];
        if r.pkgs[i].status == st::DONE {
            continue;
        }
        row(&mut o, r, i, logdir, &mut causes);
    }
    o.extend_from_slice(b"      </tbody>\n    </table>\n  </body>\n</html>\n");
    o
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reason(s: &str) -> String {
        let mut o = Vec::new();
        fail_reason(&mut o, s.as_bytes());
        String::from_utf8(o).unwrap()
    }

    #[test]
    fn fail_reason_rendering() {
        assert_eq!(reason("\"a b\" \"c\""), "a b<br />c\n");
        assert_eq!(reason("\"x  y\"   \"z\\<\""), "x  y<br />z&lt;\n");
        // The last byte is skipped unless an escape reaches it.
        assert_eq!(reason("ab"), "a\n");
        assert_eq!(reason("a\\n"), "a \n");
        assert_eq!(reason(""), "\n");
    }
}
