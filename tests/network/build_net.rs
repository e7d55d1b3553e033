//! pbulk-build's master (`-m`), client (`-c`) and statistics (`-s`) modes
//! byte by byte: the test plays the other side with raw sockets on
//! 127.0.0.1 (c-programs.md §1.3, §4.10, §4.11, §9.4), and runs real
//! clients against a real master with one killed in the middle of a build.

use crate::support::build_net as build_net_util;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::{Duration, Instant};

use build_net_util::*;

fn lines(s: &str) -> Vec<&str> {
    s.lines().collect()
}

#[test]
fn master_speaks_the_reference_protocol() {
    // bbb-1 needs aaa-1; ccc-1 stands alone. aaa-1 has the highest depth.
    let (a, b, c) = (rec("aaa-1", ""), rec("bbb-1", "aaa-1"), rec("ccc-1", ""));
    let t = Tree::new(&[b.as_str(), &a, &c].concat());
    let port = free_port();
    let m = t.master(port, &["-v", "-r", "report"], &[]);
    let mut s = connect(port);

    // The worked example's framing: 47, then 4-byte BE length + record.
    send_byte(&mut s, b'G');
    let mut got = vec![0u8; 4 + a.len()];
    s.read_exact(&mut got).unwrap();
    assert_eq!(got, frame(a.as_bytes()), "{}", text(&got));
    assert_eq!(got[..4], (a.len() as u32).to_be_bytes());
    send_byte(&mut s, b'D');

    // Depth ties are FIFO: ccc-1 was ready before bbb-1 was released.
    assert_eq!(get(&mut s).as_deref(), Some(c.as_bytes()));
    // The success was logged before the next job went out.
    assert_eq!(t.read("success"), "aaa-1\n");
    send_byte(&mut s, b'F');

    assert_eq!(get(&mut s).as_deref(), Some(b.as_bytes()));
    assert_eq!(t.read("error"), "ccc-1\n");
    send_byte(&mut s, b'D');

    // Nothing left: exactly four zero bytes, then the master waits for us
    // to close.
    send_byte(&mut s, b'G');
    let mut end = [0xffu8; 4];
    s.read_exact(&mut end).unwrap();
    assert_eq!(end, [0, 0, 0, 0]);
    assert!(silent_for(&mut s, Duration::from_millis(200)));
    drop(s);

    let o = m.finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "");
    assert_eq!(
        text(&o.stdout),
        "Initialisation complete.\n\
         [1/3] Starting build of  aaa-1\n[1/3] Successfully built aaa-1\n\
         [2/3] Starting build of  ccc-1\n[2/3] Failed to build    ccc-1\n\
         [3/3] Starting build of  bbb-1\n[3/3] Successfully built bbb-1\n"
    );
    assert_eq!(t.read("success"), "aaa-1\nbbb-1\n");
    assert_eq!(t.read("error"), "ccc-1\n");
    assert_eq!(
        t.read("report"),
        "bbb-1|done||1\naaa-1|done||2\nccc-1|failed||1\n"
    );
}

/// `pbulk-build -s` against the master on `port`: its stdout.
fn stat_client(t: &Tree, port: u16) -> String {
    let o = Proc::spawn(&mut t.cmd(&["-s", &format!("127.0.0.1:{port}")])).finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "");
    text(&o.stdout)
}

