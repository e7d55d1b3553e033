//! Whole-graph computations done once at start-up: the topological order,
//! the reference priority (`pkg_depth`), the reference's cycle report and
//! the duration-weighted critical path.
//!
//! The reference walks the dependents of every package separately, which
//! is quadratic (minutes on a full tree). Here the sets of transitive
//! dependents are computed as bitsets over a topological order, one block
//! of target packages at a time so memory stays bounded; the result is the
//! same number for every package.

use super::jobs::Adjacency;

/// Target packages per block: rows of `BLOCK / 64` words per package.
const BLOCK: usize = 4096;
const WORDS: usize = BLOCK / 64;

/// A topological order over the dependents graph (every package before the
/// packages that depend on it), or `None` if there is a cycle.
pub fn topo_order(dependents: &Adjacency, open_depends: &[u32]) -> Option<Vec<u32>> {
    let n = dependents.len();
    let mut indeg = open_depends.to_vec();
    let mut order: Vec<u32> = (0..n as u32).filter(|&j| indeg[j as usize] == 0).collect();
    let mut head = 0;
    while head < order.len() {
        let j = order[head];
        head += 1;
        for &d in dependents.of(j) {
            indeg[d as usize] -= 1;
            if indeg[d as usize] == 0 {
                order.push(d);
            }
        }
    }
    (order.len() == n).then_some(order)
}

/// `pkg_depth` of every job: the size of { J } ∪ its transitive dependents,
/// or with weights, the sum of their weights. `order` must be a topological
/// order of `dependents`.
pub fn depths(dependents: &Adjacency, order: &[u32], weights: Option<&[u64]>) -> Vec<u64> {
    let n = order.len();
    let mut pos = vec![0u32; n];
    for (p, &j) in order.iter().enumerate() {
        pos[j as usize] = p as u32;
    }
    let mut depth = vec![0u64; n];
    let mut rows = vec![0u64; n * WORDS];
    let mut block_start = 0;
    while block_start < n {
        let block_end = (block_start + BLOCK).min(n);
        // A package's dependents all come later in the order, so only
        // positions before the block's end can reach into it.
        rows[..block_end * WORDS].fill(0);
        for p in (0..block_end).rev() {
            let (done, rest) = rows.split_at_mut((p + 1) * WORDS);
            let row = &mut done[p * WORDS..];
            if p >= block_start {
                let bit = p - block_start;
                row[bit / 64] |= 1 << (bit % 64);
            }
            let j = order[p];
            for &d in dependents.of(j) {
                let dp = pos[d as usize] as usize;
                if dp >= block_end {
                    continue;
                }
                let src = &rest[(dp - p - 1) * WORDS..(dp - p) * WORDS];
                for (a, b) in row.iter_mut().zip(src) {
                    *a |= b;
                }
            }
            depth[j as usize] += match weights {
                None => row.iter().map(|w| u64::from(w.count_ones())).sum::<u64>(),
                Some(wt) => weighted(row, block_start, order, wt),
            };
        }
        block_start = block_end;
    }
    depth
}

fn weighted(row: &[u64], block_start: usize, order: &[u32], wt: &[u64]) -> u64 {
    let mut sum = 0;
    for (i, &word) in row.iter().enumerate() {
        let mut w = word;
        while w != 0 {
            let bit = w.trailing_zeros() as usize;
            w &= w - 1;
            sum += wt[order[block_start + i * 64 + bit] as usize];
        }
    }
    sum
}

/// The reference's message for a dependency cycle: it walks the dependents
/// of each package in input order and stops at the first package whose walk
/// comes back to it, printing that package and then every frame of the walk
/// from the innermost out (the root last).
pub fn cycle_report(dependents: &Adjacency, names: impl Fn(u32) -> String) -> String {
    let on_cycle = on_cycle(dependents);
    let Some(root) = (0..dependents.len() as u32).find(|&j| on_cycle[j as usize]) else {
        return String::new();
    };
    let mut visited = vec![false; dependents.len()];
    visited[root as usize] = true;
    // Explicit stack of (job, next dependent to look at).
    let mut stack: Vec<(u32, usize)> = vec![(root, 0)];
    while let Some(&mut (j, ref mut next)) = stack.last_mut() {
        let Some(&d) = dependents.of(j).get(*next) else {
            stack.pop();
            continue;
        };
        *next += 1;
        if d == root {
            let mut out = format!("Cyclic dependency for package:\n{}\n", names(root));
            for &(f, _) in stack.iter().rev() {
                out.push_str(&names(f));
                out.push('\n');
            }
            return out;
        }
        if !visited[d as usize] {
            visited[d as usize] = true;
            stack.push((d, 0));
        }
    }
    String::new()
}

