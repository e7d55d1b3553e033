//! client-clean, client-prepare and the two client start scripts, run as
//! programs against temporary trees; ssh and chroot are stand-ins in PATH
//! that log their arguments.

use crate::support::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

struct Fx {
    dir: tempfile::TempDir,
}

impl Fx {
    fn new() -> Fx {
        let fx = Fx {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(fx.p("fakebin")).unwrap();
        for tool in ["ssh", "chroot", "prep-chroot"] {
            write_exec(
                &fx.p(&format!("fakebin/{tool}")),
                &format!(
                    // One write per call, so a reader never sees half a line.
                    "#!/bin/sh\nline=$(printf '%s|' {tool} \"$@\")\n\
                     echo \"${{line}}PBULK_CONF=$PBULK_CONF\" >> {log}\n",
                    log = fx.p("calls.log").display()
                ),
            );
        }
        fx
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn conf(&self, body: &str) -> PathBuf {
        let c = self.p("pbulk.conf");
        std::fs::write(
            &c,
            format!(
                "config_version=0.68\nbulklog={}\n{body}",
                self.p("bulklog").display()
            ),
        )
        .unwrap();
        c
    }

    fn run(&self, prog: &str, body: &str) -> Output {
        let conf = self.conf(body);
        let path = format!(
            "{}:{}",
            self.p("fakebin").display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new(common::bin(prog))
            .env("PBULK_CONF", conf)
            .env("PATH", path)
            .output()
            .unwrap()
    }

    /// The logged calls, sorted (background jobs finish in any order).
    fn calls(&self) -> Vec<String> {
        let mut v: Vec<String> = std::fs::read_to_string(self.p("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(str::to_string)
            .collect();
        v.sort();
        v
    }

    /// Wait until `n` calls are logged (start scripts do not wait for jobs).
    fn wait_calls(&self, n: usize) -> Vec<String> {
        for _ in 0..1000 {
            let c = self.calls();
            if c.len() >= n {
                return c;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        self.calls()
    }

    /// A prefix with files, a pkgdb and a qmail queue to be wiped.
    fn dirty(&self, root: &Path) {
        for d in [
            "usr/pkg/bin",
            "usr/pkg/pkgdb/foo-1",
            "var/qmail/queue",
            "var/keep",
        ] {
            std::fs::create_dir_all(root.join(d)).unwrap();
        }
        std::fs::write(root.join("usr/pkg/bin/stale"), "").unwrap();
    }
}

fn write_exec(p: &Path, text: &str) {
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn clean_body(root: &Path, kit: &Path, extra: &str) -> String {
    format!(
        "prefix={r}/usr/pkg\npkgdb={r}/usr/pkg/pkgdb\nvarbase={r}/var\nbootstrapkit={}\ntar=tar\n\
         cross_compile=no\n{extra}",
        kit.display(),
        r = root.display()
    )
}

fn tree(dir: &Path) -> Vec<String> {
    let mut v = Vec::new();
    fn walk(base: &Path, d: &Path, v: &mut Vec<String>) {
        for e in std::fs::read_dir(d).into_iter().flatten().flatten() {
            let p = e.path();
            v.push(p.strip_prefix(base).unwrap().display().to_string());
            if p.is_dir() && !p.is_symlink() {
                walk(base, &p, v);
            }
        }
    }
    walk(dir, dir, &mut v);
    v.sort();
    v
}

#[test]
fn client_clean_with_a_tarball_kit() {
    let fx = Fx::new();
    let root = fx.p("root");
    fx.dirty(&root);
    // A kit made the way bootstrap makes one: paths relative to /.
    let stage = fx.p("stage");
    let rel = root.strip_prefix("/").unwrap().join("usr/pkg");
    std::fs::create_dir_all(stage.join(&rel).join("sbin")).unwrap();
    std::fs::write(stage.join(&rel).join("sbin/pkg_add"), "kit\n").unwrap();
    let kit = fx.p("bootstrap.tar.gz");
    // Only the prefix itself goes in: extracting parent entries such as
    // `tmp/` would reset the modes of the real /tmp.
    let st = Command::new("tar")
        .arg("-czf")
        .arg(&kit)
        .arg("-C")
        .arg(&stage)
        .arg(&rel)
        .status();
    assert!(st.unwrap().success());

    let out = fx.run("client-clean", &clean_body(&root, &kit, ""));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        tree(&root),
        [
            "usr",
            "usr/pkg",
            "usr/pkg/sbin",
            "usr/pkg/sbin/pkg_add",
            "var",
            "var/keep"
        ]
    );
    assert!(out.stdout.is_empty());
}

#[test]
fn client_clean_with_a_directory_kit() {
    let fx = Fx::new();
    let root = fx.p("root");
    fx.dirty(&root);
    let kit = fx.p("kit");
    std::fs::create_dir_all(kit.join("etc")).unwrap();
    std::fs::write(kit.join("etc/mk.conf"), "X=1\n").unwrap();
    std::fs::write(kit.join(".hidden"), "").unwrap();
    let out = fx.run("client-clean", &clean_body(&root, &kit, ""));
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // `cp -R kit/* prefix`: the glob skips dot-files.
    assert_eq!(
        tree(&root),
        [
            "usr",
            "usr/pkg",
            "usr/pkg/etc",
            "usr/pkg/etc/mk.conf",
            "var",
            "var/keep"
        ]
    );
}

#[test]
fn client_clean_cross_uses_the_destdir() {
    let fx = Fx::new();
    let dest = fx.p("dest");
    fx.dirty(&dest);
    fx.dirty(&fx.p("host"));
    let kit = fx.p("kit");
    std::fs::create_dir_all(&kit).unwrap();
    std::fs::write(kit.join("README"), "kit\n").unwrap();
    // prefix etc. name host paths; the destdir is put in front of them.
    let host = fx.p("host");
    let body = format!(
        "prefix={h}/usr/pkg\npkgdb={h}/usr/pkg/pkgdb\nvarbase={h}/var\nbootstrapkit={}\ntar=tar\n\
         cross_compile=yes\ntarget_destdir={}\n",
        kit.display(),
        dest.display(),
        h = host.display()
    );
    std::fs::create_dir_all(
        dest.join(host.strip_prefix("/").unwrap())
            .join("usr/pkg/bin"),
    )
    .unwrap();
    let out = fx.run("client-clean", &body);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let under = dest.join(host.strip_prefix("/").unwrap());
    assert!(
        host.join("usr/pkg/bin/stale").exists(),
        "the host prefix is left alone"
    );
    assert!(dest.join("usr/pkg/bin/stale").exists());
    // The reference tests the prefix without the destdir: it exists on the
    // host, so nothing is created and `cp -R kit/README prefix` makes the
    // prefix a copy of that one file. Reproduced as is.
    assert_eq!(tree(&under.join("usr")), ["pkg"]);
    assert_eq!(
        std::fs::read_to_string(under.join("usr/pkg")).unwrap(),
        "kit\n"
    );

    // Without the host prefix the destdir prefix is made and filled.
    std::fs::remove_dir_all(host.join("usr/pkg")).unwrap();
    let out = fx.run("client-clean", &body);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(tree(&under.join("usr")), ["pkg", "pkg/README"]);
}

#[test]
fn client_clean_failures() {
    // Missing tar: refused before anything is removed.
    let fx = Fx::new();
    let root = fx.p("root");
    fx.dirty(&root);
    let kit = fx.p("kit.tar.gz");
    std::fs::write(&kit, "not really").unwrap();
    let out = fx.run(
        "client-clean",
        &clean_body(&root, &kit, "tar=/nonexistent/tar\n"),
    );
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with("client-clean: cannot run tar=/nonexistent/tar (from "),
        "{err}"
    );
    assert!(root.join("usr/pkg/bin/stale").exists());

    // A broken tarball: tar's own status.
    let out = fx.run("client-clean", &clean_body(&root, &kit, ""));
    assert_ne!(out.status.code(), Some(0));
    assert!(!root.join("usr/pkg").exists());

    // An empty kit directory: cp meets the unexpanded glob and fails.
    let empty = fx.p("emptykit");
    std::fs::create_dir_all(&empty).unwrap();
    let out = fx.run("client-clean", &clean_body(&root, &empty, ""));
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("emptykit/*"));

    // No kit: only the wipe.
    fx.dirty(&root);
    let out = fx.run("client-clean", &clean_body(&root, Path::new(""), ""));
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(tree(&root), ["usr", "var", "var/keep"]);
}

#[test]
fn client_prepare_dedups_and_waits() {
    let fx = Fx::new();
    let body =
        "scan_clients=\"h1 h2:2222 /chroot/a\"\nbuild_clients=\"h2:2222 h3 /chroot/a /chroot/b\"\n\
                client_prepare_action=\"/usr/pbulk/libexec/pbulk/client-clean -x\"\n\
                client_prepare_chroot=\"prep-chroot --fast\"\n";
    let out = fx.run("client-prepare", body);
    assert_eq!(out.status.code(), Some(0));
    // client-prepare waits: every call is logged when it returns.
    let conf = fx.p("pbulk.conf").display().to_string();
    let remote = |args: &str| format!("ssh|{args}|PBULK_CONF={}", conf);
    let mut want = vec![
        remote("h1|PBULK_CONF=CONF /usr/pbulk/libexec/pbulk/client-clean -x"),
        remote("-p|2222|h2|PBULK_CONF=CONF /usr/pbulk/libexec/pbulk/client-clean -x"),
        remote("h3|PBULK_CONF=CONF /usr/pbulk/libexec/pbulk/client-clean -x"),
        format!("prep-chroot|--fast|/chroot/a|PBULK_CONF={conf}"),
        format!("prep-chroot|--fast|/chroot/b|PBULK_CONF={conf}"),
    ];
    for w in &mut want {
        *w = w.replace("CONF /", &format!("{conf} /"));
    }
    want.sort();
    assert_eq!(fx.calls(), want);
}

#[test]
fn client_prepare_ignores_failures_and_default_chroot_action() {
    let fx = Fx::new();
    write_exec(&fx.p("fakebin/ssh"), "#!/bin/sh\nexit 255\n");
    let out = fx.run(
        "client-prepare",
        "scan_clients=\"h1 /c\"\nclient_prepare_action=x\nclient_prepare_chroot=:\n",
    );
    assert_eq!(out.status.code(), Some(0));
    assert!(out.stdout.is_empty());
}

#[test]
fn scan_client_start_launches_clients() {
    let fx = Fx::new();
    std::fs::create_dir_all(fx.p("bulklog.old/meta")).unwrap();
    std::fs::write(fx.p("bulklog.old/meta/pscan"), "").unwrap();
    write_exec(
        &fx.p("prepare"),
        &format!("#!/bin/sh\ntouch {}\n", fx.p("prepared").display()),
    );
    let body = format!(
        "scan_clients=\"h1:22 /ch\"\nclient_prepare={}\npscan=/pb/bin/pbulk-scan\n\
         master_port_scan=10.0.0.1:2001\nmake=/usr/pkg/bin/bmake\npkgsrc=/usr/pkgsrc\n",
        fx.p("prepare").display()
    );
    let out = fx.run("scan-client-start", &body);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(fx.p("prepared").exists(), "client_prepare ran first");
    let conf = fx.p("pbulk.conf").display().to_string();
    let old = fx.p("bulklog.old/meta/pscan").display().to_string();
    let mut want = vec![
        format!(
            "chroot|/ch|/pb/bin/pbulk-scan|-c|10.0.0.1:2001|-M|/usr/pkg/bin/bmake|-L|{old}|/usr/pkgsrc|PBULK_CONF={conf}"
        ),
        format!(
            "ssh|-p|22|h1|PBULK_CONF={conf} /pb/bin/pbulk-scan -c 10.0.0.1:2001 -M /usr/pkg/bin/bmake -L {old} /usr/pkgsrc|PBULK_CONF={conf}"
        ),
    ];
    want.sort();
    assert_eq!(fx.wait_calls(2), want);
}

#[test]
fn scan_procs_starts_several_scan_clients_per_chroot() {
    let fx = Fx::new();
    let body = "scan_clients=\"h1 /ch\"\nclient_prepare=\nscan_procs=3\npscan=/ps\n";
    let out = fx.run("scan-client-start", body);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let calls = fx.wait_calls(4);
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.starts_with("chroot|/ch|/ps|"))
            .count(),
        3
    );
    assert_eq!(calls.iter().filter(|c| c.starts_with("ssh|h1|")).count(), 1);
    assert_eq!(calls.len(), 4);

    let out = fx.run("scan-client-start", "scan_clients=/ch\nscan_procs=lots\n");
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("scan_procs=lots"));
}

#[test]
fn scan_client_start_stops_when_prepare_fails() {
    let fx = Fx::new();
    write_exec(&fx.p("prepare"), "#!/bin/sh\nexit 6\n");
    let body = format!(
        "scan_clients=h1\nclient_prepare={}\n",
        fx.p("prepare").display()
    );
    let out = fx.run("scan-client-start", &body);
    assert_eq!(out.status.code(), Some(6));
    std::thread::sleep(std::time::Duration::from_millis(100));
    assert!(fx.calls().is_empty(), "no client started");
}

#[test]
fn build_client_start_launches_clients() {
    let fx = Fx::new();
    let body = "build_clients=\"b1 b2:2200 /ch\"\npbuild=/pb/bin/pbulk-build\n\
                master_port_build=10.0.0.1:2002\npbuild_script=/pb/libexec/pbulk/pkg-build\n";
    let out = fx.run("build-client-start", body);
    assert_eq!(out.status.code(), Some(0));
    let conf = fx.p("pbulk.conf").display().to_string();
    let line = "/pb/bin/pbulk-build -c 10.0.0.1:2002 -b /pb/libexec/pbulk/pkg-build";
    let mut want = vec![
        format!("chroot|/ch|{}|PBULK_CONF={conf}", line.replace(' ', "|")),
        format!("ssh|-p|2200|b2|PBULK_CONF={conf} {line}|PBULK_CONF={conf}"),
        format!("ssh|b1|PBULK_CONF={conf} {line}|PBULK_CONF={conf}"),
    ];
    want.sort();
    assert_eq!(fx.wait_calls(3), want);
}

#[test]
fn client_clean_removes_a_symlinked_prefix_not_its_target() {
    let fx = Fx::new();
    let root = fx.p("root");
    let real = fx.p("real-prefix");
    std::fs::create_dir_all(real.join("bin")).unwrap();
    std::fs::write(real.join("bin/tool"), "").unwrap();
    std::fs::create_dir_all(root.join("usr")).unwrap();
    std::os::unix::fs::symlink(&real, root.join("usr/pkg")).unwrap();
    let out = fx.run("client-clean", &clean_body(&root, Path::new(""), ""));
    assert_eq!(out.status.code(), Some(0));
    assert!(!root.join("usr/pkg").exists() && root.join("usr/pkg").symlink_metadata().is_err());
    assert!(
        real.join("bin/tool").exists(),
        "rm -rf removes the link, not what it points to"
    );
}
