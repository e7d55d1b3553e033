//! bulkbuild, bulkbuild-restart and bulkbuild-rebuild with stand-in phase
//! scripts that log how they were called.

use crate::support::common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use pbulk::phase::bulkbuild::{presolve_block, restart_decision, Restart};

struct Fx {
    dir: tempfile::TempDir,
}

const PRESOLVE: &str = "PKGNAME=a-1\nPKG_LOCATION=cat/a\n\
                        PKGNAME=b-2\nPKG_LOCATION=cat/b\nDEPENDS=a-1\n\
                        PKGNAME=c-3\nPKG_LOCATION=cat/c\nDEPENDS=b-2\n";

impl Fx {
    fn new() -> Fx {
        let fx = Fx {
            dir: tempfile::tempdir().unwrap(),
        };
        std::fs::create_dir_all(fx.loc()).unwrap();
        for phase in ["pre-build", "scan", "build", "report", "upload", "prepare"] {
            fx.phase(phase, 0);
        }
        fx
    }

    fn p(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn loc(&self) -> PathBuf {
        self.p("bulklog/meta")
    }

    /// A stand-in phase that logs its name, arguments and config path and
    /// exits with `code`.
    fn phase(&self, name: &str, code: i32) {
        write_exec(
            &self.p(name),
            &format!(
                "#!/bin/sh\necho \"{name} $* $PBULK_CONF\" >> {}\nexit {code}\n",
                self.p("phases.log").display()
            ),
        );
    }

    fn conf(&self, extra: &str) -> PathBuf {
        let c = self.p("pbulk.conf");
        let ph = |n: &str| self.p(n).display().to_string();
        std::fs::write(
            &c,
            format!(
                "config_version=0.68\nmaster_mode=yes\nbulklog={}\nloc=${{bulklog}}/meta\n\
                 script_phase_pre_build={}\nscript_phase_scan={}\nscript_phase_build={}\n\
                 script_phase_report=\"{} --mail\"\nscript_phase_upload={}\nclient_prepare={}\n\
                 pbuild_script={}\n{extra}",
                self.p("bulklog").display(),
                ph("pre-build"),
                ph("scan"),
                ph("build"),
                ph("report"),
                ph("upload"),
                ph("prepare"),
                ph("pkg-build"),
            ),
        )
        .unwrap();
        c
    }

    fn run(&self, prog: &str, args: &[&str], extra: &str) -> Output {
        let conf = self.conf(extra);
        Command::new(common::bin(prog))
            .args(args)
            .env("PBULK_CONF", conf)
            .output()
            .unwrap()
    }

    /// The phases run, by name (arguments and config path checked once).
    fn ran(&self) -> Vec<String> {
        std::fs::read_to_string(self.p("phases.log"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.split(' ').next().unwrap().to_string())
            .collect()
    }

    fn write_loc(&self, name: &str, text: &str) {
        std::fs::write(self.loc().join(name), text).unwrap();
    }
}

fn write_exec(p: &Path, text: &str) {
    std::fs::write(p, text).unwrap();
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

#[test]
fn bulkbuild_runs_the_five_phases_in_order() {
    let fx = Fx::new();
    let out = fx.run("bulkbuild", &[], "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fx.ran(), ["pre-build", "scan", "build", "report", "upload"]);
    let log = std::fs::read_to_string(fx.p("phases.log")).unwrap();
    let conf = fx.p("pbulk.conf").display().to_string();
    assert!(log.contains(&format!("report --mail {conf}\n")), "{log}");
    assert!(log.starts_with(&format!("pre-build  {conf}\n")), "{log}");
}

#[test]
fn bulkbuild_stops_at_the_first_failing_phase() {
    let fx = Fx::new();
    fx.phase("scan", 5);
    let out = fx.run("bulkbuild", &[], "");
    assert_eq!(out.status.code(), Some(5));
    assert_eq!(fx.ran(), ["pre-build", "scan"]);
    assert!(out.stdout.is_empty() && out.stderr.is_empty());
}

#[test]
fn bulkbuild_checks_every_phase_program_first() {
    let fx = Fx::new();
    std::fs::remove_file(fx.p("upload")).unwrap();
    let out = fx.run("bulkbuild", &[], "");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "bulkbuild: cannot run script_phase_upload={} (from ",
            fx.p("upload").display()
        )),
        "{err}"
    );
    assert_eq!(err.lines().count(), 1);
    assert!(fx.ran().is_empty(), "nothing ran");
}

#[test]
fn an_empty_phase_variable_skips_the_phase() {
    let fx = Fx::new();
    let out = fx.run(
        "bulkbuild",
        &[],
        "script_phase_upload=\nscript_phase_report=\" \"\n",
    );
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(fx.ran(), ["pre-build", "scan", "build"]);
}

#[test]
fn bulkbuild_leaves_the_version_check_to_the_phases() {
    let fx = Fx::new();
    let out = fx.run("bulkbuild", &[], "config_version=0.1\n");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(fx.ran().len(), 5);
}

#[test]
fn restart_decision_cases() {
    let fx = Fx::new();
    let loc = fx.loc();
    // Nothing yet: start over.
    assert_eq!(restart_decision(&loc).unwrap(), Restart::FromScratch);
    fx.write_loc("presolve", PRESOLVE);
    fx.write_loc("success", "a-1\n");
    assert_eq!(
        restart_decision(&loc).unwrap(),
        Restart::FromScratch,
        "error missing"
    );
    fx.write_loc("error", "");
    assert_eq!(restart_decision(&loc).unwrap(), Restart::Resume);
    fx.write_loc("error", "c-3\n");
    assert_eq!(restart_decision(&loc).unwrap(), Restart::Resume);
    fx.write_loc("error", "c-3\nz-9\n");
    assert_eq!(
        restart_decision(&loc).unwrap(),
        Restart::FromScratch,
        "unknown failure"
    );
    fx.write_loc("error", "");
    fx.write_loc("success", "a-1\nb-2");
    assert_eq!(
        restart_decision(&loc).unwrap(),
        Restart::Resume,
        "last line without newline"
    );
    fx.write_loc("success", "a-1\n\nb-2\n");
    assert_eq!(
        restart_decision(&loc).unwrap(),
        Restart::FromScratch,
        "an empty line is no package"
    );
    fx.write_loc("success", "cat/a\n");
    assert_eq!(restart_decision(&loc).unwrap(), Restart::FromScratch);
    fx.write_loc("success", "");
    fx.write_loc("presolve", "");
    assert_eq!(
        restart_decision(&loc).unwrap(),
        Restart::Resume,
        "empty lists pass"
    );
}

#[test]
fn restart_without_presolve_is_an_error_not_a_hang() {
    let fx = Fx::new();
    fx.write_loc("success", "a-1\n");
    fx.write_loc("error", "");
    let out = fx.run("bulkbuild-restart", &[], "");
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.starts_with("bulkbuild-restart: "), "{err}");
    assert!(
        err.contains(&format!("{}/presolve cannot be read", fx.loc().display())),
        "{err}"
    );
    assert!(
        err.trim_end().ends_with("No such file or directory"),
        "{err}"
    );
    assert!(fx.ran().is_empty());
}