#[test]
fn statistics_count_the_jobs_at_that_moment() {
    // aaa-1 <- bbb-1 <- fff-1, ccc-1 alone, ddd-1 skipped <- eee-1.
    let input = [
        rec("aaa-1", ""),
        rec("bbb-1", "aaa-1"),
        rec("fff-1", "bbb-1"),
        rec("ccc-1", ""),
        skipped("ddd-1", ""),
        rec("eee-1", "ddd-1"),
    ]
    .concat();
    let t = Tree::new(&input);
    let port = free_port();
    let m = t.master(port, &["-r", "report"], &[]);
    let mut a = connect(port);
    assert!(get(&mut a).unwrap().starts_with(b"PKGNAME=aaa-1\n"));

    assert_eq!(
        stat_client(&t, port),
        "Jobs not yet processed: 3\nJobs currently in processing: 1\nSuccessful builds: 0\n\
         Failing builds: 2\n  Directly broken: 0\n  Broken due to a broken dependency: 0\n  \
         Not build as explicitly marked broken: 1\n  Broken due to an explicitly broken dependency: 1\n"
    );
    // Raw: 53, then 28 bytes; once per command, not again until asked.
    let mut r = connect(port);
    send_byte(&mut r, b'S');
    let mut block = [0u8; 28];
    r.read_exact(&mut block).unwrap();
    let want: [u8; 28] = [
        0, 0, 0, 3, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0,
    ];
    assert_eq!(block, want);
    assert_eq!(stats(&mut r), [3, 1, 0, 1, 0, 1, 0]);
    assert!(silent_for(&mut r, Duration::from_millis(200)));

    let mut b = connect(port);
    assert!(get(&mut b).unwrap().starts_with(b"PKGNAME=ccc-1\n"));
    assert_eq!(stats(&mut r), [2, 2, 0, 1, 0, 1, 0]);
    send_byte(&mut a, b'D');
    assert!(get(&mut a).unwrap().starts_with(b"PKGNAME=bbb-1\n"));
    assert_eq!(stats(&mut r), [1, 2, 0, 1, 0, 1, 1]);
    send_byte(&mut a, b'F');
    // fff-1 is broken by bbb-1; wait until the master has taken the `F`.
    wait_for("the failure to be counted", || stats(&mut r)[2] == 1);
    assert_eq!(stats(&mut r), [0, 1, 1, 1, 1, 1, 1]);
    assert_eq!(
        stat_client(&t, port),
        "Jobs not yet processed: 0\nJobs currently in processing: 1\nSuccessful builds: 1\n\
         Failing builds: 4\n  Directly broken: 1\n  Broken due to a broken dependency: 1\n  \
         Not build as explicitly marked broken: 1\n  Broken due to an explicitly broken dependency: 1\n"
    );
    // Nothing is ready while ccc-1 builds: the `G` is not answered yet.
    send_byte(&mut a, b'G');
    assert!(silent_for(&mut a, Duration::from_millis(300)));
    drop(r);
    send_byte(&mut b, b'D');
    // Now the session is over: the waiting `G` gets the zero length.
    assert_eq!(read_frame(&mut a), None);
    assert_eq!(get(&mut b), None);
    drop((a, b));
    let o = m.finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "");
    assert_eq!(t.read("success"), "aaa-1\nccc-1\n");
    assert_eq!(t.read("error"), "bbb-1\n");
    assert_eq!(
        t.read("report"),
        "aaa-1|done||3\nbbb-1|failed||2\nfff-1|indirect-failed||1\nccc-1|done||1\n\
         ddd-1|prefailed||2\neee-1|indirect-prefailed||1\n"
    );
}

