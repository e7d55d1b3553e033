//! Whole scans through a master and real clients on 127.0.0.1: the output
//! equals the local scan's of the same tree, for a fake tree full of
//! awkward packages, for the example tree with bmake (4 clients started by
//! the `-I` script), and when a client is killed in the middle of a job.

use crate::support::common;
use crate::support::example_tree as example_tree_util;
use crate::support::scan_fake;
use crate::support::scan_net as scan_net_util;

use std::path::Path;
use std::process::Command;

use scan_fake::{record, scanned, text, write_exec, Tree};
use scan_net_util::*;

/// A start script that starts `n` clients in the background and exits.
fn start_script(path: &Path, n: usize, port: u16, make: &Path, tree: &Path, log: &Path) {
    let mut s = String::from("#!/bin/sh\n");
    for i in 0..n {
        s += &format!(
            "'{}' -c 127.0.0.1:{port} -L /nonexistent -M '{}' '{}' > '{}.{i}' 2>&1 &\n",
            common::bin("pbulk-scan").display(),
            make.display(),
            tree.display(),
            log.display()
        );
    }
    write_exec(path, &s);
}

const LEAKY: [&str; 6] = [
    "MAKEFLAGS",
    "MFLAGS",
    "MAKELEVEL",
    "MAKECONF",
    "MAKEOBJDIR",
    "USER_ADDITIONAL_PKGS",
];

fn scan_cmd(make: &Path, args: &[&str], tree: &Path, out: &Path) -> Command {
    let mut c = Command::new(common::bin("pbulk-scan"));
    for v in LEAKY {
        c.env_remove(v);
    }
    c.arg("-M").arg(make).args(args).arg(tree).arg(out);
    c.stdin(std::process::Stdio::null());
    c
}

/// Scan `tree` locally and through a master with `clients` clients; both
/// must write the same output and the same warnings.
fn local_and_master(tmp: &Path, make: &Path, tree: &Path, clients: usize) -> (Vec<u8>, String) {
    let local_out = tmp.join("local.out");
    let local = scan_cmd(make, &["-v"], tree, &local_out).output().unwrap();
    assert_eq!(local.status.code(), Some(0), "{}", text(&local.stderr));
    let port = free_port();
    let start = tmp.join("start.sh");
    start_script(&start, clients, port, make, tree, &tmp.join("client.log"));
    let master_out = tmp.join("master.out");
    let m = Proc::spawn(&mut scan_cmd(
        make,
        &[
            "-v",
            "-I",
            start.to_str().unwrap(),
            "-m",
            &format!("127.0.0.1:{port}"),
        ],
        tree,
        &master_out,
    ))
    .finish();
    assert_eq!(m.status.code(), Some(0), "{}", text(&m.stderr));
    let local_bytes = std::fs::read(&local_out).unwrap();
    assert_eq!(
        text(&std::fs::read(&master_out).unwrap()),
        text(&local_bytes)
    );
    // The writer's warnings are the same; the listing failures are the
    // clients' to report, so they appear in a client log instead.
    let writer_lines = |s: &str| -> Vec<String> {
        s.lines()
            .filter(|l| l.starts_with("pbulk-scan: ") && !l.contains("Cannot extract"))
            .map(str::to_owned)
            .collect()
    };
    assert_eq!(
        writer_lines(&text(&m.stderr)),
        writer_lines(&text(&local.stderr))
    );
    // One more dot line: the find_full_tree pseudo job counts as a job.
    let dots = |o: &[u8]| text(o).matches('.').count();
    assert_eq!(dots(&m.stdout), dots(&local.stdout) + 1);
    (local_bytes, text(&m.stderr))
}

