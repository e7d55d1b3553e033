//! pbulk-scan's master (`-m`) and client (`-c`) byte by byte: the test plays
//! the other side with a raw socket on 127.0.0.1 (c-programs.md §2.8, §9.3).

use crate::support::common;
use crate::support::scan_fake;
use crate::support::scan_net as scan_net_util;

use std::io::Write;
use std::net::TcpListener;
use std::process::Command;

use scan_fake::{record, scanned, text, Tree};
use scan_net_util::*;

/// A small fake tree: two packages, one failing, one SUBDIR word with `/`.
fn small_tree() -> (Tree, String, String) {
    let t = Tree::new();
    t.subdirs("", "cat wip/extra\n");
    t.subdirs("cat", "a fail\n");
    let a = record("a-1.0", "", "");
    let extra = record("extra-2", "", "");
    t.package("cat/a", &a);
    t.package("cat/fail", &record("fail-1", "", ""));
    t.file("cat/fail", "fail", b"");
    t.package("wip/extra", &extra);
    (t, a, extra)
}

fn master(t: &Tree, port: u16, args: &[&str], out: &str) -> Proc {
    let addr = format!("127.0.0.1:{port}");
    let mut c = t.cmd(args);
    c.arg("-m").arg(&addr).arg(&t.root).arg(t.path(out));
    Proc::spawn(&mut c)
}

#[test]
fn master_speaks_the_reference_protocol() {
    let (t, a, _) = small_tree();
    let port = free_port();
    let m = master(&t, port, &["-v"], "out");
    let mut s = connect(port);
    // Full tree: the pseudo job first, then the listed locations in order.
    assert_eq!(read_job(&mut s).as_deref(), Some(&b"find_full_tree"[..]));
    send_reply(&mut s, b"cat/a\ncat/fail\n");
    let mut frame = [0u8; 7];
    std::io::Read::read_exact(&mut s, &mut frame).unwrap();
    assert_eq!(&frame, b"\x00\x05cat/a");
    send_reply(&mut s, a.as_bytes());
    assert_eq!(read_job(&mut s).as_deref(), Some(&b"cat/fail"[..]));
    // Length 0: the scan failed.
    s.write_all(&[0, 0, 0, 0]).unwrap();
    // The end of the session is `00 00`, then the master waits for us to close.
    assert_eq!(read_job(&mut s), None);
    drop(s);
    let o = m.finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "... 3/3\n");
    assert_eq!(text(&o.stderr), "pbulk-scan: Scan failed for cat/fail\n");
    let out = std::fs::read_to_string(t.path("out")).unwrap();
    assert_eq!(out, scanned(&a, "cat/a"));
    // The master ran no make at all.
    assert!(t.calls().is_empty());
}

#[test]
fn master_limited_list_parks_clients_until_the_start_script_is_done() {
    let (t, a, extra) = small_tree();
    let port = free_port();
    let flag = t.path("started");
    let start = t.path("start.sh");
    scan_fake::write_exec(
        &start,
        &format!("#!/bin/sh\nsleep 1\n: > {}\n", flag.display()),
    );
    let m = limited_master(
        &t,
        port,
        &["-I", start.to_str().unwrap()],
        b"# comment\nwip/extra\n\ncat/a\n",
        "out",
    );
    let mut s = connect(port);
    assert_eq!(read_job(&mut s).as_deref(), Some(&b"wip/extra"[..]));
    assert!(
        flag.exists(),
        "a job was handed out before the start script ended"
    );
    send_reply(&mut s, extra.as_bytes());
    assert_eq!(read_job(&mut s).as_deref(), Some(&b"cat/a"[..]));
    send_reply(&mut s, a.as_bytes());
    assert_eq!(read_job(&mut s), None);
    drop(s);
    let o = m.finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(t.path("out")).unwrap(),
        scanned(&extra, "wip/extra") + &scanned(&a, "cat/a")
    );
}

#[test]
fn failing_start_script_ends_the_master() {
    let (t, _, _) = small_tree();
    let start = t.path("start.sh");
    scan_fake::write_exec(&start, "#!/bin/sh\nexit 3\n");
    let m = master(&t, free_port(), &["-I", start.to_str().unwrap()], "out");
    let o = m.finish();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stderr), "pbulk-scan: Start script failed\n");
    assert!(!t.path("out").exists());
}