#[test]
fn garbage_drops_the_client_and_its_job_goes_out_again() {
    let (a, b) = (rec("aaa-1", ""), rec("bbb-1", "aaa-1"));
    let t = Tree::new(&[a.as_str(), &b].concat());
    let port = free_port();
    let m = t.master(port, &["-v"], &[("PBULK_BUILD_CLIENT_TIMEOUT", "1")]);
    let mut want_err = Vec::new();

    // Unknown commands, including a status byte without a job.
    for cmd in [b'X', b'D'] {
        let mut s = connect(port);
        let me = s.local_addr().unwrap();
        send_byte(&mut s, cmd);
        assert!(closed_by_peer(&mut s), "{cmd}");
        want_err.push(format!(
            "pbulk-build: Invalid command byte 0x{cmd:02x} from client {me}; dropped"
        ));
    }
    // A bad status byte after the job.
    let mut s = connect(port);
    let me = s.local_addr().unwrap();
    assert_eq!(get(&mut s).as_deref(), Some(a.as_bytes()));
    send_byte(&mut s, b'Q');
    assert!(closed_by_peer(&mut s));
    want_err.push(format!(
        "pbulk-build: Invalid status byte 0x51 from client {me} for aaa-1; dropped, the job is handed out again"
    ));
    // Gone while holding the job. Nothing else is ready, so the next
    // client's `G` can only be answered once the master noticed.
    let mut s = connect(port);
    let me = s.local_addr().unwrap();
    assert_eq!(get(&mut s).as_deref(), Some(a.as_bytes()));
    drop(s);
    want_err.push(format!(
        "pbulk-build: Lost client {me} while it built aaa-1; the job is handed out again"
    ));
    // Silent past PBULK_BUILD_CLIENT_TIMEOUT.
    let mut s = connect(port);
    let me = s.local_addr().unwrap();
    assert_eq!(get(&mut s).as_deref(), Some(a.as_bytes()));
    let held = Instant::now();
    assert!(closed_by_peer(&mut s));
    let took = held.elapsed();
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_secs(5),
        "{took:?}"
    );
    want_err.push(format!(
        "pbulk-build: Client {me} held aaa-1 for 1 seconds; dropped, the job is handed out again"
    ));

    // A good client gets the same record once more, and then the rest.
    let mut good = connect(port);
    assert_eq!(get(&mut good).as_deref(), Some(a.as_bytes()));
    send_byte(&mut good, b'D');
    assert_eq!(get(&mut good).as_deref(), Some(b.as_bytes()));
    send_byte(&mut good, b'D');
    assert_eq!(get(&mut good), None);
    drop(good);

    let o = m.finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert_eq!(lines(&err), want_err, "{err}");
    assert_eq!(t.read("success"), "aaa-1\nbbb-1\n");
    assert_eq!(t.read("error"), "");
    // Handed out four times, built once; a requeued job is not logged.
    assert_eq!(
        text(&o.stdout),
        format!(
            "Initialisation complete.\n{}[1/2] Successfully built aaa-1\n\
             [2/2] Starting build of  bbb-1\n[2/2] Successfully built bbb-1\n",
            "[1/2] Starting build of  aaa-1\n".repeat(4)
        )
    );
}

#[test]
fn a_client_gone_while_waiting_costs_nothing() {
    let (a, b) = (rec("aaa-1", ""), rec("bbb-1", "aaa-1"));
    let t = Tree::new(&[a.as_str(), &b].concat());
    let port = free_port();
    let m = t.master(port, &["-v"], &[]);
    let mut s = connect(port);
    assert_eq!(get(&mut s).as_deref(), Some(a.as_bytes()));
    // This one asks while nothing is ready, and leaves before anything is.
    let mut w = connect(port);
    let gone = w.local_addr().unwrap();
    send_byte(&mut w, b'G');
    assert!(silent_for(&mut w, Duration::from_millis(200)));
    drop(w);
    std::thread::sleep(Duration::from_millis(100));
    send_byte(&mut s, b'D');
    // The job released now is not handed to the vanished client.
    assert_eq!(get(&mut s).as_deref(), Some(b.as_bytes()));
    send_byte(&mut s, b'D');
    assert_eq!(get(&mut s), None);
    drop(s);
    let o = m.finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "", "{gone} was handed a job");
    let started = text(&o.stdout).matches("Starting build of  bbb-1").count();
    assert_eq!(started, 1, "{}", text(&o.stdout));
    assert_eq!(t.read("success"), "aaa-1\nbbb-1\n");
    assert_eq!(t.read("error"), "");
}