#[test]
fn fake_tree_through_master_and_clients() {
    let t = Tree::new();
    t.subdirs("", "cat1 broken cat2 wip/extra\n");
    t.subdirs("cat1", "a b multi\n");
    t.file("broken", "README", b"no SUBDIR answer\n");
    t.subdirs("cat2", "dup fail garbage late\n");
    let a = record("a-1.0", "b>=1:../../cat1/b", "");
    let b = record("b-1.0", "", "");
    let m1 = record("py311-m-1", "", "") + "MULTI_VERSION= PYTHON_VERSION_REQD=311\n";
    let m2 = record("py312-m-1", "", "") + "MULTI_VERSION= PYTHON_VERSION_REQD=312\n";
    let dup_new = record("dupnew-1", "", "");
    t.package("cat1/a", &a);
    t.package("cat1/b", &b);
    t.package("cat1/multi", &(m1.clone() + &m2));
    t.package("cat2/dup", &(a.clone() + &dup_new));
    t.package("cat2/fail", &record("fail-1", "", ""));
    t.file("cat2/fail", "fail", b"");
    t.package("cat2/garbage", &format!("noise\n{}", record("g-1", "", "")));
    t.package("cat2/late", &record("late-1", "", ""));
    t.package("wip/extra", &record("extra-2", "", ""));
    let (out, stderr) = local_and_master(t.tmp.path(), &t.make, &t.root, 3);
    let expected = [
        scanned(&a, "cat1/a"),
        scanned(&b, "cat1/b"),
        scanned(&m1, "cat1/multi"),
        scanned(&m2, "cat1/multi"),
        scanned(&dup_new, "cat2/dup"),
        scanned(&record("late-1", "", ""), "cat2/late"),
        scanned(&record("extra-2", "", ""), "wip/extra"),
    ]
    .concat();
    assert_eq!(text(&out), expected);
    assert!(stderr.contains("pbulk-scan: Scan failed for cat2/fail\n"));
}

#[test]
fn example_tree_with_bmake_and_four_clients() {
    let tmp = tempfile::tempdir().unwrap();
    let tree = tmp.path().join("pkgsrc");
    let st = Command::new("cp")
        .arg("-R")
        .arg(example_tree_util::tree())
        .arg(&tree)
        .status()
        .unwrap();
    assert!(st.success());
    let bmake = Path::new("bmake");
    let (out, _) = local_and_master(tmp.path(), bmake, &tree, 4);
    assert!(out.len() > 1000);
    assert!(text(&out).matches("PKG_LOCATION=").count() >= 5);
}

#[test]
fn killed_client_loses_nothing() {
    let t = Tree::new();
    t.subdirs("", "cat\n");
    t.subdirs("cat", "slow b c\n");
    let recs: Vec<(String, String)> = ["slow", "b", "c"]
        .iter()
        .map(|p| (format!("cat/{p}"), record(&format!("{p}-1"), "", "")))
        .collect();
    for (loc, rec) in &recs {
        t.package(loc, rec);
    }
    t.file("cat/slow", "delay", b"2\n");
    let port = free_port();
    let addr = format!("127.0.0.1:{port}");
    let m = Proc::spawn(t.cmd(&["-m", &addr]).arg(&t.root).arg(t.path("out")));
    // A client connects once: the master must be listening first.
    wait_listening(port);
    // The first client enumerates the tree, then gets the slow package.
    let first = Proc::spawn(t.cmd(&["-c", &addr]).arg(&t.root));
    wait_for("the first client to scan cat/slow", || {
        std::fs::read_to_string(&t.log).is_ok_and(|l| l.contains("pbulk-index"))
    });
    let pid = first.pid();
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(pid),
        nix::sys::signal::Signal::SIGKILL,
    )
    .unwrap();
    let killed = first.finish();
    assert_eq!(
        std::os::unix::process::ExitStatusExt::signal(&killed.status),
        Some(9)
    );
    let second = Proc::spawn(t.cmd(&["-c", &addr]).arg(&t.root));
    let o = m.finish();
    assert_eq!(o.status.code(), Some(0), "{}", text(&o.stderr));
    let err = text(&o.stderr);
    assert!(
        err.starts_with("pbulk-scan: Lost client 127.0.0.1:")
            && err.ends_with(" while it scanned cat/slow; the job is handed out again\n")
            && err.lines().count() == 1,
        "{err}"
    );
    let expected: String = recs.iter().map(|(l, r)| scanned(r, l)).collect();
    assert_eq!(std::fs::read_to_string(t.path("out")).unwrap(), expected);
    assert_eq!(second.finish().status.code(), Some(0));
    // The slow package was scanned twice: once by each client.
    let calls = t.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| *c == "pbulk-index cat/slow")
            .count(),
        2,
        "{calls:?}"
    );
}