#[test]
fn bad_replies_drop_the_client_and_requeue_its_job() {
    let (t, a, extra) = small_tree();
    let port = free_port();
    let m = limited_master_env(
        &t,
        port,
        &[],
        &[("PBULK_SCAN_CLIENT_TIMEOUT", "1")],
        b"cat/a\nwip/extra\n",
        "out",
    );
    // Each bad client is closed by the master before the next connects,
    // so every one of them is offered the same requeued job.
    let closed = |s: &mut std::net::TcpStream| {
        let mut b = [0u8; 1];
        assert!(matches!(std::io::Read::read(s, &mut b), Ok(0) | Err(_)));
    };
    // An absurd length (over 1 GiB).
    let mut s = connect(port);
    assert_eq!(read_job(&mut s).as_deref(), Some(&b"cat/a"[..]));
    s.write_all(&[0xff, 0xff, 0xff, 0xff]).unwrap();
    closed(&mut s);
    // A NUL inside the output.
    let mut s = connect(port);
    assert_eq!(read_job(&mut s).as_deref(), Some(&b"cat/a"[..]));
    send_reply(&mut s, b"PKGNAME=a-1.0\n\0\n");
    closed(&mut s);
    // Half a reply, then the end of the stream.
    let mut s = connect(port);
    assert_eq!(read_job(&mut s).as_deref(), Some(&b"cat/a"[..]));
    s.write_all(&[0, 0, 0, 9, b'P']).unwrap();
    s.shutdown(std::net::Shutdown::Write).unwrap();
    closed(&mut s);
    // Silent past the client timeout.
    let mut s = connect(port);
    assert_eq!(read_job(&mut s).as_deref(), Some(&b"cat/a"[..]));
    closed(&mut s);
    // A good client gets the job again, and the next.
    let mut good = connect(port);
    assert_eq!(read_job(&mut good).as_deref(), Some(&b"cat/a"[..]));
    send_reply(&mut good, a.as_bytes());
    assert_eq!(read_job(&mut good).as_deref(), Some(&b"wip/extra"[..]));
    send_reply(&mut good, extra.as_bytes());
    assert_eq!(read_job(&mut good), None);
    drop(good);
    let o = m.finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    let lines: Vec<&str> = err.lines().collect();
    assert_eq!(lines.len(), 4, "{err}");
    assert_eq!(
        lines[..2],
        [
            "pbulk-scan: Invalid output len received from peer",
            "pbulk-scan: Invalid output len received from peer"
        ]
    );
    assert!(
        lines[2].starts_with("pbulk-scan: Lost client 127.0.0.1:")
            && lines[2].ends_with("cat/a; the job is handed out again"),
        "{err}"
    );
    assert!(
        lines[3].starts_with("pbulk-scan: Client 127.0.0.1:")
            && lines[3].contains("silent for 1 seconds while scanning cat/a"),
        "{err}"
    );
    assert_eq!(
        std::fs::read_to_string(t.path("out")).unwrap(),
        scanned(&a, "cat/a") + &scanned(&extra, "wip/extra")
    );
    // The master closed those connections first, so the port has sockets
    // in TIME_WAIT; the next master of a limited scan binds it all the same
    // (SO_REUSEADDR, which the original lacks).
    let m = limited_master(&t, port, &[], b"cat/a\n", "again");
    let mut s = connect(port);
    assert_eq!(read_job(&mut s).as_deref(), Some(&b"cat/a"[..]));
    send_reply(&mut s, a.as_bytes());
    assert_eq!(read_job(&mut s), None);
    drop(s);
    assert_eq!(m.finish().status.code(), Some(0));
}

/// A client against the test as master.
fn client(t: &Tree, port: u16, verbose: bool) -> Proc {
    let mut c = t.cmd(if verbose { &["-v"] } else { &[] });
    c.arg("-c").arg(format!("127.0.0.1:{port}")).arg(&t.root);
    Proc::spawn(&mut c)
}

#[test]
fn client_speaks_the_reference_protocol() {
    let (t, a, _) = small_tree();
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let c = client(&t, port, true);
    let mut s = accept(&l);
    send_job(&mut s, b"find_full_tree");
    assert_eq!(read_reply(&mut s), b"cat/a\ncat/fail\nwip/extra\n");
    // The worked example's framing: 00 05 + location, u32 length + output.
    s.write_all(b"\x00\x05cat/a").unwrap();
    let mut len = [0u8; 4];
    std::io::Read::read_exact(&mut s, &mut len).unwrap();
    assert_eq!(u32::from_be_bytes(len) as usize, a.len());
    let mut body = vec![0u8; a.len()];
    std::io::Read::read_exact(&mut s, &mut body).unwrap();
    assert_eq!(body, a.as_bytes());
    // A failed make: length 0.
    send_job(&mut s, b"cat/fail");
    assert_eq!(read_reply(&mut s), b"");
    s.write_all(&[0, 0]).unwrap();
    let o = c.finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "Scanning cat/a\nScanning cat/fail\n");
    assert_eq!(
        t.calls(),
        [
            "show-subdir-var .",
            "show-subdir-var cat",
            "pbulk-index cat/a",
            "pbulk-index cat/fail"
        ]
    );
}

/// What the client says when the master sends `frame` and then closes.
fn client_against(t: &Tree, frame: &[u8]) -> (Option<i32>, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let c = client(t, port, false);
    let mut s = accept(&l);
    s.write_all(frame).unwrap();
    drop(s);
    let o = c.finish();
    (o.status.code(), text(&o.stderr))
}

