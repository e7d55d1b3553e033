//! The job state machine and the ready list, independent of how builds are
//! run (local slots here; a TCP master drives the same calls: `next_job`,
//! `finish`, `requeue`, `counts`).

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use super::jobs::Adjacency;

/// A job's state; the report names are the reference's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    Init,
    Open,
    InProcessing,
    Failed,
    Prefailed,
    IndirectFailed,
    IndirectPrefailed,
    Done,
}

impl State {
    pub const ALL: [State; 8] = [
        State::Init,
        State::Open,
        State::InProcessing,
        State::Failed,
        State::Prefailed,
        State::IndirectFailed,
        State::IndirectPrefailed,
        State::Done,
    ];

    pub fn report_name(self) -> &'static str {
        match self {
            State::Init => "init",
            State::Open => "open",
            State::InProcessing => "in_processing",
            State::Failed => "failed",
            State::Prefailed => "prefailed",
            State::IndirectFailed => "indirect-failed",
            State::IndirectPrefailed => "indirect-prefailed",
            State::Done => "done",
        }
    }

    fn slot(self) -> usize {
        self as usize
    }
}

/// The order of the ready list: highest key first, equal keys first in,
/// first out. The reference key is `(pkg_depth, 0)`; ours with several
/// slots is `(critical path, pkg_depth)`.
pub type Key = (u64, u64);

/// The reference's ready-list order: `pkg_depth` alone.
pub fn reference_keys(depth: &[u64]) -> Vec<Key> {
    depth.iter().map(|&d| (d, 0)).collect()
}

/// Our order for several slots: the critical path in milliseconds (own
/// duration plus the longest chain of dependents after it), then the
/// reference depth. A package without a known duration counts as the mean
/// of the known ones; with no history at all every path is 0 and the order
/// is the reference's.
pub fn critical_path_keys(
    dependents: &Adjacency,
    order: &[u32],
    depth: &[u64],
    known: &[Option<u64>],
) -> Vec<Key> {
    let (sum, n) = known
        .iter()
        .flatten()
        .fold((0u64, 0u64), |(s, n), &d| (s + d, n + 1));
    let mean = sum.checked_div(n).unwrap_or(0);
    let dur: Vec<u64> = known.iter().map(|d| d.unwrap_or(mean)).collect();
    let cp = super::graph::critical_path(dependents, order, &dur);
    cp.into_iter().zip(depth.iter().copied()).collect()
}

pub struct Scheduler {
    state: Vec<State>,
    open_depends: Vec<u32>,
    dependents: Adjacency,
    key: Vec<Key>,
    ready: BinaryHeap<(Key, Reverse<u64>, u32)>,
    seq: u64,
    counts: [usize; 8],
}

impl Scheduler {
    /// All jobs start in `Init`, as during the reference's loading.
    pub fn new(dependents: Adjacency, open_depends: Vec<u32>, key: Vec<Key>) -> Self {
        let n = key.len();
        let mut counts = [0; 8];
        counts[State::Init.slot()] = n;
        Scheduler {
            state: vec![State::Init; n],
            open_depends,
            dependents,
            key,
            ready: BinaryHeap::new(),
            seq: 0,
            counts,
        }
    }

    pub fn len(&self) -> usize {
        self.state.len()
    }

    pub fn is_empty(&self) -> bool {
        self.state.is_empty()
    }

    pub fn state(&self, job: u32) -> State {
        self.state[job as usize]
    }

    /// How many jobs are in each state, indexed like [`State::ALL`].
    pub fn count(&self, s: State) -> usize {
        self.counts[s.slot()]
    }

    /// The reference's progress numerator: jobs not waiting in `Open`.
    pub fn progress(&self) -> usize {
        self.len() - self.count(State::Open)
    }

    /// A package the scan marked as not to be built.
    pub fn prefail(&mut self, job: u32) {
        self.enter(job, State::Prefailed);
    }

    /// A line of the success log read at start-up. A package already done
    /// is not counted again: the reference would release its dependents a
    /// second time and build them before their other dependencies.
    pub fn replay_done(&mut self, job: u32) {
        if self.state(job) != State::Done {
            self.enter(job, State::Done);
        }
    }

    /// A line of the error log read at start-up.
    pub fn replay_failed(&mut self, job: u32) {
        self.enter(job, State::Failed);
    }

    /// End of loading: every job still `Init` becomes `Open`, in input order.
    pub fn open_remaining(&mut self) {
        for j in 0..self.len() as u32 {
            if self.state(j) == State::Init {
                self.enter(j, State::Open);
            }
        }
    }

    pub fn has_job(&self) -> bool {
        !self.ready.is_empty()
    }

