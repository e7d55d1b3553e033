//! `create-broken-graph`: a graphviz graph of the broken packages and the
//! broken dependencies they hang on.

use std::collections::HashSet;
use std::path::Path;

use super::awk::{split_blanks, SplitOrders};
use super::parse::{st, Report};
use crate::cli::Result;

fn color(status: &[u8]) -> &'static [u8] {
    match status {
        st::FAILED => b"red",
        st::PREFAILED => b"gray2",
        st::INDIRECT_FAILED => b"orange",
        _ => b"lightgray",
    }
}

/// The dot text for a parsed report.
pub fn render(r: &Report) -> Vec<u8> {
    let mut o = Vec::new();
    o.extend_from_slice(b"digraph \"Broken packages\" {\n");
    let mut drawn: HashSet<&[u8]> = HashSet::new();
    let mut splits = SplitOrders::default();
    for id in r.depends_arr.iter_order() {
        let pkg: &[u8] = r.depends_arr.key(id);
        let deps = split_blanks(r.pkgs[r.by_name[pkg]].depends.unwrap_or(b""));
        for &k in splits.get(deps.len()) {
            let dep = deps[k];
            let s = r.status_of(dep);
            if !st::is_broken(s) {
                continue;
            }
            let c: &[u8] = if s == st::FAILED {
                b"red"
            } else {
                b"lightgray"
            };
            for part in [
                &b"\""[..],
                dep,
                b"\" -> \"",
                pkg,
                b"\" [ color = \"",
                c,
                b"\" ];\n",
            ] {
                o.extend_from_slice(part);
            }
            drawn.insert(dep);
            drawn.insert(pkg);
        }
    }
    for i in r.status_order() {
        let p = &r.pkgs[i];
        if !st::is_broken(p.status) || (p.depth == 0 && !drawn.contains(p.name)) {
            continue;
        }
        let c = color(p.status);
        for part in [
            &b"\""[..],
            p.name,
            b"\" [ color = \"",
            c,
            b"\", fontcolor = \"",
            c,
            b"\", label=\"",
            p.name,
            b"\" ];\n",
        ] {
            o.extend_from_slice(part);
        }
    }
    o.extend_from_slice(b"}\n");
    o
}

/// Write `<meta>/report.dot`.
pub fn run(meta: &Path) -> Result<()> {
    let buf = super::parse::read_report(meta)?;
    let r = Report::parse(&buf);
    super::write_file(&meta.join("report.dot"), &render(&r))
}

/// The number of lines of a dot file that contain `->` (the report phase
/// renders an SVG only below a limit).
pub fn edge_lines(dot: &[u8]) -> usize {
    super::parse::lines(dot)
        .filter(|l| memchr::memmem::find(l, b"->").is_some())
        .count()
}
