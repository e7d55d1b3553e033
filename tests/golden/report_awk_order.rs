//! The array-order emulation against the real one-true-awk (Debian
//! `original-awk`, which CI installs): insertion of many keys (with growth,
//! rehashing and bytes above 0x7f) and `split()` arrays of every size the
//! reports meet must iterate exactly as `for (k in a)` does there.

use crate::support::common;

use std::io::Write;
use std::process::{Command, Stdio};

use pbulk::report::awk::{split_order, AwkArray};

fn awk(program: &str, input: &[u8]) -> Option<Vec<u8>> {
    let child = Command::new("original-awk")
        .arg(program)
        .env("LC_ALL", "C")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        common::skip("report_awk_order", "original-awk is not installed");
        return None;
    };
    // Feed stdin from a thread: awk writes while it reads.
    let mut stdin = child.stdin.take().unwrap();
    let input = input.to_vec();
    let feeder = std::thread::spawn(move || stdin.write_all(&input));
    let out = child.wait_with_output().unwrap();
    feeder.join().unwrap().unwrap();
    assert!(out.status.success());
    Some(out.stdout)
}

/// A deterministic mix of keys: package-like names, repeats, high bytes.
fn keys() -> Vec<Vec<u8>> {
    let mut x: u32 = 12345;
    let mut next = || {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        x
    };
    let mut out = Vec::new();
    for i in 0..7000 {
        let len = 1 + next() % 24;
        let mut k: Vec<u8> = (0..len)
            .map(|_| b"abcdefghijklmnopqrstuvwxyz-.0123456789"[(next() % 38) as usize])
            .collect();
        if i % 97 == 0 {
            k.push(0x80 + (next() % 0x7f) as u8);
        }
        out.push(k);
        if i % 13 == 0 {
            let again = out[(next() as usize) % out.len()].clone();
            out.push(again);
        }
    }
    out
}

#[test]
fn insertion_order_iterates_like_one_true_awk() {
    let keys = keys();
    let mut input = Vec::new();
    for k in &keys {
        input.extend_from_slice(k);
        input.push(b'\n');
    }
    let Some(got) = awk("{ a[$0] = 1 } END { for (k in a) print k }", &input) else {
        return;
    };
    let mut arr: AwkArray<Vec<u8>> = AwkArray::new();
    for k in &keys {
        arr.touch(k.clone());
    }
    let mut want = Vec::new();
    for id in arr.iter_order() {
        want.extend_from_slice(arr.key(id));
        want.push(b'\n');
    }
    assert!(got == want, "for-in order differs from one-true-awk's");
}

#[test]
fn split_arrays_iterate_like_one_true_awk() {
    let mut input = String::new();
    for n in 1..=450 {
        let words: Vec<String> = (1..=n).map(|i| format!("w{i}")).collect();
        input.push_str(&words.join(" "));
        input.push('\n');
    }
    let prog = "{ n = split($0, a, \"[ \\t]+\"); s = \"\"; for (k in a) s = s \" \" k; print s
       n = split($0, c, \"[ \\t]+\"); c[0] = \"All\"; s = \"\"; for (k in c) s = s \" \" k; print s }";
    let Some(got) = awk(prog, input.as_bytes()) else {
        return;
    };
    let got = String::from_utf8(got).unwrap();
    let mut lines = got.lines();
    for n in 1..=450 {
        let plain: String = split_order(n, false)
            .iter()
            .map(|i| format!(" {}", i + 1))
            .collect();
        assert_eq!(lines.next().unwrap(), plain, "split of {n} fields");
        let zero: String = split_order(n, true)
            .iter()
            .map(|&i| {
                if i == n {
                    " 0".to_string()
                } else {
                    format!(" {}", i + 1)
                }
            })
            .collect();
        assert_eq!(lines.next().unwrap(), zero, "split of {n} fields plus [0]");
    }
}