#[test]
fn jobs_wait_for_the_start_script() {
    let t = Tree::new(&rec("aaa-1", ""));
    let flag = t.path("started");
    let start = t.script("start.sh", "#!/bin/sh\nsleep 1\n: > started\n");
    let port = free_port();
    let m = t.master(port, &["-I", start.to_str().unwrap()], &[]);
    let mut s = connect(port);
    // The master listens (and answers statistics) while the script runs.
    assert_eq!(stats(&mut s), [1, 0, 0, 0, 0, 0, 0]);
    assert!(
        !flag.exists(),
        "the start script ended too early for the test"
    );
    let asked = Instant::now();
    assert!(get(&mut s).unwrap().starts_with(b"PKGNAME=aaa-1\n"));
    assert!(
        flag.exists(),
        "a job was handed out before the start script ended"
    );
    assert!(asked.elapsed() >= Duration::from_millis(300));
    send_byte(&mut s, b'D');
    assert_eq!(get(&mut s), None);
    drop(s);
    let o = m.finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "");
    assert_eq!(t.read("success"), "aaa-1\n");
}

#[test]
fn failing_start_script_ends_the_master() {
    let t = Tree::new(&rec("aaa-1", ""));
    let start = t.script("start.sh", "#!/bin/sh\nsleep 0.3\nexit 1\n");
    let port = free_port();
    let m = t.master(port, &["-r", "report", "-I", start.to_str().unwrap()], &[]);
    let mut s = connect(port);
    send_byte(&mut s, b'G');
    // No job, only the end of the connection when the master exits.
    assert!(closed_by_peer(&mut s));
    let o = m.finish();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stderr), "pbulk-build: Start script failed\n");
    assert_eq!(t.read("success"), "");
    assert_eq!(t.read("error"), "");
    assert!(!t.path("report").exists());

    // A start script that cannot be run fails the same way.
    let o = t
        .master(free_port(), &["-I", "/nonexistent/start"], &[])
        .finish();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(text(&o.stderr), "pbulk-build: Start script failed\n");

    // Nothing buildable: no socket, no start script, the report all the same.
    let t = Tree::new(&skipped("skip-1", ""));
    let port = free_port();
    let o = t
        .master(
            port,
            &["-v", "-r", "report", "-I", "/nonexistent/start"],
            &[],
        )
        .finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stdout), "Initialisation complete.\n");
    assert_eq!(t.read("report"), "skip-1|prefailed||1\n");
    assert!(TcpStream::connect(("127.0.0.1", port)).is_err());
}

/// A build script that saves its stdin as `NAME.rec` and fails `fail*`.
const SAVE_SCRIPT: &str = "#!/bin/sh\ncat > rec.$$\nn=$(sed -n '1s/^PKGNAME=//p' rec.$$)\n\
                           mv rec.$$ \"$n.rec\"\ncase \"$n\" in fail*) exit 1;; esac\nexit 0\n";

/// `pbulk-build -v -c 127.0.0.1:PORT -b b.sh` in the tree's directory.
fn client(t: &Tree, port: u16) -> Proc {
    Proc::spawn(&mut t.cmd(&["-v", "-c", &format!("127.0.0.1:{port}"), "-b", "b.sh"]))
}

fn saved(t: &Tree) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(t.dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".rec"))
        .collect();
    v.sort();
    v
}

#[test]
fn client_speaks_the_reference_protocol() {
    let t = Tree::new("");
    t.script("b.sh", SAVE_SCRIPT);
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let c = client(&t, port);
    let mut s = accept(&l);
    let (good, bad) = (rec("good-1", "dep-1 dep-2"), rec("fail-1", ""));
    assert_eq!(read_byte(&mut s), b'G');
    s.write_all(&frame(good.as_bytes())).unwrap();
    assert_eq!(read_byte(&mut s), b'D');
    // The script had the record, byte for byte, on its stdin.
    assert_eq!(t.read("good-1.rec"), good);
    assert_eq!(read_byte(&mut s), b'G');
    s.write_all(&frame(bad.as_bytes())).unwrap();
    assert_eq!(read_byte(&mut s), b'F');
    assert_eq!(t.read("fail-1.rec"), bad);
    // The smallest record a client accepts: ten bytes.
    assert_eq!(read_byte(&mut s), b'G');
    s.write_all(&frame(b"PKGNAME=x\n")).unwrap();
    assert_eq!(read_byte(&mut s), b'D');
    assert_eq!(read_byte(&mut s), b'G');
    s.write_all(&[0, 0, 0, 0]).unwrap();
    let o = c.finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    assert_eq!(text(&o.stderr), "");
    assert_eq!(
        text(&o.stdout),
        "Building package good-1\nBuilding package fail-1\nBuilding package x\n"
    );
    // The client closed its end after the zero length.
    assert!(closed_by_peer(&mut s));
    assert_eq!(saved(&t), ["fail-1.rec", "good-1.rec", "x.rec"]);
}