#[test]
fn restart_resumes_or_starts_over() {
    let fx = Fx::new();
    let out = fx.run("bulkbuild-restart", &[], "");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(fx.ran(), ["pre-build", "scan", "build", "report", "upload"]);

    let fx = Fx::new();
    fx.write_loc("presolve", PRESOLVE);
    fx.write_loc("success", "a-1\n");
    fx.write_loc("error", "b-2\n");
    let out = fx.run("bulkbuild-restart", &[], "");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        fx.ran(),
        ["prepare", "build", "report", "upload"],
        "master mode prepares the clients"
    );

    let fx = Fx::new();
    fx.write_loc("presolve", PRESOLVE);
    fx.write_loc("success", "a-1\n");
    fx.write_loc("error", "b-2\n");
    let out = fx.run("bulkbuild-restart", &[], "master_mode=no\n");
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(fx.ran(), ["build", "report", "upload"]);
}

#[test]
fn restart_stops_at_a_failing_phase_and_checks_versions() {
    let fx = Fx::new();
    fx.phase("build", 2);
    let out = fx.run("bulkbuild-restart", &[], "");
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(fx.ran(), ["pre-build", "scan", "build"]);

    let fx = Fx::new();
    let out = fx.run("bulkbuild-restart", &[], "config_version=0.67\n");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "Your configuration has version 0.67.\nThis version of pbulk expects version 0.68.\n"
    );
    assert!(fx.ran().is_empty());
}

