//! pbulk-resolve: turn the ALL_DEPENDS patterns of a scan into concrete
//! `DEPENDS=` lines (pbulk 0.76 semantics).
//!
//! Records of the first input are active, those of further inputs only
//! once some active record depends on them. Every active record without a
//! `DEPENDS=` line gets the best match of each of its patterns. A pattern
//! nothing matches is reported; by default the package is then marked
//! failed in its `PKG_FAIL_REASON=` line and the run succeeds, with `-s`
//! the run fails and writes nothing, with `-i` the location goes to the
//! missing file and the record stays unresolved.

mod depends;
mod load;
mod matcher;
mod output;

use std::ffi::OsString;
use std::fs::File;
use std::io::{self, BufWriter, Write};
use std::path::PathBuf;

use crate::cli::{self, Error, Result};
use crate::pattern::{MatchError, Pattern};
use depends::{Step, Tokens};
use load::Scan;
use matcher::{Index, Memo};

const PROG: &str = "pbulk-resolve";

/// The usage line. The 0.76 sources were not readable; this is the
/// reference's 2007 line with the option list of the 0.76 manual page
/// (`[-sv]` in place of the fork's `[-pv]`).
pub const USAGE: &str = "usage: pbulk-resolve [ -sv ] [ -i <missing> ] <pscan output> [ ... ]\n";

const HELP: &str =
    "pbulk-resolve: resolve the dependency patterns of pbulk-scan output into DEPENDS lines\n";

/// Command-line settings.
#[derive(Debug)]
pub struct Options {
    pub strict: bool,
    pub verbosity: u32,
    /// The `-i` file, opened (truncated) while the options were read.
    pub missing: Option<File>,
    pub inputs: Vec<PathBuf>,
}

fn usage() -> Error {
    Error::stderr(1, USAGE)
}

/// Read the options like getopt("i:sv"): flags may be clustered, the
/// first operand ends the options, `-i` opens its file at once.
pub fn parse_args(args: Vec<OsString>) -> Result<Options> {
    use lexopt::Arg::{Short, Value};
    let mut opts = Options {
        strict: false,
        verbosity: 0,
        missing: None,
        inputs: Vec::new(),
    };
    let mut p = lexopt::Parser::from_args(args);
    while let Some(arg) = p.next().map_err(|_| usage())? {
        match arg {
            Short('i') => {
                let path = p.value().map_err(|_| usage())?;
                // Close the earlier file first, as the reference does.
                opts.missing = None;
                let f =
                    File::create(&path).map_err(|e| Error::err("Cannot open output file", &e))?;
                opts.missing = Some(f);
            }
            Short('s') => opts.strict = true,
            Short('v') => opts.verbosity += 1,
            Value(v) => {
                opts.inputs.push(v.into());
                opts.inputs
                    .extend(p.raw_args().map_err(|_| usage())?.map(PathBuf::from));
            }
            _ => return Err(usage()),
        }
    }
    if opts.inputs.is_empty() {
        return Err(usage());
    }
    Ok(opts)
}

/// The program: `pbulk-resolve [-sv] [-i missing] input ...`.
pub fn main(args: Vec<OsString>) -> Result<i32> {
    if cli::wants_help(&args) {
        return Err(cli::help(HELP, USAGE));
    }
    let opts = parse_args(args)?;
    let stdout = io::stdout();
    run(opts, &mut stdout.lock(), &mut io::stderr().lock())
}

/// Resolve the inputs of `opts`, writing the result to `out` and the
/// warnings to `err`; the exit status.
pub fn run(opts: Options, out: &mut dyn Write, err: &mut dyn Write) -> Result<i32> {
    let mut scan = Scan::default();
    for path in &opts.inputs {
        scan.load(path)?;
    }
    let mut r = Resolver::new(&scan, &opts, err);
    let outcome = r.resolve_all();
    let flushed = r.flush();
    let res = outcome?;
    flushed?;
    if !res.ok {
        return Ok(1);
    }
    output::write(&scan, &res, out)?;
    Ok(0)
}

/// What resolution decided for every record.
pub struct Resolution {
    /// Whether output is written (no strict failure, no malformed token).
    pub ok: bool,
    pub active: Vec<bool>,
    /// The chosen packages of each record (flat, see `depends_at`).
    pub depends: Vec<u32>,
    pub depends_at: Vec<(u32, u32)>,
    /// The first unresolvable pattern of a record marked failed.
    pub marks: Vec<Option<Box<[u8]>>>,
}

struct Resolver<'a> {
    scan: &'a Scan,
    opts: &'a Options,
    index: Index<'a>,
    memo: Memo,
    err: BufWriter<&'a mut dyn Write>,
    missing: Option<BufWriter<&'a File>>,
    res: Resolution,
}

fn fatal(e: MatchError) -> Error {
    Error::errx(e.message())
}

impl<'a> Resolver<'a> {
    fn new(scan: &'a Scan, opts: &'a Options, err: &'a mut dyn Write) -> Self {
        let n = scan.recs.len();
        Resolver {
            scan,
            opts,
            index: Index::new(scan),
            memo: Memo::default(),
            err: BufWriter::with_capacity(1 << 16, err),
            missing: opts.missing.as_ref().map(BufWriter::new),
            res: Resolution {
                ok: true,
                active: scan.recs.iter().map(|r| r.active).collect(),
                depends: Vec::new(),
                depends_at: vec![(0, 0); n],
                marks: vec![None; n],
            },
        }
    }

    fn flush(&mut self) -> Result<()> {
        let _ = self.err.flush();
        if let Some(m) = self.missing.as_mut() {
            m.flush()
                .map_err(|e| Error::err("Cannot write missing file", &e))?;
        }
        Ok(())
    }