/// What the client says when the master answers its first `G` with
/// `reply` and closes.
fn client_against(t: &Tree, reply: &[u8]) -> (Option<i32>, String, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = l.local_addr().unwrap().port();
    let c = client(t, port);
    let mut s = accept(&l);
    assert_eq!(read_byte(&mut s), b'G');
    s.write_all(reply).unwrap();
    drop(s);
    let o = c.finish();
    (o.status.code(), text(&o.stdout), text(&o.stderr))
}

#[test]
fn client_refuses_bad_frames_with_the_reference_messages() {
    let t = Tree::new("");
    t.script("b.sh", SAVE_SCRIPT);
    let mut short = frame(b"PKGNAME=short-1\nDEPENDS=\n");
    short.truncate(4 + 10);
    let invalid = "pbulk-build: Invalid build info length from master\n";
    let premature = "pbulk-build: Premature end of stream while reading path from socket\n";
    let cases: Vec<(Vec<u8>, Option<i32>, &str)> = vec![
        // The end of the stream, or a zero length: done.
        (vec![], Some(0), ""),
        (vec![0, 0, 0, 0], Some(0), ""),
        (
            vec![0, 0],
            Some(1),
            "pbulk-build: Premature end while reading build info from socket\n",
        ),
        (vec![0, 0, 0, 5], Some(1), invalid),
        ([&[0, 0, 0, 9][..], b"PKGNAME=x"].concat(), Some(1), invalid),
        (vec![0x01, 0, 0, 0], Some(1), invalid),
        (vec![0xff, 0xff, 0xff, 0xff], Some(1), invalid),
        (short, Some(1), premature),
        (frame(b"PKGNAME=nul\0-1\nDEPENDS=\n"), Some(1), premature),
    ];
    for (reply, code, msg) in cases {
        assert_eq!(
            client_against(&t, &reply),
            (code, String::new(), msg.to_string()),
            "{reply:?}"
        );
    }
    // With -v the record must start with its PKGNAME= line.
    for reply in [b"PKG_LOCATION=a/b\n".as_slice(), b"PKGNAME=no-newline-1"] {
        let (code, out, err) = client_against(&t, &frame(reply));
        assert_eq!(code, Some(1), "{reply:?}");
        assert_eq!(out, "");
        assert!(
            err.starts_with("pbulk-build: Inconsistent build info from server")
                && err.lines().count() == 1,
            "{err}"
        );
    }
    // No script ran for any of them.
    assert!(saved(&t).is_empty(), "{:?}", saved(&t));
}

/// Twelve packages in four levels; liba-1 is the one whose build is killed.
const PACKAGES: [(&str, &str); 12] = [
    ("base-1", ""),
    ("liba-1", "base-1"),
    ("libb-1", "base-1"),
    ("libc-1", "base-1"),
    ("appa-1", "liba-1"),
    ("appb-1", "liba-1 libb-1"),
    ("appc-1", "libb-1"),
    ("appd-1", "libc-1"),
    ("appe-1", "libc-1 liba-1"),
    ("solo-1", ""),
    ("solo-2", ""),
    ("meta-1", "appa-1 appb-1 appc-1"),
];
const VICTIM: &str = "liba-1";

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

