//! `report-timeline.html`: our extra page beside report.html (which stays
//! byte-identical to the original). It shows the failures first with links
//! to their logs, the slowest packages, and an inline SVG timeline of which
//! build slot built what when.
//!
//! The timing data comes from `<metadir>/build-timeline.csv`, one line per
//! finished build: `pkgname,slot,start_epoch,end_epoch,status` (slot is any
//! label, epochs are seconds, status as in pbuild). Without it, the
//! slowest packages come from the build history (`<bulklog>.history`,
//! durations only, so no timeline); without either the page still lists
//! the failures and says that no timing data was recorded.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write;
use std::path::Path;

use super::parse::{st, Report, Status};

/// The name of the timing file in the meta directory.
pub const TIMELINE_CSV: &str = "build-timeline.csv";
const SLOWEST: usize = 25;
const WIDTH: f64 = 1200.0;
const ROW: f64 = 22.0;
const LEFT: f64 = 120.0;

/// One finished build.
#[derive(Debug, Clone, PartialEq)]
pub struct Span {
    pub pkg: String,
    pub slot: String,
    pub start: i64,
    pub end: i64,
    pub status: String,
}

/// Parse the CSV; lines that do not have five fields with numeric epochs
/// are skipped (the page is informative, never a reason to fail a report).
pub fn parse_csv(text: &str) -> Vec<Span> {
    text.lines()
        .filter_map(|l| {
            let f: Vec<&str> = l.split(',').collect();
            if f.len() != 5 {
                return None;
            }
            let (start, end) = (f[2].trim().parse().ok()?, f[3].trim().parse().ok()?);
            Some(Span {
                pkg: f[0].into(),
                slot: f[1].into(),
                start,
                end,
                status: f[4].trim().into(),
            })
        })
        .collect()
}

/// Escape text for HTML and SVG content and attribute values.
pub fn esc(s: &[u8]) -> String {
    let mut o = String::with_capacity(s.len());
    for c in String::from_utf8_lossy(s).chars() {
        match c {
            '&' => o.push_str("&amp;"),
            '<' => o.push_str("&lt;"),
            '>' => o.push_str("&gt;"),
            '"' => o.push_str("&quot;"),
            c => o.push(c),
        }
    }
    o
}

fn color(status: &str) -> &'static str {
    match status.as_bytes() {
        st::DONE => "#4a4",
        st::FAILED => "#d33",
        _ => "#999",
    }
}

fn fmt_secs(s: i64) -> String {
    format!("{}:{:02}:{:02}", s / 3600, s % 3600 / 60, s % 60)
}

fn svg(o: &mut String, spans: &[Span]) {
    let t0 = spans.iter().map(|s| s.start).min().unwrap_or(0);
    let t1 = spans.iter().map(|s| s.end).max().unwrap_or(0).max(t0 + 1);
    let scale = (WIDTH - LEFT) / (t1 - t0) as f64;
    let names: BTreeSet<&str> = spans.iter().map(|s| s.slot.as_str()).collect();
    let slots: BTreeMap<&str, usize> = names.into_iter().enumerate().map(|(i, n)| (n, i)).collect();
    let height = ROW * (slots.len() as f64 + 1.0);
    let _ = writeln!(
        o,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height}\" role=\"img\" \
aria-label=\"build timeline\">"
    );
    for (slot, &row) in &slots {
        let y = ROW * row as f64;
        let _ = writeln!(
            o,
            "<text x=\"4\" y=\"{:.1}\" font-size=\"12\">{}</text>",
            y + 15.0,
            esc(slot.as_bytes())
        );
    }
    for s in spans {
        let x = LEFT + (s.start - t0) as f64 * scale;
        let w = ((s.end - s.start).max(0) as f64 * scale).max(0.5);
        let y = ROW * slots[s.slot.as_str()] as f64 + 2.0;
        let _ = writeln!(
            o,
            "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{} ({}, {})</title></rect>",
            ROW - 4.0,
            color(&s.status),
            esc(s.pkg.as_bytes()),
            esc(s.status.as_bytes()),
            fmt_secs(s.end - s.start)
        );
    }
    let _ = writeln!(
        o,
        "<text x=\"{LEFT}\" y=\"{:.1}\" font-size=\"11\">0:00:00</text><text x=\"{:.1}\" y=\"{:.1}\" font-size=\"11\" \
text-anchor=\"end\">{}</text>\n</svg>",
        height - 6.0,
        WIDTH - 2.0,
        height - 6.0,
        fmt_secs(t1 - t0)
    );
}

