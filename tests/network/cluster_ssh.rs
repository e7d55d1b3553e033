//! Master mode as pkgsrc's bulk-build guide runs it, on one machine: three
//! client "hosts", each a network namespace with its own address, hostname,
//! a private /tmp and a private `${prefix}`/`${pkgdb}` and work directory
//! at the same paths as everywhere, and a real sshd (key authentication
//! only) whose sessions see the site directory (bulk log, packages, the
//! pbulk install and its config) shared, as the guide's NFS mounts. The
//! master runs `bulkbuild` in a namespace of its own, bridged to the hosts,
//! reaching them with the real `ssh` exactly as the start scripts call it
//! (only `-F` with the test's client config is added by an `ssh` in PATH:
//! ssh reads `~/.ssh` from the password database, not from `HOME`). The
//! result must equal a local build of the same tree, also when one host's
//! sshd is down from the start and another host's client is killed in the
//! middle of a build.
//!
//! Needs root, `ip netns`, `unshare`, `mount` and Debian's openssh-server
//! and openssh-client; without them the tests say so in one line and pass,
//! except under `CI=true`, where they fail.

use crate::support::bulk as bulk_support;
use crate::support::common;
use crate::support::net as net_util;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use bulk_support::{chmod_x, expected, sorted, Site};
use net_util::{text, wait_for, Proc};

/// The hosts' network, private to the test's namespaces (no address of it
/// exists outside them, so every cluster may use the same one).
const NET: &str = "10.231.0";
/// Every wait of these tests gives up after this long.
const LIMIT: Duration = Duration::from_secs(120);

/// Run a command to its end; its failure as one line.
fn run(cmd: &mut Command) -> Result<Output, String> {
    let out = cmd
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("{:?}: {e}", cmd.get_program()))?;
    if out.status.success() {
        Ok(out)
    } else {
        Err(format!(
            "{:?} {:?}: {}",
            cmd.get_program(),
            cmd.get_args().collect::<Vec<_>>(),
            text(&out.stderr).trim()
        ))
    }
}

fn ip(args: &[&str]) -> Result<Output, String> {
    run(Command::new("ip").args(args))
}

/// Why the cluster cannot be had here, if it cannot: the tools, then a
/// namespace `tag` really made, with a hostname and a mount of its own.
fn unavailable(tag: &str) -> Option<String> {
    if nix::unistd::geteuid().as_raw() != 0 {
        return Some("not root (network and mount namespaces need it)".into());
    }
    for p in ["/usr/sbin/sshd", "/usr/bin/ssh", "/usr/bin/ssh-keygen"] {
        if !Path::new(p).exists() {
            return Some(format!("{p} missing (openssh-server, openssh-client)"));
        }
    }
    for tool in ["ip", "ss", "unshare", "mount"] {
        if Command::new(tool)
            .arg("-V")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_err()
        {
            return Some(format!("{tool} missing (iproute2, util-linux, mount)"));
        }
    }
    let ns = format!("pbrs-cluster-{}-{tag}-probe", std::process::id());
    let sh = "hostname pbrs-cluster-probe && mount -t tmpfs pbrs-cluster /tmp";
    let probe = ip(&["netns", "add", &ns])
        .and_then(|_| ip(&["netns", "exec", &ns, "unshare", "--uts", "sh", "-c", sh]));
    let _ = ip(&["netns", "del", &ns]);
    probe.err()
}

/// Whether the tests run: print the one line and return false where they
/// cannot, unless `CI=true` demands them.
fn cluster_possible(test: &str, tag: &str) -> bool {
    match unavailable(tag) {
        None => true,
        Some(why) => {
            common::skip(test, &format!("no test cluster here: {why}"));
            false
        }
    }
}

