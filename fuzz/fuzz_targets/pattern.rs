//! Arbitrary pattern/name pairs (split at the first NUL): matching,
//! ordering and version comparison must never panic, and the version order
//! must be antisymmetric where no component overflows.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pbulk::pattern::{self, DeweyOp};

fuzz_target!(|data: &[u8]| {
    let mut parts = data.splitn(2, |&b| b == 0);
    let pat = parts.next().unwrap_or_default();
    let name = parts.next().unwrap_or_default();
    let _ = pattern::pkg_match(pat, name);
    let _ = pattern::pkg_order(pat, name);
    let small = |s: &[u8]| s.split(|c| !c.is_ascii_digit()).all(|run| run.len() <= 9);
    if small(pat) && small(name) {
        assert_eq!(
            pattern::dewey_cmp(pat, DeweyOp::Lt, name),
            !pattern::dewey_cmp(name, DeweyOp::Le, pat)
        );
    }
});
