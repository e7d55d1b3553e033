//! `create-report-txt`: the text report that is mailed and uploaded.

use std::collections::HashMap;
use std::io::Write;
use std::path::Path;

use super::parse::{st, Report, Status};
use super::sort::{sort_c, sort_rn};
use crate::cli::Result;

/// How many offenders the top list shows.
const TOP: usize = 25;
const RULE_73: &[u8] = &[b'-'; 73];
const RULE_95: &[u8] = &[b'-'; 95];
const HEADER: &[u8] = b"Package                               Breaks Maintainer\n";

/// printf `%-Ns`: left-justified, padded with spaces to `w` bytes.
pub fn pad(out: &mut Vec<u8>, s: &[u8], w: usize) {
    out.extend_from_slice(s);
    out.resize(out.len() + w.saturating_sub(s.len()), b' ');
}

/// printf `% 6d`: a blank for the sign of a non-negative number, then
/// right-justified in 6 columns.
pub fn space_6d(out: &mut Vec<u8>, n: i64) {
    let s = if n >= 0 {
        format!(" {n}")
    } else {
        n.to_string()
    };
    let _ = write!(out, "{s:>6}");
}

/// Where a location stands: all its packages failed, none did, or some.
#[derive(Clone, Copy, PartialEq, Eq)]
enum LocState {
    Failed,
    Ignore,
    Mixed,
}