/// Kill (SIGKILL) every process in network namespace `ns` but `keep`,
/// until none is left. All of them were started by this test: by the
/// sshd it started there.
fn kill_in(ns: &str, keep: Option<u32>) {
    for _ in 0..100 {
        let Ok(out) = ip(&["netns", "pids", ns]) else {
            return;
        };
        let pids: Vec<i32> = text(&out.stdout)
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .filter(|p| Some(*p as u32) != keep)
            .collect();
        if pids.is_empty() {
            return;
        }
        for p in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(p),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// Remove the namespaces a killed earlier run of these tests left (their
/// names carry the pid of a process that no longer exists).
fn remove_stale() {
    let Ok(out) = ip(&["netns", "list"]) else {
        return;
    };
    for line in text(&out.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(rest) = name.strip_prefix("pbrs-cluster-") else {
            continue;
        };
        let pid = rest.split('-').next().unwrap_or("");
        if !pid.is_empty() && !Path::new(&format!("/proc/{pid}")).exists() {
            kill_in(name, None);
            let _ = ip(&["netns", "del", name]);
        }
    }
}

/// A `Command` run inside network namespace `ns` (and the mount namespace
/// `ip netns exec` makes), with the program, arguments and environment of
/// `cmd`.
fn in_ns(ns: &str, cmd: &Command) -> Command {
    let mut c = Command::new("ip");
    c.args(["netns", "exec", ns])
        .arg(cmd.get_program())
        .args(cmd.get_args());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => c.env(k, v),
            None => c.env_remove(k),
        };
    }
    if let Some(d) = cmd.get_current_dir() {
        c.current_dir(d);
    }
    c.stdin(Stdio::null());
    c
}

/// One client host.
struct Host {
    ns: String,
    addr: String,
    dir: PathBuf,
    sshd: Option<Child>,
}

/// The master's namespace, bridged to the hosts', and the ssh setup; all
/// torn down on drop, also when a test fails.
struct Cluster {
    master: String,
    hosts: Vec<Host>,
    /// Holds the keys, the ssh configs and the `ssh` put first in PATH.
    dir: PathBuf,
}

impl Cluster {
    /// Make `n` hosts named `pbrs-cluster-<pid>-<tag>-<i>` serving `site`.
    fn new(site: &Site, tag: &str, n: usize) -> Cluster {
        let mut c = Cluster::network_only(site.path("cluster"), tag, n);
        c.keys_and_ssh();
        for i in 0..n {
            c.start_sshd(site, i);
        }
        c
    }

    /// The namespaces and their network only; `dir` for the test's files.
    fn network_only(dir: PathBuf, tag: &str, n: usize) -> Cluster {
        remove_stale();
        let base = format!("pbrs-cluster-{}-{tag}", std::process::id());
        fs::create_dir_all(dir.join("bin")).unwrap();
        let mut c = Cluster {
            master: format!("{base}-m"),
            hosts: Vec::new(),
            dir,
        };
        if let Err(e) = c.network(&base, n) {
            panic!("cannot make the test cluster's network: {e}");
        }
        c
    }

    fn network(&mut self, base: &str, n: usize) -> Result<(), String> {
        let m = self.master.clone();
        ip(&["netns", "add", &m])?;
        ip(&["-n", &m, "link", "set", "lo", "up"])?;
        ip(&["-n", &m, "link", "add", "br0", "type", "bridge"])?;
        ip(&[
            "-n",
            &m,
            "addr",
            "add",
            &format!("{NET}.1/24"),
            "dev",
            "br0",
        ])?;
        ip(&["-n", &m, "link", "set", "br0", "up"])?;
        for i in 1..=n {
            let ns = format!("{base}-{i}");
            let addr = format!("{NET}.{}", i + 1);
            ip(&["netns", "add", &ns])?;
            self.hosts.push(Host {
                ns: ns.clone(),
                addr: addr.clone(),
                dir: self.dir.join(format!("host{i}")),
                sshd: None,
            });
            let port = format!("v{i}");
            ip(&[
                "-n", &m, "link", "add", &port, "type", "veth", "peer", "name", "eth0", "netns",
                &ns,
            ])?;
            ip(&["-n", &m, "link", "set", &port, "master", "br0"])?;
            ip(&["-n", &m, "link", "set", &port, "up"])?;
            ip(&["-n", &ns, "link", "set", "lo", "up"])?;
            ip(&[
                "-n",
                &ns,
                "addr",
                "add",
                &format!("{addr}/24"),
                "dev",
                "eth0",
            ])?;
            ip(&["-n", &ns, "link", "set", "eth0", "up"])?;
        }
        Ok(())
    }

