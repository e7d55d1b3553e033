//! Writing the scan result: every job's records in job order, each with
//! `PKG_LOCATION=` inserted as its second line, the first record of a
//! PKGNAME winning over later duplicates.
//!
//! Unlike the original (which truncates the output and writes at the end),
//! records go to a temporary file beside the output as soon as every job
//! before them is done, and the file replaces the output only when the whole
//! scan is complete: an interrupted scan leaves the previous file untouched,
//! and finished outputs do not pile up in memory. Warnings are kept and
//! printed at the end, after the final progress line, where the original
//! prints them.

use std::collections::HashSet;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use super::jobs::{JobQueue, State, FIND_FULL_TREE};
use crate::cli::{Error, Result};
use crate::fsutil;
use crate::record;

pub struct Writer {
    path: PathBuf,
    tmp: tempfile::NamedTempFile,
    out: BufWriter<std::fs::File>,
    seen: HashSet<Vec<u8>>,
    warnings: Vec<String>,
    next: usize,
}

fn write_failed(e: &std::io::Error) -> Error {
    Error::err("writev failed", e)
}

impl Writer {
    pub fn create(path: &Path) -> Result<Writer> {
        let tmp = fsutil::temp_beside(path).map_err(|e| {
            Error::err(
                format_args!("Cannot create output file {}", path.display()),
                &e,
            )
        })?;
        let file = tmp
            .reopen()
            .map_err(|e| Error::err("Cannot reopen the temporary output", &e))?;
        Ok(Writer {
            path: path.to_path_buf(),
            tmp,
            out: BufWriter::with_capacity(1 << 16, file),
            seen: HashSet::new(),
            warnings: Vec::new(),
            next: 0,
        })
    }

    /// Write every finished job at the head of the list not yet written.
    pub fn write_ready(&mut self, q: &mut JobQueue) -> Result<()> {
        while self.next < q.len() && q.job(self.next).state == State::Done {
            self.write_job(q, self.next)?;
            self.next += 1;
        }
        Ok(())
    }

    fn write_job(&mut self, q: &mut JobQueue, i: usize) -> Result<()> {
        let loc = q.job(i).location.clone();
        if q.job(i).state != State::Done {
            self.warn(format_args!("{} was not processed", show(&loc)));
            return Ok(());
        }
        if loc.as_slice() == FIND_FULL_TREE {
            return Ok(());
        }
        match q.take_output(i) {
            None => self.warn(format_args!("Scan failed for {}", show(&loc))),
            Some(text) => self.write_records(&loc, &text)?,
        }
        Ok(())
    }

    fn write_records(&mut self, loc: &[u8], text: &[u8]) -> Result<()> {
        let mut pos = 0;
        while pos < text.len() {
            let Some(name) = record::pkgname_of(&text[pos..], 2) else {
                self.warn(format_args!(
                    "pbulk-index output not recognized for {}",
                    show(loc)
                ));
                break;
            };
            let duplicate = self.seen.contains(name);
            if duplicate {
                self.warn(format_args!("Duplicate package: {}", show(name)));
            }
            let name = name.to_vec();
            let Some(end) = record::record_end(text, pos) else {
                self.warn(format_args!(
                    "pbulk-index output not recognized for {}",
                    show(loc)
                ));
                break;
            };
            if !duplicate {
                let first = pos + memchr::memchr(b'\n', &text[pos..end]).expect("record line") + 1;
                let w = &mut self.out;
                w.write_all(&text[pos..first])
                    .and_then(|_| w.write_all(b"PKG_LOCATION="))
                    .and_then(|_| w.write_all(loc))
                    .and_then(|_| w.write_all(b"\n"))
                    .and_then(|_| w.write_all(&text[first..end]))
                    .map_err(|e| write_failed(&e))?;
                self.seen.insert(name);
            }
            pos = end;
        }
        Ok(())
    }

    fn warn(&mut self, msg: std::fmt::Arguments<'_>) {
        self.warnings.push(format!("pbulk-scan: {msg}\n"));
    }

    /// Write the rest (jobs never done are reported), put the file in
    /// place, then print the warnings. `keep` decides at the last moment
    /// whether the result may replace the output (a stop signal says no).
    pub fn finish(mut self, q: &mut JobQueue, keep: impl FnOnce() -> bool) -> Result<bool> {
        while self.next < q.len() {
            self.write_job(q, self.next)?;
            self.next += 1;
        }
        self.out.flush().map_err(|e| write_failed(&e))?;
        drop(self.out);
        if !keep() {
            return Ok(false);
        }
        fsutil::commit_temp(self.tmp, &self.path)
            .map_err(|e| Error::err(format_args!("Cannot replace {}", self.path.display()), &e))?;
        let mut err = std::io::stderr().lock();
        for w in &self.warnings {
            let _ = err.write_all(w.as_bytes());
        }
        Ok(true)
    }
}

fn show(bytes: &[u8]) -> std::borrow::Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}