/// The text report for a parsed report and status.
pub fn render(r: &Report, status: &Status) -> Vec<u8> {
    let order = r.status_order();
    let mut broken: HashMap<&[u8], i64> = HashMap::new();
    let mut repr: HashMap<&[u8], usize> = HashMap::new();
    let mut state: HashMap<&[u8], LocState> = HashMap::new();
    // Failed packages per mixed location, in iteration order.
    let mut failed_at: HashMap<&[u8], Vec<usize>> = HashMap::new();
    let (mut done, mut failed, mut prefailed, mut ind_failed, mut ind_prefailed) = (0, 0, 0, 0, 0);
    let mut invalid = Vec::new();
    for &i in &order {
        let p = &r.pkgs[i];
        let loc = p.location;
        if p.status == st::FAILED {
            *broken.entry(loc).or_insert(0) += p.depth;
            repr.insert(loc, i);
            failed_at.entry(loc).or_default().push(i);
            let s = state.entry(loc).or_insert(LocState::Failed);
            if *s == LocState::Ignore {
                *s = LocState::Mixed;
            }
        } else {
            let s = state.entry(loc).or_insert(LocState::Ignore);
            if *s == LocState::Failed {
                *s = LocState::Mixed;
            }
        }
        match p.status {
            st::DONE => done += 1,
            st::FAILED => failed += 1,
            st::PREFAILED => {
                prefailed += 1;
                if memchr::memmem::find(p.fail_reason, b"could not resolve dependency").is_some() {
                    invalid.push(i);
                }
            }
            st::INDIRECT_FAILED => ind_failed += 1,
            st::INDIRECT_PREFAILED => ind_prefailed += 1,
            _ => {}
        }
    }
    let maint_of_loc = |loc: &[u8]| repr.get(loc).map_or(&b""[..], |&i| r.pkgs[i].maintainer);

    let mut o = Vec::new();
    o.extend_from_slice(b"pkgsrc bulk build report\n========================\n\n");
    for (pre, v) in [
        (&b""[..], &status.platform),
        (b"Compiler: ", &status.compiler),
        (b"\n", &Vec::new()),
        (b"Build start: ", &status.build_start_iso),
        (b"Build end:   ", &status.build_end_iso),
    ] {
        if pre == b"\n" {
            o.push(b'\n');
            continue;
        }
        o.extend_from_slice(pre);
        o.extend_from_slice(v);
        o.push(b'\n');
    }
    o.push(b'\n');
    let mut url = status.base_url.clone();
    url.push(b'/');
    url.extend_from_slice(&status.build_start_dir);
    for (label, file) in [
        (&b"Full report: "[..], &b"/meta/report.html"[..]),
        (b"Machine readable version: ", b"/meta/report.bz2"),
    ] {
        o.extend_from_slice(label);
        o.extend_from_slice(&url);
        o.extend_from_slice(file);
        o.push(b'\n');
    }
    o.push(b'\n');
    let total = done + failed + prefailed + ind_failed + ind_prefailed;
    for (label, n) in [
        ("Total number of packages:", total),
        ("  Successfully built:", done),
        ("  Failed to build:", failed),
        ("  Depending on failed package:", ind_failed),
        ("  Explicitly broken or masked:", prefailed),
        ("    of which invalid dependencies:", invalid.len() as i64),
        ("  Depending on masked package:", ind_prefailed),
    ] {
        let _ = writeln!(o, "{label:<35}{n:>5}");
    }
    o.push(b'\n');

    let mut top: Vec<Vec<u8>> = Vec::new();
    let mut top_loc: HashMap<Vec<u8>, &[u8]> = HashMap::new();
    for (&loc, &n) in &broken {
        if n != 0 {
            let key = [n.to_string().as_bytes(), b" ", loc].concat();
            top_loc.insert(key.clone(), loc);
            top.push(key);
        }
    }
    sort_rn(&mut top);
    if !top.is_empty() {
        o.extend_from_slice(b"Packages breaking the most other packages\n\n");
        o.extend_from_slice(HEADER);
        o.extend_from_slice(RULE_73);
        o.push(b'\n');
        for key in top.iter().take(TOP) {
            let loc = top_loc[key];
            location_line(&mut o, loc, broken[loc], maint_of_loc(loc));
        }
        o.push(b'\n');
    }

    if !invalid.is_empty() {
        o.extend_from_slice(b"Packages with invalid dependencies\n\n");
        pad(&mut o, b"Package", 45);
        pad(&mut o, b"Location", 30);
        o.extend_from_slice(b"Maintainer\n");
        o.extend_from_slice(RULE_95);
        o.push(b'\n');
        for &i in &invalid {
            let p = &r.pkgs[i];
            pad(&mut o, p.name, 44);
            o.push(b' ');
            pad(&mut o, p.location, 29);
            o.push(b' ');
            o.extend_from_slice(p.maintainer);
            o.push(b'\n');
        }
        o.push(b'\n');
    }

    o.extend_from_slice(b"Build failures\n\n");
    o.extend_from_slice(HEADER);
    o.extend_from_slice(RULE_73);
    o.push(b'\n');
    let mut locs: Vec<Vec<u8>> = state.keys().map(|l| l.to_vec()).collect();
    sort_c(&mut locs);
    for loc in &locs {
        // The script walks the sorted list until the first empty line.
        if loc.is_empty() {
            break;
        }
        let loc = loc.as_slice();
        let s = state[loc];
        if s == LocState::Ignore {
            continue;
        }
        let n = broken.get(loc).copied().unwrap_or(0);
        if n == 0 {
            pad(&mut o, loc, 44);
            o.push(b' ');
            o.extend_from_slice(maint_of_loc(loc));
            o.push(b'\n');
        } else {
            location_line(&mut o, loc, n, maint_of_loc(loc));
        }
        if s != LocState::Mixed {
            continue;
        }
        for &i in &failed_at[loc] {
            let p = &r.pkgs[i];
            o.extend_from_slice(b"    ");
            if p.depth == 0 {
                pad(&mut o, p.name, 40);
            } else {
                pad(&mut o, p.name, 33);
                o.push(b' ');
                space_6d(&mut o, p.depth);
            }
            o.push(b' ');
            o.extend_from_slice(p.maintainer);
            o.push(b'\n');
        }
    }
    o
}

/// `%- 37s % 6d %s`: a location, how many packages it breaks, maintainer.
fn location_line(o: &mut Vec<u8>, loc: &[u8], n: i64, maint: &[u8]) {
    pad(o, loc, 37);
    o.push(b' ');
    space_6d(o, n);
    o.push(b' ');
    o.extend_from_slice(maint);
    o.push(b'\n');
}

/// Write `<meta>/report.txt`.
pub fn run(meta: &Path) -> Result<()> {
    let buf = super::parse::read_report(meta)?;
    let r = Report::parse(&buf);
    let status = Status::read(&meta.join("status"));
    super::write_file(&meta.join("report.txt"), &render(&r, &status))
}