    fn keygen(path: &Path) -> String {
        run(Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-C", "pbrs-cluster", "-f"])
            .arg(path))
        .unwrap();
        fs::read_to_string(path.with_extension("pub")).unwrap()
    }

    /// The client key, every host's key in known_hosts, the client config
    /// and the `ssh` that uses it.
    fn keys_and_ssh(&mut self) {
        let d = &self.dir;
        let id = Self::keygen(&d.join("id"));
        fs::write(d.join("authorized_keys"), id).unwrap();
        let mut known = String::new();
        for h in &self.hosts {
            fs::create_dir_all(h.dir.join("pkg")).unwrap();
            fs::create_dir_all(h.dir.join("work")).unwrap();
            let key = Self::keygen(&h.dir.join("hostkey"));
            known.push_str(&format!("{} {key}", h.addr));
        }
        fs::write(d.join("known_hosts"), known).unwrap();
        fs::write(
            d.join("ssh_config"),
            format!(
                "Host *\n  IdentityFile {d}/id\n  IdentitiesOnly yes\n  \
                 UserKnownHostsFile {d}/known_hosts\n  GlobalKnownHostsFile /dev/null\n  \
                 StrictHostKeyChecking yes\n  BatchMode yes\n  ConnectTimeout 10\n",
                d = d.display()
            ),
        )
        .unwrap();
        let ssh = d.join("bin/ssh");
        fs::write(
            &ssh,
            format!(
                "#!/bin/sh\nexec /usr/bin/ssh -F {} \"$@\"\n",
                d.join("ssh_config").display()
            ),
        )
        .unwrap();
        chmod_x(&ssh);
    }