    /// Nothing is ready and nothing is being built: what is still open
    /// waits for a dependency that will never be done.
    pub fn idle(&mut self) -> bool {
        while let Some(&(_, _, job)) = self.ready.peek() {
            if self.state(job) == State::Open && self.open_depends[job as usize] == 0 {
                return false;
            }
            self.ready.pop();
        }
        self.count(State::InProcessing) == 0
    }

    /// The next job to build, now `InProcessing`.
    pub fn next_job(&mut self) -> Option<u32> {
        while let Some((_, _, job)) = self.ready.pop() {
            // Entries whose job left `Open` meanwhile are stale.
            if self.state(job) == State::Open && self.open_depends[job as usize] == 0 {
                self.enter(job, State::InProcessing);
                return Some(job);
            }
        }
        None
    }

    /// The result of a build.
    pub fn finish(&mut self, job: u32, ok: bool) {
        self.enter(job, if ok { State::Done } else { State::Failed });
    }

    /// A build that was lost (client gone): back to the ready list.
    pub fn requeue(&mut self, job: u32) {
        self.enter(job, State::Open);
    }

    fn set(&mut self, job: u32, s: State) {
        let old = std::mem::replace(&mut self.state[job as usize], s);
        self.counts[old.slot()] -= 1;
        self.counts[s.slot()] += 1;
    }

    fn push_ready(&mut self, job: u32) {
        self.seq += 1;
        self.ready
            .push((self.key[job as usize], Reverse(self.seq), job));
    }

    fn enter(&mut self, job: u32, s: State) {
        self.set(job, s);
        match s {
            State::Init | State::InProcessing => {}
            State::Open => {
                if self.open_depends[job as usize] == 0 {
                    self.push_ready(job);
                }
            }
            State::Done => {
                for i in 0..self.dependents.of(job).len() {
                    let d = self.dependents.of(job)[i];
                    let od = &mut self.open_depends[d as usize];
                    *od = od.saturating_sub(1);
                    if *od == 0 && self.state(d) == State::Open {
                        self.push_ready(d);
                    }
                }
            }
            State::Failed | State::IndirectFailed => self.mark_broken(job, State::IndirectFailed),
            State::Prefailed | State::IndirectPrefailed => {
                self.mark_broken(job, State::IndirectPrefailed)
            }
        }
    }

    /// Propagate a failure to every dependent still waiting; dependents in
    /// any other state keep the reason that reached them first.
    fn mark_broken(&mut self, job: u32, s: State) {
        let mut todo = vec![job];
        while let Some(j) = todo.pop() {
            for i in 0..self.dependents.of(j).len() {
                let d = self.dependents.of(j)[i];
                if matches!(self.state(d), State::Open | State::Init) {
                    self.set(d, s);
                    todo.push(d);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// base <- mid <- top, base <- side; keys = reference depths.
    fn sched() -> Scheduler {
        let g = Adjacency::from_edges_reversed(4, &[(0, 1), (1, 2), (0, 3)]);
        Scheduler::new(g, vec![0, 1, 1, 1], vec![(4, 0), (2, 0), (1, 0), (1, 0)])
    }

    #[test]
    fn builds_in_dependency_order_with_fifo_ties() {
        let mut s = sched();
        s.open_remaining();
        assert_eq!(s.progress(), 0);
        assert_eq!(s.next_job(), Some(0));
        assert_eq!(s.next_job(), None);
        s.finish(0, true);
        assert_eq!(s.next_job(), Some(1));
        s.finish(1, true);
        // 3 became ready before 2 (dependents order), both depth 1: FIFO.
        assert_eq!(s.next_job(), Some(3));
        assert_eq!(s.next_job(), Some(2));
        assert_eq!(s.count(State::InProcessing), 2);
        s.requeue(2);
        assert_eq!(s.next_job(), Some(2));
    }

    #[test]
    fn failures_propagate_and_first_reason_sticks() {
        let mut s = sched();
        s.prefail(1);
        s.replay_failed(0);
        s.open_remaining();
        assert_eq!(s.state(2), State::IndirectPrefailed);
        assert_eq!(s.state(3), State::IndirectFailed);
        assert!(!s.has_job());
        assert_eq!(s.count(State::IndirectPrefailed), 1);
    }

    #[test]
    fn replayed_success_twice_releases_dependents_once() {
        let g = Adjacency::from_edges_reversed(3, &[(0, 2), (1, 2)]);
        let mut s = Scheduler::new(g, vec![0, 0, 2], vec![(2, 0), (2, 0), (1, 0)]);
        s.replay_done(0);
        s.replay_done(0);
        s.open_remaining();
        assert_eq!(s.next_job(), Some(1));
        assert_eq!(s.next_job(), None);
    }
}
