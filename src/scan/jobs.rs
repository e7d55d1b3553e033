//! The scan job list: one job per location, handed out in list order,
//! finished in any order, written in list order.
//!
//! The model is the one a TCP master needs as well as the local runner:
//! `claim` hands out the lowest open job (completing jobs an old scan can
//! answer on the way), `finish` records a result, `requeue` gives a job back
//! when whoever ran it vanished, and the `find_full_tree` pseudo job turns
//! its result (one location per line) into new jobs.

use std::io::Write;

use super::oldscan::OldScan;
use std::path::PathBuf;

/// The location string of the pseudo job that asks a client to enumerate
/// the whole tree.
pub const FIND_FULL_TREE: &[u8] = b"find_full_tree";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Open,
    InProcessing,
    Done,
}

#[derive(Debug)]
pub struct Job {
    pub location: Vec<u8>,
    pub state: State,
    /// The make output (or reused text); `None` when the scan failed.
    pub output: Option<Vec<u8>>,
}

/// The `-v` progress: a dot per finished job, every 50th with the count.
#[derive(Debug, Default)]
pub struct Progress {
    pub verbose: bool,
}

impl Progress {
    fn job_done(&self, done: usize, total: usize) {
        if !self.verbose {
            return;
        }
        let mut out = std::io::stdout().lock();
        let _ = if done % 50 != 0 {
            out.write_all(b".")
        } else {
            writeln!(out, ". {done}/{total}")
        };
        let _ = out.flush();
    }

    /// The closing count, printed unless the last dot line already said it.
    pub fn finished(&self, done: usize, total: usize) {
        if !self.verbose {
            return;
        }
        let mut out = std::io::stdout().lock();
        if done % 50 != 0 {
            let _ = writeln!(out, " {done}/{total}");
        }
        let _ = out.flush();
    }
}

pub struct JobQueue {
    jobs: Vec<Job>,
    first_undone: usize,
    done: usize,
    old: OldScan,
    pkgsrc: PathBuf,
    progress: Progress,
}

impl JobQueue {
    pub fn new(pkgsrc: PathBuf, old: OldScan, progress: Progress) -> Self {
        JobQueue {
            jobs: Vec::new(),
            first_undone: 0,
            done: 0,
            old,
            pkgsrc,
            progress,
        }
    }

    /// Append a job for `location` (copied as is, duplicates kept).
    pub fn add(&mut self, location: &[u8]) {
        self.jobs.push(Job {
            location: location.to_vec(),
            state: State::Open,
            output: None,
        });
    }

    pub fn len(&self) -> usize {
        self.jobs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.jobs.is_empty()
    }

    pub fn done(&self) -> usize {
        self.done
    }

    pub fn job(&self, i: usize) -> &Job {
        &self.jobs[i]
    }

    pub fn jobs(&self) -> &[Job] {
        &self.jobs
    }

    /// Take the finished output of job `i` (the writer frees it early).
    pub fn take_output(&mut self, i: usize) -> Option<Vec<u8>> {
        self.jobs[i].output.take()
    }

    /// The next open job that needs a real scan, now in processing. Open
    /// jobs the old scan answers are completed on the way.
    pub fn claim(&mut self) -> Option<usize> {
        let i = self.next_open_uncached()?;
        self.jobs[i].state = State::InProcessing;
        Some(i)
    }

    /// Whether an open job needing a real scan exists (completing cached
    /// ones as a side effect, like the original).
    pub fn has_job(&mut self) -> bool {
        self.next_open_uncached().is_some()
    }

    fn next_open_uncached(&mut self) -> Option<usize> {
        let mut i = self.first_undone;
        while i < self.jobs.len() {
            if self.jobs[i].state == State::Open {
                let loc = &self.jobs[i].location;
                let reused = if loc.as_slice() == FIND_FULL_TREE {
                    None
                } else {
                    self.old.reusable(&self.pkgsrc, loc)
                };
                match reused {
                    Some(text) => {
                        self.finish(i, Some(text));
                        i = self.first_undone;
                        continue;
                    }
                    None => return Some(i),
                }
            }
            i += 1;
        }
        None
    }

    /// Record the result of job `i` (`None`: the scan failed).
    pub fn finish(&mut self, i: usize, output: Option<Vec<u8>>) {
        let job = &mut self.jobs[i];
        job.state = State::Done;
        job.output = output;
        if job.location.as_slice() == FIND_FULL_TREE {
            let list = job.output.take().unwrap_or_default();
            self.add_full_tree(&list);
        }
        while self.first_undone < self.jobs.len()
            && self.jobs[self.first_undone].state == State::Done
        {
            self.first_undone += 1;
        }
        self.done += 1;
        self.progress.job_done(self.done, self.jobs.len());
    }

    /// Give job `i` back (its runner disappeared); it is handed out again.
    pub fn requeue(&mut self, i: usize) {
        if self.jobs[i].state == State::InProcessing {
            self.jobs[i].state = State::Open;
            self.first_undone = self.first_undone.min(i);
        }
    }

    /// Queue the `find_full_tree` pseudo job (master mode full scans).
    pub fn add_full_tree_job(&mut self) {
        self.add(FIND_FULL_TREE);
    }

    /// One location per line. Empty lines are skipped (the original loops
    /// forever on one).
    fn add_full_tree(&mut self, list: &[u8]) {
        for line in list.split(|&b| b == b'\n').filter(|l| !l.is_empty()) {
            self.add(line);
        }
    }

    pub fn progress(&self) -> &Progress {
        &self.progress
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn queue(locs: &[&str]) -> JobQueue {
        let mut q = JobQueue::new(
            PathBuf::from("/nonexistent"),
            OldScan::default(),
            Progress::default(),
        );
        for l in locs {
            q.add(l.as_bytes());
        }
        q
    }

    #[test]
    fn claims_in_order_and_requeues_lost_jobs() {
        let mut q = queue(&["a/x", "a/y", "b/z"]);
        assert_eq!(q.claim(), Some(0));
        assert_eq!(q.claim(), Some(1));
        q.requeue(0);
        assert_eq!(q.claim(), Some(0));
        q.finish(1, Some(b"PKGNAME=y-1\n".to_vec()));
        assert_eq!(q.claim(), Some(2));
        assert_eq!(q.claim(), None);
        assert!(!q.has_job());
        q.finish(0, None);
        q.finish(2, None);
        assert_eq!(q.done(), 3);
        assert!(q.jobs().iter().all(|j| j.state == State::Done));
    }

    #[test]
    fn full_tree_pseudo_job_adds_the_listed_locations() {
        let mut q = queue(&[]);
        q.add_full_tree_job();
        assert_eq!(q.claim(), Some(0));
        assert_eq!(q.claim(), None);
        q.finish(0, Some(b"cat/a\n\ncat/b\nwip/c/d\n".to_vec()));
        let locs: Vec<_> = q.jobs().iter().map(|j| j.location.clone()).collect();
        assert_eq!(
            locs,
            [
                b"find_full_tree".to_vec(),
                b"cat/a".to_vec(),
                b"cat/b".to_vec(),
                b"wip/c/d".to_vec()
            ]
        );
        assert_eq!(q.claim(), Some(1));
        assert_eq!(q.job(0).output, None);
    }
}
