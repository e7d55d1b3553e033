//! A whole bulk build in `master_mode=yes`: pbulk-scan and pbulk-build run
//! as TCP masters on 127.0.0.1, the installed start scripts reach four
//! "hosts" through a stand-in `ssh` that runs the command here, and the
//! result must equal a local (`master_mode=no`) run of the same tree.

use crate::support::bulk as bulk_support;

use std::fs;
use std::net::TcpListener;

use bulk_support::{chmod_x, expected, sorted, Site};

const HOSTS: [&str; 4] = ["h1", "h2", "h3:2222", "h4"];

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

#[test]
fn master_and_four_clients_give_the_local_result() {
    let local = Site::new("");
    let out = local.run("bulkbuild", &[]);
    assert!(
        out.status.success(),
        "local bulkbuild: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let (scan_port, build_port) = (free_port(), free_port());
    let site = Site::new("");
    let conf = fs::read_to_string(site.conf()).unwrap();
    fs::write(
        site.conf(),
        format!(
            "{conf}master_mode=yes\nmaster_ip=127.0.0.1\nmaster_port_scan=127.0.0.1:{scan_port}\n\
             master_port_build=127.0.0.1:{build_port}\nscan_clients=\"{h}\"\nbuild_clients=\"{h}\"\n\
             prefix={w}pkg-${{PBULK_TEST_HOST:-master}}\npkgdb=${{prefix}}/pkgdb\n",
            h = HOSTS.join(" "),
            w = site.path("").display(),
        ),
    )
    .unwrap();
    for h in HOSTS {
        let name = h.split(':').next().unwrap();
        site.write_mk_conf(name, &format!("pkg-{name}"));
    }
    // ssh [-p port] host command: run the command here as that host, and
    // note the call.
    let bin = site.path("sshbin");
    fs::create_dir_all(&bin).unwrap();
    let ssh = bin.join("ssh");
    fs::write(
        &ssh,
        format!(
            "#!/bin/sh\n[ \"$1\" = -p ] && shift 2\nhost=$1; shift\necho \"$host\" >> {}\n\
             PBULK_TEST_HOST=$host PKG_ADD_TEST_PREFIX={w}pkg-$host exec /bin/sh -c \"$*\"\n",
            site.path("ssh-calls").display(),
            w = site.path("").display(),
        ),
    )
    .unwrap();
    chmod_x(&ssh);
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );

    let out = site.cmd("bulkbuild").env("PATH", path).output().unwrap();
    assert!(
        out.status.success(),
        "master-mode bulkbuild failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // Every host was prepared and served both phases.
    let calls = site.lines("ssh-calls");
    for h in ["h1", "h2", "h3", "h4"] {
        assert!(
            calls.iter().filter(|c| *c == h).count() >= 3,
            "{h} in {calls:?}"
        );
    }
    // The same scan, resolution and build results as the local run. Only
    // the mk.conf each host scanned with (in SCAN_DEPENDS) differs.
    let norm = |s: &Site| {
        let text = s.read("bulklog/meta/presolve");
        let dir = format!("{}mk.conf.", s.path("").display());
        let mut out = String::new();
        for line in text.lines() {
            let words: Vec<String> = line
                .split(' ')
                .map(|w| match w.strip_prefix(&dir) {
                    Some(_) => "MK_CONF".to_string(),
                    None => w.to_string(),
                })
                .collect();
            out.push_str(&words.join(" "));
            out.push('\n');
        }
        out
    };
    assert!(norm(&site).contains("MK_CONF"));
    assert_eq!(
        norm(&site),
        norm(&local),
        "meta/presolve differs from the local run"
    );
    // A package failing here only: its logs say why.
    let want_failed = expected("failed");
    for name in site.lines("bulklog/meta/error") {
        if want_failed.contains(&name) {
            continue;
        }
        let dir = site.path(&format!("bulklog/{name}"));
        for e in fs::read_dir(&dir).into_iter().flatten().flatten() {
            eprintln!(
                "== {}:\n{}",
                e.path().display(),
                fs::read_to_string(e.path()).unwrap_or_default()
            );
        }
    }
    assert_eq!(
        site.read("bulklog/meta/pbuild"),
        local.read("bulklog/meta/pbuild"),
        "meta/pbuild differs from the local run"
    );
    assert_eq!(sorted(site.lines("bulklog/meta/success")), expected("done"));
    assert_eq!(sorted(site.lines("bulklog/meta/error")), expected("failed"));
    // Each package was packaged once, whichever client built it.
    assert_eq!(sorted(site.ledger()), sorted(local.ledger()));
}