/// Which jobs lie on a cycle (a strongly connected component of more than
/// one job, or a job depending on itself): Tarjan's algorithm, iterative.
fn on_cycle(g: &Adjacency) -> Vec<bool> {
    const NONE: u32 = u32::MAX;
    let n = g.len();
    let mut index = vec![NONE; n];
    let mut low = vec![0u32; n];
    let mut on_stack = vec![false; n];
    let mut stack = Vec::new();
    let mut result = vec![false; n];
    let mut counter = 0u32;
    for s in 0..n as u32 {
        if index[s as usize] != NONE {
            continue;
        }
        let mut call: Vec<(u32, usize)> = vec![(s, 0)];
        index[s as usize] = counter;
        low[s as usize] = counter;
        counter += 1;
        stack.push(s);
        on_stack[s as usize] = true;
        while let Some(&mut (v, ref mut next)) = call.last_mut() {
            let vi = v as usize;
            if let Some(&w) = g.of(v).get(*next) {
                *next += 1;
                let wi = w as usize;
                if w == v {
                    result[vi] = true;
                }
                if index[wi] == NONE {
                    index[wi] = counter;
                    low[wi] = counter;
                    counter += 1;
                    stack.push(w);
                    on_stack[wi] = true;
                    call.push((w, 0));
                } else if on_stack[wi] {
                    low[vi] = low[vi].min(index[wi]);
                }
                continue;
            }
            call.pop();
            if let Some(&(u, _)) = call.last() {
                low[u as usize] = low[u as usize].min(low[vi]);
            }
            if low[vi] == index[vi] {
                let mut members = Vec::new();
                loop {
                    let w = stack.pop().expect("Tarjan stack holds the component");
                    on_stack[w as usize] = false;
                    members.push(w);
                    if w == v {
                        break;
                    }
                }
                if members.len() > 1 {
                    for w in members {
                        result[w as usize] = true;
                    }
                }
            }
        }
    }
    result
}

/// The duration-weighted critical path of every job: its own duration plus
/// the longest such path through its dependents (to any leaf of the tree).
pub fn critical_path(dependents: &Adjacency, order: &[u32], duration: &[u64]) -> Vec<u64> {
    let mut cp = vec![0u64; order.len()];
    for &j in order.iter().rev() {
        let tail = dependents
            .of(j)
            .iter()
            .map(|&d| cp[d as usize])
            .max()
            .unwrap_or(0);
        cp[j as usize] = duration[j as usize] + tail;
    }
    cp
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reference's walk, for comparison.
    fn naive_depth(g: &Adjacency, j: u32) -> u64 {
        let mut seen = vec![false; g.len()];
        let mut todo = vec![j];
        let mut count = 0;
        while let Some(x) = todo.pop() {
            if !std::mem::replace(&mut seen[x as usize], true) {
                count += 1;
                todo.extend_from_slice(g.of(x));
            }
        }
        count
    }

    fn random_dag(n: usize, edges: usize, seed: u64) -> (Adjacency, Vec<u32>) {
        let mut s = seed;
        let mut next = move || {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            s
        };
        let mut list = Vec::new();
        let mut indeg = vec![0u32; n];
        for _ in 0..edges {
            let a = (next() % n as u64) as u32;
            let b = (next() % n as u64) as u32;
            if a != b {
                let (from, to) = (a.min(b), a.max(b));
                list.push((from, to));
                indeg[to as usize] += 1;
            }
        }
        (Adjacency::from_edges_reversed(n, &list), indeg)
    }

    #[test]
    fn bitset_depths_equal_the_reference_walk_across_blocks() {
        let (g, indeg) = random_dag(9000, 30000, 7);
        let order = topo_order(&g, &indeg).unwrap();
        let d = depths(&g, &order, None);
        for j in (0..9000).step_by(37) {
            assert_eq!(d[j as usize], naive_depth(&g, j), "job {j}");
        }
        let w: Vec<u64> = (0..9000).map(|i| 100 + i % 3).collect();
        let dw = depths(&g, &order, Some(&w));
        let ones = vec![1u64; 9000];
        assert_eq!(depths(&g, &order, Some(&ones)), d);
        assert!(dw.iter().zip(&d).all(|(a, b)| a >= &(b * 100)));
    }

    #[test]
    fn cycle_is_reported_from_the_first_job_on_it() {
        // 0 -> 1 -> 2 -> 1 (jobs 1 and 2 form the cycle; 0 only feeds it).
        let g = Adjacency::from_edges_reversed(3, &[(0, 1), (1, 2), (2, 1)]);
        assert!(topo_order(&g, &[0, 2, 1]).is_none());
        let names = |j: u32| format!("p{j}");
        assert_eq!(
            cycle_report(&g, names),
            "Cyclic dependency for package:\np1\np2\np1\n"
        );
        let self_loop = Adjacency::from_edges_reversed(2, &[(1, 1)]);
        assert_eq!(
            cycle_report(&self_loop, names),
            "Cyclic dependency for package:\np1\np1\n"
        );
    }

    #[test]
    fn critical_path_sums_the_longest_chain() {
        // 0 -> 1 -> 3, 0 -> 2 -> 3
        let g = Adjacency::from_edges_reversed(4, &[(0, 1), (0, 2), (1, 3), (2, 3)]);
        let order = topo_order(&g, &[0, 1, 1, 2]).unwrap();
        assert_eq!(
            critical_path(&g, &order, &[1, 10, 5, 2]),
            vec![13, 12, 7, 2]
        );
    }
}