/// The page for a parsed report, status, log directory and timing data.
pub fn render(
    r: &Report,
    status: &Status,
    logdir: &Path,
    spans: &[Span],
    history: &[(usize, u64)],
) -> Vec<u8> {
    let mut o = String::new();
    let title = format!(
        "pkgsrc bulk build timeline for {} from {}",
        esc(&status.platform),
        esc(&status.build_start_iso)
    );
    let _ = write!(
        o,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{title}</title>\n<style>\n\
body {{ font-family: sans-serif; }} table {{ border-collapse: collapse; }} td, th {{ padding: 2px 8px; text-align: left; }}\n\
</style>\n</head>\n<body>\n<h1>{title}</h1>\n<p><a href=\"report.html\">Full report</a></p>\n"
    );

    let mut failed: Vec<&super::parse::Pkg> =
        r.pkgs.iter().filter(|p| p.status == st::FAILED).collect();
    failed.sort_by(|a, b| b.depth.cmp(&a.depth).then(a.name.cmp(b.name)));
    let _ = writeln!(o, "<h2>Failures ({})</h2>", failed.len());
    o.push_str("<table>\n<tr><th>Package</th><th>Location</th><th>Breaks</th><th>Logs</th></tr>\n");
    for p in &failed {
        let name = esc(p.name);
        // A name that is no plain file name has no logs of its own.
        let dir = Some(p.name).filter(|n| crate::record::name_problem(n).is_none());
        let mut logs: Vec<String> = dir
            .ok_or(())
            .and_then(|n| {
                std::fs::read_dir(logdir.join(String::from_utf8_lossy(n).as_ref())).map_err(|_| ())
            })
            .map(|rd| {
                rd.flatten()
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| n.ends_with(".log"))
                    .collect()
            })
            .unwrap_or_default();
        logs.sort();
        let links: Vec<String> = logs
            .iter()
            .map(|l| {
                format!(
                    "<a href=\"../{name}/{}\">{}</a>",
                    esc(l.as_bytes()),
                    esc(l.as_bytes())
                )
            })
            .collect();
        let _ = writeln!(
            o,
            "<tr><td>{name}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(p.location),
            p.depth,
            links.join(" ")
        );
    }
    o.push_str("</table>\n");

    if spans.is_empty() && history.is_empty() {
        o.push_str("<p>No build timing data was recorded for this build.</p>\n");
    } else if spans.is_empty() {
        o.push_str(
            "<p>No timeline was recorded for this build; durations from the build history.</p>\n",
        );
        o.push_str("<h2>Slowest packages</h2>\n<table>\n<tr><th>Package</th><th>Time</th><th>Status</th></tr>\n");
        for &(i, ms) in history.iter().take(SLOWEST) {
            let p = &r.pkgs[i];
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(p.name),
                fmt_secs((ms / 1000) as i64),
                esc(p.status)
            );
        }
        o.push_str("</table>\n");
    } else {
        o.push_str("<h2>Timeline</h2>\n");
        svg(&mut o, spans);
        let mut slow: Vec<&Span> = spans.iter().collect();
        slow.sort_by(|a, b| {
            (b.end - b.start)
                .cmp(&(a.end - a.start))
                .then(a.pkg.cmp(&b.pkg))
        });
        o.push_str("<h2>Slowest packages</h2>\n<table>\n<tr><th>Package</th><th>Slot</th><th>Time</th><th>Status</th></tr>\n");
        for s in slow.iter().take(SLOWEST) {
            let _ = writeln!(
                o,
                "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
                esc(s.pkg.as_bytes()),
                esc(s.slot.as_bytes()),
                fmt_secs(s.end - s.start),
                esc(s.status.as_bytes())
            );
        }
        o.push_str("</table>\n");
    }
    o.push_str("</body>\n</html>\n");
    o.into_bytes()
}

/// Durations of this build's packages (index into `r.pkgs`, milliseconds)
/// from the build history `pbulk-build -H` keeps at `<bulklog>.history`
/// (the build phase's default place), slowest first; none without it.
pub fn history_durations(r: &Report, logdir: &Path) -> Vec<(usize, u64)> {
    // Through components, so a trailing slash does not end up before it.
    let mut path = logdir
        .components()
        .collect::<std::path::PathBuf>()
        .into_os_string();
    path.push(".history");
    let Ok(h) = crate::build::history::History::load(Path::new(&path)) else {
        return Vec::new();
    };
    let mut out: Vec<(usize, u64)> = (0..r.pkgs.len())
        .filter(|&i| matches!(r.pkgs[i].status, st::DONE | st::FAILED))
        .filter_map(|i| Some((i, h.duration(std::str::from_utf8(r.pkgs[i].name).ok()?)?)))
        .collect();
    out.sort_by(|a, b| b.1.cmp(&a.1).then(r.pkgs[a.0].name.cmp(r.pkgs[b.0].name)));
    out
}

/// The timing data of `<meta>/build-timeline.csv`, none if it is absent.
pub fn read_spans(meta: &Path) -> Vec<Span> {
    parse_csv(&std::fs::read_to_string(meta.join(TIMELINE_CSV)).unwrap_or_default())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_lines_and_escaping() {
        let s = parse_csv("a-1,slot0,10,20,done\nbad line\nb<2,s1,15,40,failed\n");
        assert_eq!(s.len(), 2);
        assert_eq!(s[1].pkg, "b<2");
        assert_eq!(esc(b"a<b&\"c\">"), "a&lt;b&amp;&quot;c&quot;&gt;");
        assert_eq!(fmt_secs(3725), "1:02:05");
    }
}