#[test]
fn client_refuses_bad_frames_with_the_reference_messages() {
    let (t, _, _) = small_tree();
    let cases: [(&[u8], Option<i32>, &str); 9] = [
        (b"", Some(0), ""),
        (
            b"\x00",
            Some(1),
            "Premature end while reading path length from socket",
        ),
        (b"\x00\x02ab", Some(1), "Invalid path length from master"),
        (
            b"\x00\x05cat",
            Some(1),
            "Premature end of stream while reading path from socket",
        ),
        (
            b"\x00\x05ca\0/a",
            Some(1),
            "Premature end of stream while reading path from socket",
        ),
        (b"\x00\x06/cat/a", Some(1), "Invalid path from master"),
        (b"\x00\x07cat/a/b", Some(1), "Invalid path from master"),
        (b"\x00\x05../ab", Some(1), "Invalid path from master"),
        (b"\x00\x06cat/..", Some(1), "Invalid path from master"),
    ];
    for (frame, code, msg) in cases {
        let want = if msg.is_empty() {
            String::new()
        } else {
            format!("pbulk-scan: {msg}\n")
        };
        assert_eq!(client_against(&t, frame), (code, want), "{frame:?}");
    }
    assert!(t.calls().is_empty());
}

#[test]
fn client_without_master() {
    let (t, _, _) = small_tree();
    let port = free_port();
    let o = Command::new(common::bin("pbulk-scan"))
        .args(["-c", &format!("127.0.0.1:{port}"), "-M", "make", "tree"])
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        format!(
            "pbulk-scan: Could not create connection to 127.0.0.1:{port}: Connection refused\n"
        )
    );
    drop(t);
}

/// Run a master on a `-l` list with stdin `list`.
fn limited_master(t: &Tree, port: u16, args: &[&str], list: &[u8], out: &str) -> Proc {
    limited_master_env(t, port, args, &[], list, out)
}

fn limited_master_env(
    t: &Tree,
    port: u16,
    args: &[&str],
    env: &[(&str, &str)],
    list: &[u8],
    out: &str,
) -> Proc {
    let mut c = t.cmd(args);
    c.envs(env.iter().copied())
        .arg("-l")
        .arg("-m")
        .arg(format!("127.0.0.1:{port}"))
        .arg(&t.root)
        .arg(t.path(out))
        .stdin(std::process::Stdio::piped());
    let mut m = Proc::spawn(&mut c);
    m.0.as_mut()
        .unwrap()
        .stdin
        .take()
        .unwrap()
        .write_all(list)
        .unwrap();
    m
}

#[test]
fn old_scan_answers_without_clients() {
    let (t, a, extra) = small_tree();
    t.age();
    let mut c = t.cmd(&["-l"]);
    c.arg(&t.root).arg(t.path("old")).stdin(
        std::fs::File::open({
            std::fs::write(t.path("list"), "cat/a\n").unwrap();
            t.path("list")
        })
        .unwrap(),
    );
    assert!(c.status().unwrap().success());
    t.calls();
    // Only the location the old scan lacks goes to a client.
    let old = t.path("old");
    let port = free_port();
    let m = limited_master(
        &t,
        port,
        &["-L", old.to_str().unwrap()],
        b"cat/a\nwip/extra\n",
        "out",
    );
    let mut s = connect(port);
    assert_eq!(read_job(&mut s).as_deref(), Some(&b"wip/extra"[..]));
    send_reply(&mut s, extra.as_bytes());
    assert_eq!(read_job(&mut s), None);
    drop(s);
    let o = m.finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(t.path("out")).unwrap(),
        scanned(&a, "cat/a") + &scanned(&extra, "wip/extra")
    );
    // Everything cached: no socket, no start script (it would fail).
    let port = free_port();
    let m = limited_master(
        &t,
        port,
        &["-L", old.to_str().unwrap(), "-I", "/nonexistent"],
        b"cat/a\n",
        "out2",
    );
    let o = m.finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(
        std::fs::read_to_string(t.path("out2")).unwrap(),
        scanned(&a, "cat/a")
    );
    assert!(std::net::TcpStream::connect(("127.0.0.1", port)).is_err());
    assert!(t.calls().is_empty());
}

#[test]
fn stopped_master_leaves_the_output_alone() {
    let (t, _, _) = small_tree();
    std::fs::write(t.path("out"), "previous\n").unwrap();
    let port = free_port();
    let m = limited_master(&t, port, &[], b"cat/a\n", "out");
    let mut s = connect(port);
    assert_eq!(read_job(&mut s).as_deref(), Some(&b"cat/a"[..]));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(m.pid()),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let o = m.finish();
    assert_eq!(o.status.code(), Some(128 + 15));
    assert_eq!(
        text(&o.stderr),
        "pbulk-scan: stopped by SIGTERM; the output file was left unchanged\n"
    );
    assert_eq!(
        std::fs::read_to_string(t.path("out")).unwrap(),
        "previous\n"
    ); // No temporary file left beside it.
    let mut names: Vec<String> = std::fs::read_dir(t.tmp.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.contains("out"))
        .collect();
    names.sort();
    assert_eq!(names, ["out"]);
}