#[test]
fn a_client_killed_mid_build_loses_nothing() {
    let input: String = PACKAGES.iter().map(|(n, d)| rec(n, d)).collect();
    let t = Tree::new(&input);
    let dir = t.dir.path().display().to_string();
    let port = free_port();
    // Each client has its own build script: it notes the start (with its
    // pid and its client's), builds for a moment and writes the ledger
    // line last. The first build of the victim hangs until it is killed.
    for i in 1..=4 {
        t.script(
            &format!("b{i}.sh"),
            &format!(
                "#!/bin/sh\nIFS= read -r l\nn=${{l#PKGNAME=}}\ncat > /dev/null\n\
                 echo \"$n $$ $PPID {i}\" >> {dir}/starts\n\
                 if [ \"$n\" = {VICTIM} ] && mkdir {dir}/victim.lock 2>/dev/null; then\n\
                 echo \"$$ $PPID {i}\" > {dir}/hanging; sleep 20; fi\n\
                 sleep 0.1\necho \"$n\" >> {dir}/ledger\necho \"$n\" >> {dir}/ledger.{i}\nexit 0\n"
            ),
        );
    }
    // The start script launches the four clients, each in a session of
    // its own (so its process group can be killed), and notes their exit
    // statuses.
    let start = t.script(
        "start.sh",
        &format!(
            "#!/bin/sh\nfor i in 1 2 3 4; do\n  \
             ( setsid {bin} -v -c 127.0.0.1:{port} -b {dir}/b$i.sh >{dir}/client$i.out \
             2>{dir}/client$i.err </dev/null; echo $? >{dir}/client$i.rc ) >/dev/null 2>&1 </dev/null &\n\
             done\nexit 0\n",
            bin = pbulk_build().display()
        ),
    );
    let began = Instant::now();
    let m = t.master(
        port,
        &["-v", "-r", "report", "-I", start.to_str().unwrap()],
        &[],
    );

    // Wait for the victim's build, then kill its client's process group:
    // the client and the build script at once.
    wait_for("the victim's build to start", || {
        t.read("hanging").ends_with('\n')
    });
    let f: Vec<i32> = t
        .read("hanging")
        .split_whitespace()
        .map(|x| x.parse().unwrap())
        .collect();
    let (script_pid, client_pid, id) = (f[0], f[1], f[2]);
    let pgid = pgid_of(script_pid).expect("the victim's script is running");
    let ours = nix::unistd::getpgrp().as_raw();
    assert_eq!(pgid, client_pid, "the client leads its own process group");
    assert_ne!(pgid, ours);
    nix::sys::signal::killpg(
        nix::unistd::Pid::from_raw(pgid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();

    let o = m.finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.starts_with("pbulk-build: Lost client 127.0.0.1:")
            && err.ends_with(&format!(
                " while it built {VICTIM}; the job is handed out again\n"
            ))
            && err.lines().count() == 1,
        "{err}"
    );
    let names: Vec<String> = sorted(PACKAGES.iter().map(|(n, _)| n.to_string()).collect());
    let owned = |s: &str| -> Vec<String> { s.lines().map(String::from).collect() };

    // Every package succeeded exactly once, after its dependencies.
    let success = owned(&t.read("success"));
    assert_eq!(sorted(success.clone()), names, "{success:?}");
    for (n, deps) in PACKAGES {
        let at = success.iter().position(|s| s == n).unwrap();
        for d in deps.split(' ').filter(|d| !d.is_empty()) {
            assert!(success[..at].iter().any(|s| s == d), "{n} before {d}");
        }
    }
    assert_eq!(t.read("error"), "");
    // Every build script completed exactly once: the killed one wrote
    // nothing, the victim was built again elsewhere.
    let ledger = owned(&t.read("ledger"));
    assert_eq!(sorted(ledger), names);
    let starts = t.read("starts");
    assert_eq!(starts.lines().count(), 13, "{starts}");
    let victim_starts: Vec<&str> = starts
        .lines()
        .filter(|l| l.starts_with(&format!("{VICTIM} ")))
        .collect();
    assert_eq!(victim_starts.len(), 2, "{starts}");
    assert!(!victim_starts[1].ends_with(&format!(" {id}")), "{starts}");
    let report = t.read("report");
    assert_eq!(report.lines().count(), 12);
    assert!(report.lines().all(|l| l.contains("|done||")), "{report}");

    // The master handed the victim out twice and logged it once.
    let out = text(&o.stdout);
    let count = |pat: &str| out.lines().filter(|l| l.ends_with(pat)).count();
    assert_eq!(count(&format!("Starting build of  {VICTIM}")), 2, "{out}");
    assert_eq!(count(&format!("Successfully built {VICTIM}")), 1, "{out}");
    assert_eq!(
        out.lines()
            .filter(|l| l.contains("Successfully built"))
            .count(),
        12
    );

    // The clients: the killed one by SIGKILL, the others ended by the
    // master; each announced exactly the builds its ledger holds (the
    // killed one also the build it died in).
    wait_for("the clients to end", || {
        (1..=4).all(|i| t.read(&format!("client{i}.rc")).ends_with('\n'))
    });
    for i in 1..=4 {
        let rc = t.read(&format!("client{i}.rc"));
        let err = t.read(&format!("client{i}.err"));
        let mut built = owned(&t.read(&format!("ledger.{i}")));
        if i == id {
            assert_eq!(rc, "137\n");
            // At most the shell's note that its child was killed.
            assert!(!err.contains("pbulk-build"), "client {i}: {err}");
            built.push(VICTIM.to_string());
        } else {
            assert_eq!(rc, "0\n", "client {i}: {err}");
            assert_eq!(err, "", "client {i}");
        }
        let announced: Vec<String> = t
            .read(&format!("client{i}.out"))
            .lines()
            .map(|l| l.strip_prefix("Building package ").unwrap().to_string())
            .collect();
        assert_eq!(announced, built, "client {i}");
    }
    assert!(
        began.elapsed() < Duration::from_secs(10),
        "{:?}",
        began.elapsed()
    );
}

#[test]
fn bad_addresses_and_settings() {
    let t = Tree::new(&rec("aaa-1", ""));
    let o = t.load_and_run(&["-m", "host:"]);
    assert_eq!(o.0, Some(1));
    assert_eq!(
        o.1,
        "pbulk-build: invalid network address with empty port: host:\n\
         pbulk-build: Could not create listen socket for host:\n"
    );
    // A port someone else listens on.
    let busy = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = format!("127.0.0.1:{}", busy.local_addr().unwrap().port());
    let o = t.load_and_run(&["-m", &addr]);
    assert_eq!(
        o,
        (
            Some(1),
            format!("pbulk-build: Could not create listen socket for {addr}\n")
        )
    );
    drop(busy);

    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    for args in [&["-c", &addr, "-b", "b.sh"][..], &["-s", &addr]] {
        let o = Proc::spawn(&mut t.cmd(args)).finish();
        assert_eq!(o.status.code(), Some(1), "{args:?}");
        assert_eq!(
            text(&o.stderr),
            format!("pbulk-build: Could not create connection to {addr}: Connection refused\n"),
            "{args:?}"
        );
        assert_eq!(text(&o.stdout), "");
    }
    let o = Proc::spawn(&mut t.cmd(&["-c", "host:", "-b", "b.sh"])).finish();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "pbulk-build: invalid network address with empty port: host:\n\
         pbulk-build: Could not create connection to host:\n"
    );

    let o = t
        .master(free_port(), &[], &[("PBULK_BUILD_CLIENT_TIMEOUT", "soon")])
        .finish();
    assert_eq!(o.status.code(), Some(1));
    assert_eq!(
        text(&o.stderr),
        "pbulk-build: PBULK_BUILD_CLIENT_TIMEOUT must be a number of seconds, not `soon`\n"
    );
}
