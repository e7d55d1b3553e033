//! The real tree: `pbulk-resolve -v pscan` must reproduce the original
//! program's presolve byte for byte, and report the six unresolvable
//! dependencies the way the reference does.

use crate::support::common;

use std::process::Command;

/// The `PKGNAME=` of the record containing byte `at`.
fn record_at(text: &[u8], at: usize) -> String {
    let start = text[..at]
        .windows(9)
        .rposition(|w| w == b"\nPKGNAME=")
        .map_or(0, |p| p + 1);
    let line = text[start..]
        .split(|&b| b == b'\n')
        .next()
        .unwrap_or_default();
    String::from_utf8_lossy(line).into_owned()
}

#[test]
fn real_pscan_resolves_to_the_golden_presolve() {
    let dir = tempfile::tempdir().unwrap();
    let pscan = common::unzstd_to(&common::data().join("pscan.zst"), dir.path(), "pscan");
    let out = Command::new(common::bin("pbulk-resolve"))
        .arg("-v")
        .arg(&pscan)
        .output()
        .unwrap();
    let golden = common::unzstd(&common::data().join("presolve.zst"));
    assert_eq!(out.status.code(), Some(0));
    if out.stdout != golden {
        let at = out.stdout.iter().zip(&golden).position(|(a, b)| a != b);
        let at = at.unwrap_or(out.stdout.len().min(golden.len()));
        panic!(
            "output differs from presolve at byte {at} (ours {} bytes, golden {}), in record {}",
            out.stdout.len(),
            golden.len(),
            record_at(&golden, at)
        );
    }

    // The reference warns once per unresolvable dependency (find_match's
    // "No match found"); with -v the other lines are location warnings.
    let err = String::from_utf8(out.stderr).unwrap();
    let (missing, other): (Vec<&str>, Vec<&str>) = err
        .lines()
        .partition(|l| l.starts_with("pbulk-resolve: No match found"));
    let m = "pbulk-resolve: No match found for dependency";
    assert_eq!(
        missing,
        [
            format!("{m} py311-buildbot-[0-9]* of package py311-buildbot-badges-2.6.0nb1"),
            format!("{m} py311-buildbot-[0-9]* of package py311-buildbot-waterfall-view-2.6.0nb1"),
            format!("{m} py311-stevedore>=1.20.0 of package py311-e3-core-22.10.0nb3"),
            format!("{m} py313-daemon>=2.3.0 of package py313-libagent-0.15.0"),
            format!("{m} py314-daemon>=2.3.0 of package py314-libagent-0.15.0"),
            format!("{m} py312-daemon>=2.3.0 of package py312-libagent-0.15.0"),
        ]
    );
    // Every marked package of the golden file is reported, with its pattern.
    let golden = String::from_utf8_lossy(&golden);
    let mut marked = Vec::new();
    let mut name = "";
    for line in golden.lines() {
        if let Some(n) = line.strip_prefix("PKGNAME=") {
            name = n;
        } else if let Some(p) =
            line.strip_prefix("PKG_FAIL_REASON=\"could not resolve dependency \"")
        {
            marked.push(format!(
                "{m} {} of package {name}",
                p.trim_end_matches("\"\"")
            ));
        }
    }
    assert_eq!(missing, marked);
    assert!(!other.is_empty());
    for l in other {
        assert!(
            l.starts_with("pbulk-resolve: Best matching ") && l.contains(" differs from location "),
            "unexpected stderr line {l}"
        );
    }
}