    /// Start host `i`'s sshd in its namespaces: a new hostname, a tmpfs on
    /// /tmp with the site directory bound back in (opened before /tmp is
    /// covered), the host's own prefix and work directory bound over the
    /// site's, and a tmpfs on /run for sshd's privilege separation
    /// directory.
    fn start_sshd(&mut self, site: &Site, i: usize) {
        let w = site.path("");
        let w = w.to_str().unwrap().trim_end_matches('/');
        let h = &mut self.hosts[i];
        let hd = h.dir.display().to_string();
        fs::write(
            h.dir.join("sshd_config"),
            format!(
                "ListenAddress {}:22\nHostKey {hd}/hostkey\nAuthorizedKeysFile {}/authorized_keys\n\
                 PubkeyAuthentication yes\nPasswordAuthentication no\nKbdInteractiveAuthentication no\n\
                 PermitRootLogin prohibit-password\nUsePAM no\nStrictModes no\nUseDNS no\n\
                 PrintMotd no\nMaxStartups 100\nPidFile {hd}/sshd.pid\n\
                 SetEnv PBULK_LIBEXECDIR={w}/pbulk/libexec/pbulk\n",
                h.addr,
                self.dir.display()
            ),
        )
        .unwrap();
        let script = format!(
            "set -e\nhostname {ns}\nexec 3<'{w}'\nmount -t tmpfs pbrs-cluster /tmp\nmkdir -p '{w}'\n\
             mount --no-canonicalize --bind /proc/self/fd/3 '{w}'\nexec 3<&-\n\
             mount --bind '{hd}/pkg' '{w}/pkg'\nmount --bind '{hd}/work' '{w}/work-master'\n\
             mount -t tmpfs pbrs-cluster /run\nmkdir -m 755 /run/sshd\n\
             exec /usr/sbin/sshd -D -e -f '{hd}/sshd_config'\n",
            ns = h.ns
        );
        fs::create_dir_all(site.path("pkg")).unwrap();
        fs::create_dir_all(site.path("work-master")).unwrap();
        let log = fs::File::create(h.dir.join("sshd.log")).unwrap();
        let child = Command::new("ip")
            .args([
                "netns", "exec", &h.ns, "unshare", "--uts", "sh", "-c", &script,
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        h.sshd = Some(child);
        let pidfile = h.dir.join("sshd.pid");
        let start = Instant::now();
        while !pidfile.exists() {
            let exited = h.sshd.as_mut().unwrap().try_wait().unwrap();
            if exited.is_some() || start.elapsed() > LIMIT {
                panic!(
                    "sshd of {} did not start: {}",
                    h.ns,
                    fs::read_to_string(h.dir.join("sshd.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Stop host `i`'s sshd (it refuses connections from now on).
    fn stop_sshd(&mut self, i: usize) {
        if let Some(mut c) = self.hosts[i].sshd.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    fn sshd_log(&self, i: usize) -> String {
        fs::read_to_string(self.hosts[i].dir.join("sshd.log")).unwrap_or_default()
    }

    fn words(&self) -> String {
        let a: Vec<&str> = self.hosts.iter().map(|h| h.addr.as_str()).collect();
        a.join(" ")
    }

    /// The master-mode settings for `site`.
    fn configure(&self, site: &Site) {
        let conf = fs::read_to_string(site.conf()).unwrap();
        fs::write(
            site.conf(),
            format!(
                "{conf}master_mode=yes\nmaster_ip={NET}.1\nmaster_port_scan={NET}.1:2001\n\
                 master_port_build={NET}.1:2002\nscan_clients=\"{h}\"\nbuild_clients=\"{h}\"\n",
                h = self.words()
            ),
        )
        .unwrap();
    }

    /// `bulkbuild` in the master's namespace, with the test's `ssh` first
    /// in PATH; started, not waited for.
    fn bulkbuild(&self, site: &Site) -> Child {
        let mut cmd = site.cmd("bulkbuild");
        let path = format!(
            "{}:{}",
            self.dir.join("bin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env("PATH", path);
        in_ns(&self.master, &cmd)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for h in &mut self.hosts {
            if let Some(c) = &mut h.sshd {
                let _ = c.kill();
                let _ = c.wait();
            }
            kill_in(&h.ns, None);
            let _ = ip(&["netns", "del", &h.ns]);
        }
        kill_in(&self.master, None);
        let _ = ip(&["netns", "del", &self.master]);
    }
}

/// Wait (bounded) for a started bulkbuild and collect its output.
fn finish(mut child: Child) -> Output {
    let start = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if start.elapsed() > 3 * LIMIT {
            let _ = child.kill();
            let o = child.wait_with_output().unwrap();
            panic!(
                "bulkbuild did not finish in time:\n{}\n{}",
                text(&o.stdout),
                text(&o.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

/// What a bulk build leaves that must not depend on where it ran.
#[derive(Debug, PartialEq)]
struct Outcome {
    presolve: String,
    pbuild: String,
    success: Vec<String>,
    error: Vec<String>,
    report_txt: String,
    report_html: String,
    packages: Vec<String>,
    ledger: Vec<String>,
}

impl Outcome {
    fn of(site: &Site) -> Outcome {
        let w = site.path("").display().to_string();
        // The site's own directory appears in the scan (SCAN_DEPENDS names
        // mk.conf) and the reports give the build's start and end; nothing
        // else may differ.
        let norm = |s: String| s.replace(&w, "@W@/");
        let report = |name: &str| undate(&norm(site.read(&format!("bulklog/meta/{name}"))));
        let mut packages: Vec<String> = fs::read_dir(site.path("packages/All"))
            .map(|d| {
                d.flatten()
                    .map(|e| e.file_name().to_string_lossy().into_owned())
                    .collect()
            })
            .unwrap_or_default();
        packages.sort();
        Outcome {
            presolve: norm(site.read("bulklog/meta/presolve")),
            pbuild: site.read("bulklog/meta/pbuild"),
            success: sorted(site.lines("bulklog/meta/success")),
            error: sorted(site.lines("bulklog/meta/error")),
            report_txt: report("report.txt"),
            report_html: report("report.html"),
            packages,
            ledger: sorted(site.ledger()),
        }
    }
}

/// `s` with every build stamp (`YYYYMMDD.HHMM`, in the reports' URLs) and
/// date and time (`YYYY-MM-DD HH:MM`) replaced by `@`.
fn undate(s: &str) -> String {
    // A pattern character: `9` any digit, others themselves.
    let at = |b: &[u8], i: usize, pat: &[u8]| {
        (i == 0 || !b[i - 1].is_ascii_digit())
            && b.len() >= i + pat.len()
            && pat.iter().zip(&b[i..]).all(|(p, c)| match p {
                b'9' => c.is_ascii_digit(),
                _ => p == c,
            })
    };
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let stamps: [&[u8]; 2] = [b"99999999.9999", b"9999-99-99 99:99"];
        match stamps.iter().find(|p| at(b, i, p)) {
            Some(p) => {
                out.push(b'@');
                i += p.len();
            }
            None => {
                out.push(b[i]);
                i += 1;
            }
        }
    }
    String::from_utf8(out).unwrap()
}

/// The outcome of a local (`master_mode=no`) build of the example tree,
/// made once for all tests of this file.
fn local() -> &'static Outcome {
    static LOCAL: OnceLock<Outcome> = OnceLock::new();
    LOCAL.get_or_init(|| {
        let site = Site::new("");
        site.copy_tree();
        let out = site.run("bulkbuild", &[]);
        assert!(
            out.status.success(),
            "local bulkbuild: {}",
            text(&out.stderr)
        );
        let o = Outcome::of(&site);
        assert_eq!(o.success, expected("done"));
        assert_eq!(o.error, expected("failed"));
        o
    })
}

/// Compare a cluster's outcome with the local one, field by field for
/// readable failures.
fn assert_local_result(site: &Site) {
    let got = Outcome::of(site);
    let want = local();
    assert_eq!(got.presolve, want.presolve, "meta/presolve");
    assert_eq!(got.pbuild, want.pbuild, "meta/pbuild");
    assert_eq!(got.success, want.success, "meta/success");
    assert_eq!(got.error, want.error, "meta/error");
    assert_eq!(got.report_txt, want.report_txt, "meta/report.txt");
    assert_eq!(got.report_html, want.report_html, "meta/report.html");
    assert_eq!(got.packages, want.packages, "packages/All");
    assert_eq!(got.ledger, want.ledger, "packages made (each once)");
}

fn check_ok(what: &str, out: &Output) {
    assert!(
        out.status.success(),
        "{what}:\n{}\n{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}

#[test]
fn three_hosts_over_ssh_give_the_local_result() {
    if !cluster_possible("three_hosts_over_ssh_give_the_local_result", "ok") {
        return;
    }
    let started = Instant::now();
    // The local reference builds meanwhile.
    std::thread::spawn(local);
    // The tree inside the site, which the hosts see: a clone below /tmp
    // is hidden by each host's private /tmp.
    let site = Site::new("");
    site.copy_tree();
    let cluster = Cluster::new(&site, "ok", 3);
    cluster.configure(&site);
    let out = finish(cluster.bulkbuild(&site));
    check_ok("master-mode bulkbuild", &out);
    // Every host served sessions: client-prepare, a scan client and a
    // build client each.
    for (i, h) in cluster.hosts.iter().enumerate() {
        let n = cluster.sshd_log(i).matches("Accepted publickey").count();
        assert!(n >= 3, "{} accepted {n} sessions", h.ns);
    }
    assert_local_result(&site);
    eprintln!(
        "three_hosts_over_ssh_give_the_local_result: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// The package whose build the fault test interrupts.
const GATED: &str = "devel/libmid";

#[test]
fn a_host_down_and_a_client_killed_mid_build_give_the_local_result() {
    if !cluster_possible(
        "a_host_down_and_a_client_killed_mid_build_give_the_local_result",
        "fault",
    ) {
        return;
    }
    let started = Instant::now();
    // The local reference builds meanwhile.
    std::thread::spawn(local);
    let site = Site::new("");
    site.copy_tree();
    // The first build of GATED ("make all" in its directory) notes its
    // host and waits until the test has killed that host's client.
    let gate = site.path("gate");
    let make = site.path("bin/make");
    let wrapper = fs::read_to_string(&make).unwrap().replacen(
        "#!/bin/sh\n",
        &format!(
            "#!/bin/sh\ncase \" $* \" in *\" all \"*)\n  case $PWD in */{GATED})\n    \
             if mkdir {g} 2>/dev/null; then\n      hostname > {g}/host.tmp && mv {g}/host.tmp {g}/host\n      \
             i=0; while [ ! -e {g}/release ] && [ $i -lt 1200 ]; do sleep 0.1; i=$((i+1)); done\n    \
             else hostname >> {g}/again; fi ;;\n  esac ;;\nesac\n",
            g = gate.display()
        ),
        1,
    );
    fs::write(&make, wrapper).unwrap();
    let mut cluster = Cluster::new(&site, "fault", 3);
    cluster.configure(&site);

    // Fault 1: the third host's sshd is down before the bulk build starts.
    cluster.stop_sshd(2);
    let t0 = Instant::now();
    let child = cluster.bulkbuild(&site);

    // Fault 2: the client building GATED is killed with everything it
    // started on its host, mid-build.
    let host_file = gate.join("host");
    let start = Instant::now();
    while !host_file.exists() {
        assert!(start.elapsed() < 2 * LIMIT, "{GATED} was never built");
        std::thread::sleep(Duration::from_millis(20));
    }
    let victim = fs::read_to_string(&host_file).unwrap().trim().to_string();
    let at = t0.elapsed();
    let i = cluster
        .hosts
        .iter()
        .position(|h| h.ns == victim)
        .unwrap_or_else(|| panic!("{GATED} built on unknown host {victim}"));
    assert_ne!(i, 2, "a host without sshd built {GATED}");
    let keep = cluster.hosts[i].sshd.as_ref().map(Child::id);
    kill_in(&cluster.hosts[i].ns, keep);
    fs::write(gate.join("release"), "").unwrap();
    let start = Instant::now();
    while !site
        .lines("bulklog/meta/success")
        .contains(&"libmid-2.1".to_string())
    {
        assert!(start.elapsed() < 2 * LIMIT, "{GATED} was not built again");
        std::thread::sleep(Duration::from_millis(20));
    }
    let rebuilt = t0.elapsed();

    let out = finish(child);
    let total = t0.elapsed();
    check_ok("master-mode bulkbuild with faults", &out);
    let err = text(&out.stderr);
    let scan_err = site.read("bulklog/meta/pscan.stderr");
    let again = site.read("gate/again");
    eprintln!(
        "fault run: {GATED} held by {victim} ({}), killed at {:.1} s, built again by {} \
         (done at {:.1} s), run ended at {:.1} s\nbulkbuild's stderr:\n{err}\
         meta/pscan.stderr:\n{scan_err}",
        cluster.hosts[i].addr,
        at.as_secs_f64(),
        again.trim(),
        rebuilt.as_secs_f64(),
        total.as_secs_f64()
    );
    assert_eq!(
        again.lines().collect::<Vec<_>>(),
        [cluster.hosts[1 - i].ns.as_str()],
        "{GATED} must be built again once, by the other live host"
    );
    // The master named the lost client and the job; ssh named the host
    // that refused.
    let lost = format!("Lost client {}:", cluster.hosts[i].addr);
    assert!(
        err.lines()
            .any(|l| l.contains(&lost) && l.contains("libmid-2.1")),
        "no `{lost}... libmid-2.1` line in:\n{err}"
    );
    let refused = format!(
        "connect to host {} port 22: Connection refused",
        cluster.hosts[2].addr
    );
    assert!(err.contains(&refused), "no `{refused}` in:\n{err}");
    // client-prepare and the scan client, started by the scan master.
    assert_eq!(scan_err.matches(&refused).count(), 2, "{scan_err}");
    assert_eq!(
        cluster.sshd_log(2).matches("Accepted publickey").count(),
        0,
        "the stopped host served a session"
    );
    assert_local_result(&site);
    eprintln!(
        "a_host_down_and_a_client_killed_mid_build_give_the_local_result: {:.1} s",
        started.elapsed().as_secs_f64()
    );
}

/// Wait until the TCP listeners in network namespace `ns` on `port`, as
/// `ss` shows them, are `want` (the sockets of one master are bound one
/// after the other).
fn assert_listening(ns: &str, port: u16, want: &[String]) {
    let mut seen = Vec::new();
    let mut ss = || {
        let out = ip(&["netns", "exec", ns, "ss", "-Hltn"]).unwrap();
        seen = text(&out.stdout)
            .lines()
            .filter_map(|l| l.split_whitespace().nth(3).map(str::to_string))
            .filter(|a| a.ends_with(&format!(":{port}")))
            .collect();
        seen.sort();
        seen == want
    };
    let start = Instant::now();
    while !ss() {
        assert!(
            start.elapsed() < LIMIT,
            "listeners on {port}: {seen:?}, not {want:?}"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn bare_port_masters_listen_on_every_address() {
    if !cluster_possible("bare_port_masters_listen_on_every_address", "port") {
        return;
    }
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let cluster = Cluster::network_only(d.join("cluster"), "port", 1);
    let (m, host) = (&cluster.master, &cluster.hosts[0].ns);
    // The wildcards of a bare port: IPv6's where the namespace has IPv6.
    let v6 =
        ip(&["netns", "exec", m, "cat", "/proc/net/if_inet6"]).is_ok_and(|o| !o.stdout.is_empty());
    let every = |port: u16| {
        let mut v = vec![format!("0.0.0.0:{port}")];
        v.extend(v6.then(|| format!("[::]:{port}")));
        v
    };

    // pbulk-build -m ADDR:PORT binds that address only; -m PORT every
    // address: a client on the other host reaches the master through the
    // master's network address and builds the one job.
    fs::write(
        d.join("presolve"),
        "PKGNAME=one-1\nPKG_LOCATION=cat/one\nPKG_SKIP_REASON=\nPKG_FAIL_REASON=\n\
         MULTI_VERSION=\nDEPENDS=\n",
    )
    .unwrap();
    let script = d.join("build-one");
    fs::write(&script, "#!/bin/sh\ncat > /dev/null\n").unwrap();
    chmod_x(&script);
    let master = |addr: &str| {
        let mut c = Command::new(common::bin("pbulk-build"));
        c.args(["-m", addr, "presolve", "success", "error"])
            .current_dir(d);
        Proc::spawn(&mut in_ns(m, &c))
    };
    let b = master("127.0.0.1:2004");
    assert_listening(m, 2004, &["127.0.0.1:2004".to_string()]);
    drop(b);
    let mut b = master("2002");
    assert_listening(m, 2002, &every(2002));
    let mut client = Command::new(common::bin("pbulk-build"));
    client
        .args(["-c", &format!("{NET}.1:2002"), "-b"])
        .arg(&script);
    check_ok(
        "pbulk-build -c over the network",
        &in_ns(host, &client).output().unwrap(),
    );
    wait_for("the master's end", || !b.running());
    check_ok("pbulk-build -m 2002", &b.finish());
    assert_eq!(fs::read_to_string(d.join("success")).unwrap(), "one-1\n");

    // pbulk-scan -m PORT the same; -m ADDR:PORT only that address. With
    // one directory to hand out, the master waits for a client.
    let scan = |addr: &str| {
        let mut c = Command::new(common::bin("pbulk-scan"));
        c.args(["-l", "-m", addr, "-M", "make", "/nonexistent"])
            .arg(d.join("pscan"));
        let mut p = Proc::spawn(in_ns(m, &c).stdin(Stdio::piped()));
        let mut stdin = p.0.as_mut().unwrap().stdin.take().unwrap();
        std::io::Write::write_all(&mut stdin, b"misc/hello\n").unwrap();
        p
    };
    let s = scan("2001");
    assert_listening(m, 2001, &every(2001));
    drop(s);
    let s = scan(&format!("{NET}.1:2003"));
    assert_listening(m, 2003, &[format!("{NET}.1:2003")]);
    drop(s);
}
