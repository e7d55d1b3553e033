//! Emulation of one-true-awk's associative arrays, as far as their
//! iteration order goes.
//!
//! Several sections of the reference reports come out in the order in which
//! `for (k in a)` visits keys, which for one-true-awk (NetBSD's awk, the
//! one the goldens were made with) is fixed by its symbol tables: a table
//! starts with 50 buckets; a key goes to bucket `h % size` where
//! `h = c + 31 * h` over the key's bytes (as signed `char`, unsigned
//! arithmetic); a new cell is pushed on the head of its bucket's chain; when
//! the element count exceeds twice the bucket count, the table grows four
//! times, moving cells bucket by bucket, each chain from its head, onto the
//! heads of the new chains (so chains reverse); iteration walks buckets in
//! index order and each chain from its head. Only insertion order matters,
//! so a table here records keys as they are first created and replays that
//! layout.

use std::collections::HashMap;
use std::hash::Hash;

const INITIAL_SIZE: usize = 50;
const FULL_FACTOR: usize = 2;
const GROW_FACTOR: usize = 4;

/// One-true-awk's string hash of `key` for a table of `size` buckets.
pub fn hash(key: &[u8], size: usize) -> usize {
    let mut h: u32 = 0;
    for &c in key {
        // `char` is signed on the platforms the reference runs on.
        h = (c as i8 as i32 as u32).wrapping_add(h.wrapping_mul(31));
    }
    (h % size as u32) as usize
}

/// The bucket layout of one awk array: a chain per bucket, stored with its
/// head at the end of the vector.
#[derive(Debug, Clone)]
struct Buckets {
    chains: Vec<Vec<u32>>,
    len: usize,
}

impl Buckets {
    fn new() -> Self {
        Buckets {
            chains: vec![Vec::new(); INITIAL_SIZE],
            len: 0,
        }
    }

    fn push(&mut self, id: u32, key: &[u8], key_of: impl Fn(u32) -> Vec<u8>) {
        self.len += 1;
        if self.len > FULL_FACTOR * self.chains.len() {
            let size = GROW_FACTOR * self.chains.len();
            let mut grown = vec![Vec::new(); size];
            for chain in &self.chains {
                for &cell in chain.iter().rev() {
                    grown[hash(&key_of(cell), size)].push(cell);
                }
            }
            self.chains = grown;
        }
        let h = hash(key, self.chains.len());
        self.chains[h].push(id);
    }

    fn order(&self) -> impl Iterator<Item = u32> + '_ {
        self.chains.iter().flat_map(|c| c.iter().rev().copied())
    }
}

/// An awk array's keys in creation order plus the bucket layout that order
/// produces. Values live with the caller, indexed by the key's id (its
/// creation rank).
#[derive(Debug, Clone)]
pub struct AwkArray<K> {
    keys: Vec<K>,
    ids: HashMap<K, u32>,
    buckets: Buckets,
}

impl<K: AsRef<[u8]> + Hash + Eq + Clone> Default for AwkArray<K> {
    fn default() -> Self {
        Self::new()
    }
}

impl<K: AsRef<[u8]> + Hash + Eq + Clone> AwkArray<K> {
    pub fn new() -> Self {
        AwkArray {
            keys: Vec::new(),
            ids: HashMap::new(),
            buckets: Buckets::new(),
        }
    }

    /// Reference `a[key]`: create it if new. Returns its id.
    pub fn touch(&mut self, key: K) -> usize {
        if let Some(&id) = self.ids.get(&key) {
            return id as usize;
        }
        let id = self.keys.len() as u32;
        let keys = &self.keys;
        self.buckets
            .push(id, key.as_ref(), |i| keys[i as usize].as_ref().to_vec());
        self.keys.push(key.clone());
        self.ids.insert(key, id);
        id as usize
    }

    /// The id of `key` if it exists (`key in a`).
    pub fn get(&self, key: &K) -> Option<usize> {
        self.ids.get(key).map(|&i| i as usize)
    }

    pub fn key(&self, id: usize) -> &K {
        &self.keys[id]
    }

    pub fn len(&self) -> usize {
        self.keys.len()
    }

    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// Ids in `for (k in a)` order.
    pub fn iter_order(&self) -> Vec<usize> {
        self.buckets.order().map(|i| i as usize).collect()
    }
}