    /// One `pbulk-resolve: ...` line on stderr.
    fn warn(&mut self, parts: &[&[u8]]) {
        let mut line = Vec::with_capacity(128);
        line.extend_from_slice(PROG.as_bytes());
        line.extend_from_slice(b": ");
        for p in parts {
            line.extend_from_slice(p);
        }
        line.push(b'\n');
        let _ = self.err.write_all(&line);
    }

    fn resolve_all(&mut self) -> Result<Resolution> {
        let mut chosen = Vec::new();
        for i in 0..self.scan.recs.len() {
            self.resolve(i, &mut chosen)?;
        }
        Ok(std::mem::replace(
            &mut self.res,
            Resolution {
                ok: true,
                active: vec![],
                depends: vec![],
                depends_at: vec![],
                marks: vec![],
            },
        ))
    }

    fn resolve(&mut self, i: usize, chosen: &mut Vec<u32>) -> Result<()> {
        let scan = self.scan;
        let rec = &scan.recs[i];
        if !self.res.active[i] || rec.has_depends {
            return Ok(());
        }
        let name = scan.name(i);
        let Some(deps) = &rec.deps else {
            return Err(Error::errx(format!(
                "No ALL_DEPENDS line for {}",
                String::from_utf8_lossy(name)
            )));
        };
        chosen.clear();
        let mut unresolved: Option<Box<[u8]>> = None;
        let mut rest: Option<Vec<u8>> = None;
        let mut tokens = Tokens::default();
        let line = scan.text(deps);
        loop {
            let buf = rest.as_deref().unwrap_or(line);
            let (pat, loc) = match tokens.next(buf, rest.is_some()) {
                Step::End => break,
                Step::NeedMore => {
                    rest = Some(load::rest_of_file(&scan.inputs[rec.input], rec.deps_off)?);
                    continue;
                }
                Step::Malformed => {
                    self.warn(&[b"Incorrect dependency for ", name, b", skipping"]);
                    self.res.ok = false;
                    return Ok(());
                }
                Step::Dep { pattern, location } => (pattern, location),
            };
            let (pattern, location) = (&buf[pat], &buf[loc]);
            let mut satisfied = None;
            crate::pattern::check_alternates(pattern).map_err(|e| {
                Error::errx(format!(
                    "{} in the dependencies of {}; refused",
                    e.message(),
                    String::from_utf8_lossy(name)
                ))
            })?;
            let pat = Pattern::new(pattern);
            for &c in chosen.iter() {
                if pat.matches_plain(scan.name(c as usize)).map_err(fatal)? {
                    satisfied = Some(c);
                    break;
                }
            }
            if let Some(c) = satisfied {
                self.check_location(c, location, pattern, name);
                continue;
            }
            match self.find_match(name, pattern, location)? {
                Some(best) => {
                    chosen.push(best);
                    self.res.active[best as usize] = true;
                }
                None => {
                    unresolved.get_or_insert_with(|| pattern.into());
                }
            }
        }
        if let Some(u) = unresolved {
            // Incremental mode leaves the record unresolved and unmarked.
            if self.opts.missing.is_none() {
                if self.opts.strict {
                    self.res.ok = false;
                } else {
                    self.res.marks[i] = Some(u);
                }
            }
            return Ok(());
        }
        if !chosen.is_empty() {
            let start = self.res.depends.len() as u32;
            self.res.depends.extend_from_slice(chosen);
            self.res.depends_at[i] = (start, chosen.len() as u32);
        }
        Ok(())
    }

    /// The location warning of `-v` (not in incremental mode).
    fn check_location(&mut self, best: u32, location: &[u8], pattern: &[u8], of: &[u8]) {
        if self.opts.verbosity < 1 || self.opts.missing.is_some() {
            return;
        }
        let scan = self.scan;
        if scan.loc(best as usize) != location {
            self.warn(&[
                b"Best matching ",
                scan.name(best as usize),
                b" differs from location ",
                location,
                b" for dependency ",
                pattern,
                b" of package ",
                of,
            ]);
        }
    }

    fn find_match(&mut self, of: &[u8], pattern: &[u8], location: &[u8]) -> Result<Option<u32>> {
        let scan = self.scan;
        let best = if self.opts.verbosity >= 2 {
            let found = matcher::matches_in_order(scan, &self.index, pattern).map_err(fatal)?;
            let mut logged = Vec::new();
            let best = matcher::best_of(scan, &found, |b| logged.push(b)).map_err(fatal)?;
            for b in logged {
                self.warn(&[
                    b"Multiple matches for dependency ",
                    pattern,
                    b" of package ",
                    of,
                    b": ",
                    scan.name(b as usize),
                ]);
            }
            best
        } else if let Some(&best) = self.memo.get(pattern) {
            best
        } else {
            let found = matcher::matches_in_order(scan, &self.index, pattern).map_err(fatal)?;
            let best = matcher::best_of(scan, &found, |_| {}).map_err(fatal)?;
            self.memo.insert(pattern.into(), best);
            best
        };
        match best {
            None => {
                if let Some(m) = self.missing.as_mut() {
                    let mut line = location.to_vec();
                    line.push(b'\n');
                    m.write_all(&line)
                        .map_err(|e| Error::err("Cannot write missing file", &e))?;
                } else {
                    self.warn(&[
                        b"No match found for dependency ",
                        pattern,
                        b" of package ",
                        of,
                    ]);
                }
            }
            Some(b) => self.check_location(b, location, pattern, of),
        }
        Ok(best)
    }
}