#[test]
fn restart_decision_on_the_real_interrupted_run() {
    let data = common::data();
    let dir = tempfile::tempdir().unwrap();
    common::unzstd_to(&data.join("presolve.zst"), dir.path(), "presolve");
    let golden = data.join("golden/build-A-restart");
    common::unzstd_to(&golden.join("success.before.zst"), dir.path(), "success");
    common::unzstd_to(&golden.join("error.before.zst"), dir.path(), "error");
    assert_eq!(restart_decision(dir.path()).unwrap(), Restart::Resume);
    // One foreign name in the 13,000 lines is enough to start over.
    let mut s = std::fs::read(dir.path().join("success")).unwrap();
    s.extend_from_slice(b"not-in-presolve-1.0\n");
    std::fs::write(dir.path().join("success"), s).unwrap();
    assert_eq!(restart_decision(dir.path()).unwrap(), Restart::FromScratch);
}

fn rebuild_fx(pkg_build: &str) -> Fx {
    let fx = Fx::new();
    fx.write_loc("presolve", PRESOLVE);
    write_exec(&fx.p("pkg-build"), pkg_build);
    fx
}

#[test]
fn rebuild_without_arguments_prints_usage_and_succeeds() {
    let fx = rebuild_fx("#!/bin/sh\nexit 0\n");
    let conf = fx.conf("");
    let prog = common::bin("bulkbuild-rebuild");
    let out = Command::new(&prog)
        .env("PBULK_CONF", conf)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(
        stdout(&out),
        format!("Usage: {} package ...\n", prog.display())
    );
}

#[test]
fn rebuild_feeds_each_block_to_pkg_build() {
    let fx = rebuild_fx(&format!(
        "#!/bin/sh\ncat >> {}\necho ---- >> {0}\n",
        "BLOCKS"
    ));
    let script = std::fs::read_to_string(fx.p("pkg-build")).unwrap();
    write_exec(
        &fx.p("pkg-build"),
        &script.replace("BLOCKS", &fx.p("blocks").display().to_string()),
    );
    let out = fx.run("bulkbuild-rebuild", &["c-3", "a-1"], "");
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        stdout(&out),
        "Building package c-3... done\nBuilding package a-1... done\n"
    );
    assert_eq!(
        std::fs::read_to_string(fx.p("blocks")).unwrap(),
        "PKGNAME=c-3\nPKG_LOCATION=cat/c\nDEPENDS=b-2\n----\nPKGNAME=a-1\nPKG_LOCATION=cat/a\n----\n"
    );
}

#[test]
fn rebuild_failure_and_unknown_packages() {
    let fx = rebuild_fx("#!/bin/sh\nread first\n[ \"$first\" = PKGNAME=b-2 ] && exit 1\nexit 0\n");
    let out = fx.run("bulkbuild-rebuild", &["a-1", "b-2", "c-3"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "Building package a-1... done\nBuilding package b-2... failed\n"
    );

    let out = fx.run("bulkbuild-rebuild", &["a-1", "a", "c-3"], "");
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stdout(&out),
        "Building package a-1... done\nPackage a not found, aborting.\n"
    );
}

#[test]
fn presolve_blocks() {
    let block = |t: &str, n: &str| {
        presolve_block(t.as_bytes(), n.as_bytes())
            .unwrap()
            .map(|b| String::from_utf8(b).unwrap())
    };
    assert_eq!(
        block(PRESOLVE, "b-2").unwrap(),
        "PKGNAME=b-2\nPKG_LOCATION=cat/b\nDEPENDS=a-1\n"
    );
    assert_eq!(
        block(PRESOLVE, "c-3").unwrap(),
        "PKGNAME=c-3\nPKG_LOCATION=cat/c\nDEPENDS=b-2\n"
    );
    assert_eq!(block(PRESOLVE, "b"), None, "whole names only");
    assert_eq!(
        block("PKGNAME=x-1\nA=1", "x-1").unwrap(),
        "PKGNAME=x-1\nA=1"
    );
}
