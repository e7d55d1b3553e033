//! The scan master distrusts its clients: a real master with real clients
//! and hostile ones on 127.0.0.1. A tree list naming a location outside
//! pkgsrc, one with a line too long to send, and a client silent on its
//! job each lose the job and their connection; the scan completes with
//! the output of a local scan.

use crate::support::scan_fake;
use crate::support::scan_net as scan_net_util;

use std::io::Write;

use scan_fake::{record, text, Tree};
use scan_net_util::*;

fn tree() -> Tree {
    let t = Tree::new();
    t.subdirs("", "cat\n");
    t.subdirs("cat", "a b c\n");
    for p in ["a", "b", "c"] {
        t.package(&format!("cat/{p}"), &record(&format!("{p}-1"), "", ""));
    }
    t
}

/// Wait until the master closed `s` (EOF or reset).
fn closed(s: &mut std::net::TcpStream) {
    let mut b = [0u8; 1];
    assert!(matches!(std::io::Read::read(s, &mut b), Ok(0) | Err(_)));
}

#[test]
fn hostile_clients_lose_their_job_and_the_scan_completes() {
    let t = tree();
    let local = t.scan(&[], "local");
    assert_eq!(local.status.code(), Some(0), "{}", text(&local.stderr));
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let m = Proc::spawn(
        t.cmd(&["-m", &addr])
            .env("PBULK_SCAN_CLIENT_TIMEOUT", "1")
            .arg(&t.root)
            .arg(t.path("out")),
    );
    // A tree list with a location outside pkgsrc.
    let mut s = connect(port);
    assert_eq!(read_job(&mut s).as_deref(), Some(&b"find_full_tree"[..]));
    send_reply(&mut s, b"cat/a\n../../../etc\ncat/b\n");
    closed(&mut s);
    // One line longer than any frame the master can send.
    let mut s = connect(port);
    assert_eq!(read_job(&mut s).as_deref(), Some(&b"find_full_tree"[..]));
    let long = [b"cat/".to_vec(), vec![b'x'; 70_000], b"\n".to_vec()].concat();
    send_reply(&mut s, &long);
    closed(&mut s);
    // An absolute path and a control character.
    let mut s = connect(port);
    assert_eq!(read_job(&mut s).as_deref(), Some(&b"find_full_tree"[..]));
    send_reply(&mut s, b"cat/a\n/etc/x\n");
    closed(&mut s);
    // Silent on the job past the client timeout; real clients connect
    // meanwhile and wait for work.
    let mut silent = connect(port);
    assert_eq!(
        read_job(&mut silent).as_deref(),
        Some(&b"find_full_tree"[..])
    );
    let clients: Vec<Proc> = (0..2)
        .map(|_| Proc::spawn(t.cmd(&["-c", &addr]).arg(&t.root)))
        .collect();
    let o = m.finish();
    silent.flush().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read(t.path("out")).unwrap(),
        std::fs::read(t.path("local")).unwrap()
    );
    let err = text(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    for (line, what) in lines.iter().zip([
        "listed an invalid location on line 2 of the tree: `../../../etc'",
        &format!(
            "listed an invalid location on line 1 of the tree: `cat/{}...'",
            "x".repeat(196)
        ),
        "listed an invalid location on line 2 of the tree: `/etc/x'",
        "silent for 1 seconds while scanning find_full_tree",
    ]) {
        assert!(
            line.starts_with("pbulk-scan: Client 127.0.0.1:") && line.contains(what),
            "{what}: {err}"
        );
    }
    for c in clients {
        let o = c.finish();
        assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    }
    drop(silent);
}

#[test]
fn limited_master_refuses_a_location_clients_cannot_take() {
    let t = tree();
    let mut c = t.cmd(&["-l", "-m", &format!("127.0.0.1:{}", free_port())]);
    c.arg(&t.root)
        .arg(t.path("out"))
        .stdin(std::process::Stdio::piped());
    // Bounded: a master that accepted the list would wait for clients.
    let mut m = Proc::spawn(&mut c);
    let mut stdin = m.0.as_mut().unwrap().stdin.take().unwrap();
    stdin.write_all(b"cat/a\ncat/../../x\n").unwrap();
    drop(stdin);
    let o = m.finish();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "pbulk-scan: Location `cat/../../x' of the list cannot be sent to scan clients\n"
    );
    assert!(!t.path("out").exists());
}