/// The `for (i in a)` order of the array `split()` makes from `n` fields
/// (keys "1" .. "n"), as 0-based field indices; `with_zero` adds the key "0"
/// assigned after the split (compute-packages' `cats[0]`), reported as
/// index `n`.
pub fn split_order(n: usize, with_zero: bool) -> Vec<usize> {
    let mut a: AwkArray<Vec<u8>> = AwkArray::new();
    for i in 1..=n {
        a.touch(i.to_string().into_bytes());
    }
    if with_zero {
        a.touch(b"0".to_vec());
    }
    a.iter_order()
        .into_iter()
        .map(|id| if id < n { id } else { n })
        .collect()
}

/// Caches [`split_order`] per field count; the reports split thousands of
/// short lists.
#[derive(Debug, Default)]
pub struct SplitOrders {
    plain: HashMap<usize, Vec<usize>>,
}

impl SplitOrders {
    pub fn get(&mut self, n: usize) -> &[usize] {
        self.plain.entry(n).or_insert_with(|| split_order(n, false))
    }
}

/// awk's `split(s, a, "[ \t]+")`: fields between runs of blanks, with an
/// empty first (last) field when `s` starts (ends) with a blank; none for
/// an empty `s`.
pub fn split_blanks(s: &[u8]) -> Vec<&[u8]> {
    if s.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    let mut start = 0;
    let mut i = 0;
    while i < s.len() {
        if s[i] == b' ' || s[i] == b'\t' {
            out.push(&s[start..i]);
            while i < s.len() && (s[i] == b' ' || s[i] == b'\t') {
                i += 1;
            }
            start = i;
        } else {
            i += 1;
        }
    }
    out.push(&s[start..]);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hash_matches_the_c_formula() {
        // "ab": 'a' = 97, then 98 + 31 * 97 = 3105.
        assert_eq!(hash(b"ab", 50), 3105 % 50);
        // Bytes above 0x7f count as negative chars.
        let h = (0xffu8 as i8 as i32 as u32).wrapping_add(0);
        assert_eq!(hash(&[0xff], 7), (h % 7) as usize);
    }

    #[test]
    fn small_split_arrays_iterate_by_bucket() {
        // Keys "1".."3" hash to 49, 50 % 50 = 0, 51 % 50 = 1: "2", "3", "1".
        assert_eq!(split_order(3, false), vec![1, 2, 0]);
        // "0" is 48: before "1" (49) but after "2" and "3".
        assert_eq!(split_order(3, true), vec![1, 2, 3, 0]);
    }

    #[test]
    fn growth_rehashes_and_reverses_chains() {
        let mut a: AwkArray<Vec<u8>> = AwkArray::new();
        for i in 0..101 {
            a.touch(format!("k{i}").into_bytes());
        }
        // 101 > 2 * 50: grown to 200 buckets, every key still visited once.
        let mut seen = a.iter_order();
        assert_eq!(seen.len(), 101);
        seen.sort();
        assert_eq!(seen, (0..101).collect::<Vec<_>>());
        assert_eq!(a.buckets.chains.len(), 200);
    }

    #[test]
    fn same_bucket_keys_come_newest_first() {
        let mut a: AwkArray<Vec<u8>> = AwkArray::new();
        // "a" = 97 % 50 = 47 and "a2" ... pick two keys sharing bucket 47.
        let k1 = b"a".to_vec();
        let mut k2 = None;
        for c in b'!'..=b'~' {
            let k = vec![b'x', c];
            if hash(&k, 50) == 47 {
                k2 = Some(k);
                break;
            }
        }
        let k2 = k2.unwrap();
        a.touch(k1);
        a.touch(k2);
        assert_eq!(a.iter_order(), vec![1, 0]);
    }

    #[test]
    fn split_blanks_keeps_edge_fields() {
        assert_eq!(split_blanks(b""), Vec::<&[u8]>::new());
        assert_eq!(split_blanks(b" a  b\t"), vec![&b""[..], b"a", b"b", b""]);
        assert_eq!(split_blanks(b"a"), vec![&b"a"[..]]);
    }
}
