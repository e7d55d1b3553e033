//! The TritonDataCenter/Joyent chroot dialect (`chroot_dir`,
//! `chroot_create`, `chroot_delete`, `build_chroots`, `scan_procs`) through
//! the build and scan phases and the two client start scripts. Every
//! program they start is a stand-in written here that logs its argument
//! vector and `PBULK_CONF` as one line: `chroot` and `ssh` come first in
//! PATH (and go on to run what they were given, so the remote lines are
//! run by a real shell), the others are named by the config.

use crate::support::common;

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Output};

/// `name|arg|arg|...|PBULK_CONF=...`, appended in one write.
fn logger(name: &str, log: &str, then: &str) -> String {
    format!(
        "#!/bin/sh\nline=$(printf '%s|' {name} \"$@\")\n\
         echo \"${{line}}PBULK_CONF=$PBULK_CONF\" >> '{log}'\n{then}"
    )
}

struct Fx {
    _tmp: tempfile::TempDir,
    root: PathBuf,
}

impl Fx {
    fn new() -> Fx {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let fx = Fx { _tmp: tmp, root };
        for d in ["bin", "meta", "packages/All", "pkgsrc"] {
            std::fs::create_dir_all(fx.p(d)).unwrap();
        }
        std::fs::write(fx.p("meta/success"), "").unwrap();
        let log = fx.s("calls.log");
        // chroot DIR CMD...: run CMD (here, not inside DIR).
        fx.exec("chroot", &logger("chroot", &log, "shift\nexec \"$@\"\n"));
        // ssh [-p PORT] HOST LINE: run LINE with a shell, as the remote
        // side would.
        fx.exec(
            "ssh",
            &logger(
                "ssh",
                &log,
                "[ \"$1\" = -p ] && shift 2\nshift\nexec /bin/sh -c \"$1\"\n",
            ),
        );
        // A create or delete fails for a directory named in `fail-<tool>`.
        for tool in ["mkchroot", "rmchroot"] {
            let fail = fx.s(&format!("fail-{tool}"));
            fx.exec(
                tool,
                &logger(
                    tool,
                    &log,
                    &format!("grep -qxF \"$1\" '{fail}' 2>/dev/null && exit 5\nexit 0\n"),
                ),
            );
        }
        // pbulk-build exits with the status in `pbulk-build-status`; with a
        // `pbulk-build-sleep` file it says it runs (`started`) and sleeps.
        let status = fx.s("pbulk-build-status");
        let (sleep, started) = (fx.s("pbulk-build-sleep"), fx.s("started"));
        fx.exec(
            "pbulk-build",
            &logger(
                "pbulk-build",
                &log,
                &format!(
                    "if [ -f '{sleep}' ]; then touch '{started}'; sleep 1; fi\n\
                     exit $(cat '{status}' 2>/dev/null || echo 0)\n"
                ),
            ),
        );
        fx.exec("pbulk-scan", &logger("pbulk-scan", &log, ""));
        fx.exec("presolve", &logger("presolve", &log, ""));
        fx
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn s(&self, rel: &str) -> String {
        self.p(rel).to_str().unwrap().to_string()
    }

    fn exec(&self, name: &str, text: &str) {
        let path = self.p(&format!("bin/{name}"));
        std::fs::write(&path, text).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// The reference settings plus `extra` (later lines win).
    fn conf(&self, extra: &str) -> String {
        let t = |n: &str| self.s(&format!("bin/{n}"));
        format!(
            "config_version=0.68\nbulklog={root}/bulklog\nloc={root}/meta\npackages={root}/packages\n\
             pkgsrc={root}/pkgsrc\nmake=/usr/bin/bmake\npbuild={pb}\npscan={ps}\npresolve={pr}\n\
             pbuild_script=/lx/pkg-build\npbuild_start_script=/lx/build-client-start\n\
             pscan_start_script=/lx/scan-client-start\nmaster_port_build=10.0.0.1:2002\n\
             master_port_scan=10.0.0.1:2001\nclient_prepare=\npkg_info=true\ndigest=true\n\
             gzip=gzip\nbzip2=bzip2\nchecksum_packages=no\n{extra}\n",
            root = self.root.display(),
            pb = t("pbulk-build"),
            ps = t("pbulk-scan"),
            pr = t("presolve"),
        )
    }

    /// The dialect with local chroots under `ROOT/ch`, in master mode.
    fn dialect(&self, extra: &str) -> String {
        format!(
            "master_mode=yes\nchroot_dir={}\nchroot_create={}\nchroot_delete={}\n{extra}",
            self.s("ch"),
            self.s("bin/mkchroot"),
            self.s("bin/rmchroot")
        )
    }

    fn command(&self, prog: &str, extra: &str) -> Command {
        std::fs::write(self.p("pbulk.conf"), self.conf(extra)).unwrap();
        let path = format!(
            "{}:{}",
            self.s("bin"),
            std::env::var("PATH").unwrap_or_default()
        );
        let mut c = Command::new(common::bin(prog));
        c.env("PBULK_CONF", self.p("pbulk.conf"))
            .env("PATH", path)
            .env("LC_ALL", "C");
        c
    }

    fn run(&self, prog: &str, extra: &str) -> Output {
        self.command(prog, extra).output().unwrap()
    }

    /// The logged calls, with the temporary root shown as `T`.
    fn calls(&self) -> Vec<String> {
        std::fs::read_to_string(self.p("calls.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.replace(self.root.to_str().unwrap(), "T"))
            .collect()
    }

    /// The calls once `n` are logged (start scripts do not wait for their
    /// clients), sorted; and a short grace to catch any extra one.
    fn wait_calls(&self, n: usize) -> Vec<String> {
        for _ in 0..500 {
            if self.calls().len() >= n {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
        sorted(self.calls())
    }
}

fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

fn ok(out: &Output) {
    assert_eq!(
        out.status.code(),
        Some(0),
        "stderr: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

const CONF: &str = "PBULK_CONF=T/pbulk.conf";

fn pbuild_master() -> String {
    format!(
        "pbulk-build|-r|T/meta/pbuild|-I|/lx/build-client-start|-m|10.0.0.1:2002|-v|\
         T/meta/presolve|T/meta/success|T/meta/error|{CONF}"
    )
}

fn pscan_master() -> String {
    format!(
        "pbulk-scan|-v|-I|/lx/scan-client-start|-m|10.0.0.1:2001|-M|/usr/bin/bmake|\
         T/pkgsrc|T/meta/pscan|{CONF}"
    )
}

/// Split `calls` around the one line `middle`: what came before and after
/// it, each sorted (jobs of one step run at the same time).
fn around(calls: &[String], middle: &str) -> (Vec<String>, Vec<String>) {
    let i = calls
        .iter()
        .position(|c| c == middle)
        .unwrap_or_else(|| panic!("no {middle} in {calls:#?}"));
    assert_eq!(calls.iter().filter(|c| *c == middle).count(), 1);
    (sorted(calls[..i].to_vec()), sorted(calls[i + 1..].to_vec()))
}

fn local(tool: &str, dirs: &[&str]) -> Vec<String> {
    sorted(
        dirs.iter()
            .map(|d| format!("{tool}|T/{d}|{CONF}"))
            .collect(),
    )
}

#[test]
fn without_the_dialect_the_command_lines_are_the_reference() {
    // Local mode: build_chroots, chroot_dir and scan_procs of the dialect
    // change nothing there (concurrent builds in one prefix would wipe
    // each other); only build_procs gives -j.
    for extra in [
        "master_mode=no",
        "master_mode=no\nbuild_chroots=3\nchroot_dir=/c\nchroot_create=/x",
    ] {
        let fx = Fx::new();
        let out = fx.run("build", extra);
        ok(&out);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "Building...\nBuilding pkg_summary...\n"
        );
        assert_eq!(
            fx.calls(),
            [format!(
                "pbulk-build|-r|T/meta/pbuild|-v|-b|/lx/pkg-build|T/meta/presolve|\
                 T/meta/success|T/meta/error|{CONF}"
            )],
            "{extra}"
        );
    }

    let fx = Fx::new();
    ok(&fx.run("build", "master_mode=yes\nbuild_chroots=3"));
    assert_eq!(fx.calls(), [pbuild_master()]);

    let fx = Fx::new();
    ok(&fx.run("scan", "master_mode=yes\nscan_procs=2"));
    assert_eq!(
        fx.calls(),
        [pscan_master(), format!("presolve|-v|T/meta/pscan|{CONF}")]
    );

    // Start scripts: chroot_dir without chroot_create is not the dialect.
    let fx = Fx::new();
    let out = fx.run(
        "build-client-start",
        "build_clients=\"b1 b2:2200\"\nchroot_dir=/c\nbuild_chroots=2",
    );
    ok(&out);
    let line = "T/bin/pbulk-build -c 10.0.0.1:2002 -b /lx/pkg-build";
    assert_eq!(
        fx.wait_calls(4),
        sorted(vec![
            format!("ssh|b1|PBULK_CONF=T/pbulk.conf {line}|{CONF}"),
            format!("ssh|-p|2200|b2|PBULK_CONF=T/pbulk.conf {line}|{CONF}"),
            format!("pbulk-build|-c|10.0.0.1:2002|-b|/lx/pkg-build|{CONF}"),
            format!("pbulk-build|-c|10.0.0.1:2002|-b|/lx/pkg-build|{CONF}"),
        ])
    );
}

#[test]
fn build_phase_local_chroots() {
    for (n, dirs) in [
        ("1", vec!["ch-build"]),
        ("3", vec!["ch-build-1", "ch-build-2", "ch-build-3"]),
    ] {
        let fx = Fx::new();
        let out = fx.run("build", &fx.dialect(&format!("build_chroots={n}")));
        ok(&out);
        assert_eq!(
            String::from_utf8_lossy(&out.stdout),
            "Building...\nBuilding pkg_summary...\n"
        );
        let calls = fx.calls();
        let (before, after) = around(&calls, &pbuild_master());
        assert_eq!(before, local("mkchroot", &dirs), "build_chroots={n}");
        assert_eq!(after, local("rmchroot", &dirs), "build_chroots={n}");
        assert!(fx.p("meta/status").exists(), "the phase went on");
    }
}

#[test]
fn build_phase_remote_chroots() {
    let fx = Fx::new();
    // A host named twice gets its chroots once; a /path client none.
    let out = fx.run(
        "build",
        &fx.dialect("build_chroots=3\nbuild_clients=\"h1 h2:2200 h1 /fixed\""),
    );
    ok(&out);
    let calls = fx.calls();
    let (before, after) = around(&calls, &pbuild_master());
    let expect = |tool: &str| {
        let mut v = Vec::new();
        for i in 1..=3 {
            let dir = format!("T/ch-build-{i}");
            let line = format!("PBULK_CONF=T/pbulk.conf T/bin/{tool} {dir}");
            v.push(format!("ssh|h1|{line}|{CONF}"));
            v.push(format!("ssh|-p|2200|h2|{line}|{CONF}"));
            v.push(format!("{tool}|{dir}|{CONF}"));
            v.push(format!("{tool}|{dir}|{CONF}"));
        }
        sorted(v)
    };
    assert_eq!(before, expect("mkchroot"));
    assert_eq!(after, expect("rmchroot"));
}

#[test]
fn build_client_start_in_local_chroots() {
    let line = "T/bin/pbulk-build -c 10.0.0.1:2002 -b /lx/pkg-build";
    let client = format!("pbulk-build|-c|10.0.0.1:2002|-b|/lx/pkg-build|{CONF}");
    for (n, dirs) in [
        ("1", vec!["ch-build"]),
        ("3", vec!["ch-build-1", "ch-build-2", "ch-build-3"]),
    ] {
        let fx = Fx::new();
        ok(&fx.run(
            "build-client-start",
            &fx.dialect(&format!("build_chroots={n}")),
        ));
        let mut want = Vec::new();
        for d in &dirs {
            want.push(format!("chroot|T/{d}|/bin/sh|-c|{line}|{CONF}"));
            want.push(client.clone());
        }
        assert_eq!(fx.wait_calls(want.len()), sorted(want), "build_chroots={n}");
    }
}

#[test]
fn build_client_start_in_remote_chroots() {
    let line = "T/bin/pbulk-build -c 10.0.0.1:2002 -b /lx/pkg-build";
    let client = format!("pbulk-build|-c|10.0.0.1:2002|-b|/lx/pkg-build|{CONF}");
    for (n, dirs) in [
        ("1", vec!["ch-build"]),
        ("3", vec!["ch-build-1", "ch-build-2", "ch-build-3"]),
    ] {
        let fx = Fx::new();
        ok(&fx.run(
            "build-client-start",
            &fx.dialect(&format!(
                "build_chroots={n}\nbuild_clients=\"h1 h2:2200 h1 /fixed\""
            )),
        ));
        let mut want = vec![
            // The /path client keeps its upstream meaning.
            format!("chroot|/fixed|{line}|{CONF}").replace(' ', "|"),
            client.clone(),
        ];
        for d in &dirs {
            let remote = format!("PBULK_CONF=T/pbulk.conf chroot T/{d} /bin/sh -c '{line}'");
            want.push(format!("ssh|h1|{remote}|{CONF}"));
            want.push(format!("ssh|-p|2200|h2|{remote}|{CONF}"));
            for _ in 0..2 {
                want.push(format!("chroot|T/{d}|/bin/sh|-c|{line}|{CONF}"));
                want.push(client.clone());
            }
        }
        assert_eq!(fx.wait_calls(want.len()), sorted(want), "build_chroots={n}");
    }
}

#[test]
fn scan_phase_local_and_remote_chroot() {
    let fx = Fx::new();
    ok(&fx.run("scan", &fx.dialect("scan_procs=2\nbuild_chroots=3")));
    let calls = fx.calls();
    let (before, after) = around(&calls, &pscan_master());
    assert_eq!(before, local("mkchroot", &["ch-scan"]));
    assert_eq!(
        after,
        sorted(vec![
            format!("rmchroot|T/ch-scan|{CONF}"),
            format!("presolve|-v|T/meta/pscan|{CONF}"),
        ])
    );
    assert_eq!(
        calls.last().unwrap(),
        &format!("presolve|-v|T/meta/pscan|{CONF}")
    );

    let fx = Fx::new();
    ok(&fx.run("scan", &fx.dialect("scan_clients=\"s1 s2:22\"")));
    let calls = fx.calls();
    let (before, after) = around(&calls, &pscan_master());
    let expect = |tool: &str| {
        let line = format!("PBULK_CONF=T/pbulk.conf T/bin/{tool} T/ch-scan");
        sorted(vec![
            format!("ssh|s1|{line}|{CONF}"),
            format!("ssh|-p|22|s2|{line}|{CONF}"),
            format!("{tool}|T/ch-scan|{CONF}"),
            format!("{tool}|T/ch-scan|{CONF}"),
        ])
    };
    assert_eq!(before, expect("mkchroot"));
    let mut want = expect("rmchroot");
    want.push(format!("presolve|-v|T/meta/pscan|{CONF}"));
    assert_eq!(after, sorted(want));
}

#[test]
fn scan_client_start_runs_scan_procs_clients_per_chroot() {
    // Two blanks where the (empty) -L option of an old scan would go, as
    // the start script's line has them.
    let line = "T/bin/pbulk-scan -c 10.0.0.1:2001 -M /usr/bin/bmake  T/pkgsrc";
    let client = format!("pbulk-scan|-c|10.0.0.1:2001|-M|/usr/bin/bmake|T/pkgsrc|{CONF}");

    let fx = Fx::new();
    ok(&fx.run("scan-client-start", &fx.dialect("scan_procs=2")));
    let mut want = Vec::new();
    for _ in 0..2 {
        want.push(format!("chroot|T/ch-scan|/bin/sh|-c|{line}|{CONF}"));
        want.push(client.clone());
    }
    assert_eq!(fx.wait_calls(4), sorted(want));

    let fx = Fx::new();
    ok(&fx.run(
        "scan-client-start",
        &fx.dialect("scan_procs=2\nscan_clients=\"s1 s2:22\""),
    ));
    let remote = format!("PBULK_CONF=T/pbulk.conf chroot T/ch-scan /bin/sh -c '{line}'");
    let mut want = Vec::new();
    for _ in 0..2 {
        want.push(format!("ssh|s1|{remote}|{CONF}"));
        want.push(format!("ssh|-p|22|s2|{remote}|{CONF}"));
        for _ in 0..2 {
            want.push(format!("chroot|T/ch-scan|/bin/sh|-c|{line}|{CONF}"));
            want.push(client.clone());
        }
    }
    assert_eq!(fx.wait_calls(12), sorted(want));

    // The older fork name of the count.
    let fx = Fx::new();
    ok(&fx.run("scan-client-start", &fx.dialect("scan_chroots=3")));
    let calls = fx.wait_calls(6);
    assert_eq!(
        calls.iter().filter(|c| **c == client).count(),
        3,
        "{calls:#?}"
    );
    assert_eq!(calls.len(), 6);
}

#[test]
fn missing_or_unrunnable_chroot_programs_stop_before_any_work() {
    let fx = Fx::new();
    let unset = format!("master_mode=yes\nchroot_dir={}", fx.s("ch"));
    let out = fx.run("build", &unset);
    assert_eq!(out.status.code(), Some(1));
    let conf = fx.s("pbulk.conf");
    assert_eq!(
        stderr(&out),
        format!("build: chroot_create is not set in {conf}: no program to run\n")
    );
    assert!(fx.calls().is_empty());

    std::fs::write(fx.p("rm-not-exec"), "#!/bin/sh\n").unwrap();
    let extra = fx.dialect(&format!("chroot_delete={}", fx.s("rm-not-exec")));
    let out = fx.run("build", &extra);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "build: cannot run chroot_delete={} (from {conf}): Permission denied\n",
            fx.s("rm-not-exec")
        )
    );
    assert!(fx.calls().is_empty());

    let extra = fx.dialect(&format!("chroot_create={}", fx.s("nowhere")));
    let out = fx.run("scan", &extra);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!(
            "scan: cannot run chroot_create={} (from {conf}): No such file or directory\n",
            fx.s("nowhere")
        )
    );
    assert!(
        String::from_utf8_lossy(&out.stdout).is_empty(),
        "not even Scanning..."
    );
    assert!(fx.calls().is_empty());

    let out = fx.run("build", &fx.dialect("build_chroots=many"));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        format!("build: build_chroots=many in {conf} is not a positive number\n")
    );
    assert!(fx.calls().is_empty());
}

#[test]
fn a_failing_master_still_gets_its_chroots_deleted() {
    let fx = Fx::new();
    std::fs::write(fx.p("pbulk-build-status"), "3\n").unwrap();
    let out = fx.run("build", &fx.dialect("build_chroots=2"));
    assert_eq!(out.status.code(), Some(3));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "Building...\n");
    let calls = fx.calls();
    let (before, after) = around(&calls, &pbuild_master());
    let dirs = ["ch-build-1", "ch-build-2"];
    assert_eq!(before, local("mkchroot", &dirs));
    assert_eq!(after, local("rmchroot", &dirs));
    assert!(!fx.p("meta/status").exists(), "no BUILD_END stamp");
}

#[test]
fn a_failed_create_deletes_and_stops_before_the_master() {
    let fx = Fx::new();
    std::fs::write(fx.p("fail-mkchroot"), format!("{}\n", fx.s("ch-build-2"))).unwrap();
    let out = fx.run("build", &fx.dialect("build_chroots=3"));
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(
        stderr(&out),
        format!(
            "build: chroot_create {} failed with exit status 5\n",
            fx.s("ch-build-2")
        )
    );
    let calls = fx.calls();
    let dirs = ["ch-build-1", "ch-build-2", "ch-build-3"];
    assert_eq!(sorted(calls[..3].to_vec()), local("mkchroot", &dirs));
    assert_eq!(sorted(calls[3..].to_vec()), local("rmchroot", &dirs));

    // A failed delete after a good build is said, and the phase goes on.
    let fx = Fx::new();
    std::fs::write(fx.p("fail-rmchroot"), format!("{}\n", fx.s("ch-build"))).unwrap();
    let out = fx.run("build", &fx.dialect(""));
    ok(&out);
    assert_eq!(
        stderr(&out),
        format!(
            "build: chroot_delete {} failed with exit status 5\n",
            fx.s("ch-build")
        )
    );
    assert!(fx.p("packages/All/pkg_summary.gz").exists());

    // The scan phase: the create's status, no pbulk-scan.
    let fx = Fx::new();
    std::fs::write(fx.p("fail-mkchroot"), format!("{}\n", fx.s("ch-scan"))).unwrap();
    let out = fx.run("scan", &fx.dialect(""));
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(
        fx.calls(),
        [
            format!("mkchroot|T/ch-scan|{CONF}"),
            format!("rmchroot|T/ch-scan|{CONF}")
        ]
    );
}

#[test]
fn limited_scan_wraps_every_master_run_in_the_scan_chroot() {
    let fx = Fx::new();
    std::fs::write(fx.p("limited"), "devel/a\n").unwrap();
    let extra = fx.dialect(&format!("limited_list={}", fx.s("limited")));
    let out = fx.run("scan", &extra);
    ok(&out);
    // The stand-in resolver leaves `missing` as it is: two rounds (the
    // second gives the same presolve), then the marking run.
    let mk = format!("mkchroot|T/ch-scan|{CONF}");
    let rm = format!("rmchroot|T/ch-scan|{CONF}");
    let pscan = format!(
        "pbulk-scan|-v|-l|-I|/lx/scan-client-start|-m|10.0.0.1:2001|-M|/usr/bin/bmake|\
         T/pkgsrc|T/meta/pscan|{CONF}"
    );
    let resolve = |args: &str| format!("presolve|{args}|{CONF}");
    assert_eq!(
        fx.calls(),
        [
            mk.clone(),
            pscan.clone(),
            rm.clone(),
            resolve("-i|T/meta/missing|-v|T/meta/pscan"),
            mk,
            pscan,
            rm,
            resolve("-i|T/meta/missing|-v|T/meta/presolve|T/meta/pscan"),
            resolve("-v|T/meta/presolve|T/meta/pscan"),
        ]
    );
}

#[test]
fn a_signal_to_the_phase_still_deletes_the_chroots() {
    use std::os::unix::process::ExitStatusExt;
    let fx = Fx::new();
    std::fs::write(fx.p("pbulk-build-sleep"), "").unwrap();
    let mut child = fx
        .command("build", &fx.dialect("build_chroots=2"))
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    for _ in 0..500 {
        if fx.p("started").exists() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(fx.p("started").exists(), "the master never ran");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).unwrap();
    let status = child.wait().unwrap();
    assert_eq!(status.signal(), Some(libc::SIGTERM), "{status:?}");
    let calls = fx.calls();
    let (before, after) = around(&calls, &pbuild_master());
    let dirs = ["ch-build-1", "ch-build-2"];
    assert_eq!(before, local("mkchroot", &dirs));
    assert_eq!(
        after,
        local("rmchroot", &dirs),
        "deleted after the master ended"
    );
    assert!(!fx.p("meta/status").exists(), "the phase did not go on");
}
