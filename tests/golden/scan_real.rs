//! pbulk-scan's old-scan loader and writer on the real pscan (29,022
//! records from 20,206 locations, multi-version packages included): with
//! every SCAN_DEPENDS emptied, `-L` reuses every location, so a limited
//! scan of all locations in file order must give the old file back byte for
//! byte (PKG_LOCATION cut out on load, put back as line 2 on write) without
//! running make once.

use crate::support::common;

use std::io::Write;
use std::process::{Command, Stdio};

#[test]
fn real_pscan_round_trips_through_reuse() {
    let real = common::unzstd(&common::data().join("pscan.zst"));
    let mut old = Vec::with_capacity(real.len());
    let mut order: Vec<&[u8]> = Vec::new();
    for line in real.split_inclusive(|&b| b == b'\n') {
        if line.starts_with(b"SCAN_DEPENDS=") {
            old.extend_from_slice(b"SCAN_DEPENDS=\n");
            continue;
        }
        if let Some(loc) = line.strip_prefix(b"PKG_LOCATION=") {
            let loc = &loc[..loc.len() - 1];
            if order.last() != Some(&loc) {
                order.push(loc);
            }
        }
        old.extend_from_slice(line);
    }
    assert_eq!(order.len(), 20206);
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("old"), &old).unwrap();
    let mut list = Vec::new();
    for loc in &order {
        list.extend_from_slice(loc);
        list.push(b'\n');
    }
    let mut child = Command::new(common::bin("pbulk-scan"))
        .args(["-l", "-v", "-M", "/nonexistent/make", "-L"])
        .arg(dir.path().join("old"))
        .arg(dir.path().join("tree"))
        .arg(dir.path().join("new"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    let writer = std::thread::spawn(move || stdin.write_all(&list));
    let o = child.wait_with_output().unwrap();
    writer.join().unwrap().unwrap();
    assert_eq!(o.status.code(), Some(0));
    assert!(
        o.stderr.is_empty(),
        "{}",
        String::from_utf8_lossy(&o.stderr)
    );
    let stdout = String::from_utf8(o.stdout).unwrap();
    assert!(stdout.ends_with(". 20200/20206\n...... 20206/20206\n"));
    let new = std::fs::read(dir.path().join("new")).unwrap();
    assert!(new == old, "reused output differs from the old scan");
}
