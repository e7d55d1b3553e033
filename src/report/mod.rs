//! The report generators: `create-report` (meta/report), `create-report-txt`,
//! `create-report-html`, `create-broken-graph` and `compute-packages`.
//!
//! They reproduce the reference awk scripts byte for byte, including the
//! places where those depend on one-true-awk's array order ([`awk`]) and on
//! the external `sort` / `sort -rn` run in the C locale ([`sort`]). The
//! scripts' shared temporary `meta/tmp_sort` is not needed: sorting happens
//! in memory. Every output file is replaced atomically.

pub mod awk;
pub mod create;
pub mod dot;
pub mod html;
pub mod input;
pub mod packages;
pub mod parse;
pub mod sort;
pub mod timeline;

pub mod txt;

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use crate::cli::{self, Error, Result};

/// Read a whole input file, naming it on failure.
pub fn read_file(path: &Path) -> Result<Vec<u8>> {
    std::fs::read(path).map_err(|e| Error::err(format_args!("cannot read {}", path.display()), &e))
}

/// Replace an output file atomically, naming it on failure.
pub fn write_file(path: &Path, data: &[u8]) -> Result<()> {
    crate::fsutil::write_atomic(path, data)
        .map_err(|e| Error::err(format_args!("cannot write {}", path.display()), &e))
}

/// The positional arguments of a generator: exactly `want` of them (the
/// awk originals take theirs as operands; anything like an option, `-h` and
/// `--help` among them, gets the usage).
fn args(
    prog: &str,
    operands: &str,
    about: &str,
    args: Vec<OsString>,
    want: usize,
) -> Result<Vec<PathBuf>> {
    let usage = format!("usage: {prog} {operands}\n");
    let args = cli::operands(args, &format!("{prog}: {about}"), &usage)?;
    if args.len() != want {
        return Err(cli::usage(&usage));
    }
    Ok(args.into_iter().map(PathBuf::from).collect())
}

/// `create-report <metadir>`: presolve + pbuild -> meta/report.
pub fn create_report_main(a: Vec<OsString>) -> Result<i32> {
    let meta = &args(
        "create-report",
        "<metadir>",
        "merge presolve and pbuild into <metadir>/report",
        a,
        1,
    )?[0];
    create::run(meta)?;
    Ok(0)
}

/// `create-report-txt <metadir>`: meta/report + status -> meta/report.txt.
pub fn create_report_txt_main(a: Vec<OsString>) -> Result<i32> {
    let meta = &args(
        "create-report-txt",
        "<metadir>",
        "write the text report <metadir>/report.txt",
        a,
        1,
    )?[0];
    txt::run(meta)?;
    Ok(0)
}

/// `create-report-html <metadir> <logdir>`: meta/report.html (and the
/// timeline page beside it).
pub fn create_report_html_main(a: Vec<OsString>) -> Result<i32> {
    let p = args(
        "create-report-html",
        "<metadir> <logdir>",
        "write <metadir>/report.html and report-timeline.html",
        a,
        2,
    )?;
    let (meta, logdir) = (&p[0], &p[1]);
    let buf = parse::read_report(meta)?;
    let r = parse::Report::parse(&buf);
    let status = parse::Status::read(&meta.join("status"));
    let spans = timeline::read_spans(meta);
    write_file(
        &meta.join("report.html"),
        &html::render(&r, &status, logdir, !spans.is_empty()),
    )?;
    let history = if spans.is_empty() {
        timeline::history_durations(&r, logdir)
    } else {
        Vec::new()
    };
    let page = timeline::render(&r, &status, logdir, &spans, &history);
    write_file(&meta.join("report-timeline.html"), &page)?;

    Ok(0)
}

/// `create-broken-graph <metadir>`: meta/report.dot.
pub fn create_broken_graph_main(a: Vec<OsString>) -> Result<i32> {
    let meta = &args(
        "create-broken-graph",
        "<metadir>",
        "write the graph of broken packages <metadir>/report.dot",
        a,
        1,
    )?[0];
    dot::run(meta)?;
    Ok(0)
}

/// `compute-packages <metadir>`: the rsync include list of uploadable
/// packages on stdout.
pub fn compute_packages_main(a: Vec<OsString>) -> Result<i32> {
    let meta = &args(
        "compute-packages",
        "<metadir>",
        "print the rsync include rules of the packages to upload",
        a,
        1,
    )?[0];
    let out = packages::run(meta)?;
    use std::io::Write;
    let mut so = std::io::stdout().lock();
    so.write_all(&out)
        .and_then(|_| so.flush())
        .map_err(|e| Error::err("cannot write to stdout", &e))?;
    Ok(0)
}
