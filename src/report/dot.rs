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
    // Looking up `status[dep]` creates the entry in awk, which moves the
    // later walk over `status` when a dependency has no status line.
    let mut status_arr = r.status_arr.clone();
    for id in r.depends_arr.iter_order() {
        let pkg: &[u8] = r.depends_arr.key(id);
        let deps = split_blanks(r.pkgs[r.by_name[pkg]].depends.unwrap_or(b""));
        for &k in splits.get(deps.len()) {
            let dep = deps[k];
            status_arr.touch(dep);
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
    for id in status_arr.iter_order() {
        let Some(&i) = r.by_name.get(status_arr.key(id)) else {
            continue;
        };
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::awk::AwkArray;

    #[test]
    fn unknown_dependencies_shift_the_node_order_as_in_awk() {
        // 100 failed packages; the last depends on a package the report
        // does not know. Its lookup is the 101st key of `status`, which
        // grows the table before the walk over it.
        let mut text = String::new();
        for i in 0..100 {
            text.push_str(&format!("PKGNAME=p{i}-1\nPKG_DEPTH=2\n"));
            if i == 99 {
                text.push_str("DEPENDS=ghost-1\n");
            }
            text.push_str("BUILD_STATUS=failed\n");
        }
        let r = Report::parse(text.as_bytes());
        let out = String::from_utf8(render(&r)).unwrap();
        let mut want: AwkArray<Vec<u8>> = AwkArray::new();
        for i in 0..100 {
            want.touch(format!("p{i}-1").into_bytes());
        }
        want.touch(b"ghost-1".to_vec());
        let order: Vec<String> = want
            .iter_order()
            .into_iter()
            .map(|id| String::from_utf8(want.key(id).clone()).unwrap())
            .filter(|k| k != "ghost-1")
            .collect();
        let nodes: Vec<&str> = out
            .lines()
            .filter(|l| l.contains("label="))
            .map(|l| l.split('"').nth(1).unwrap())
            .collect();
        assert_eq!(nodes, order);
        assert!(!out.contains("ghost-1"), "an unknown package is not broken");
    }
}
