//! A bulk-build site for whole-build tests: pbulk-rs installed with
//! `make install-only` into a temporary prefix, a pbulk.conf for the example
//! tree appended to the installed example (as pkgsrc's pbulk.sh does), and a
//! `make` wrapper that keeps a ledger of the make calls.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use super::common;

/// Every package of the example tree and the status a full bulk build gives
/// it, restated from the outcome table of `tests/pkgsrc/README.md`.
pub const OUTCOME: &[(&str, &str)] = &[
    ("app-1.2", "done"),
    ("broken-1.0", "prefailed"),
    ("buildtool-1.5", "done"),
    ("daemon-conf-1.0", "done"),
    ("daemon-preinst-1.0", "done"),
    ("destdir-yes-1.0", "done"),
    ("dia-left-1.0", "done"),
    ("dia-right-1.0", "done"),
    ("dia-top-1.0", "done"),
    ("digest-20220214", "done"),
    ("docgen-3.0", "done"),
    ("fail-build-1.0", "failed"),
    ("fail-checksum-1.0", "failed"),
    ("fail-configure-1.0", "failed"),
    ("fail-install-1.0", "failed"),
    ("fail-package-1.0", "failed"),
    ("hello-2.12", "done"),
    ("libbase-1.0nb2", "done"),
    ("libmid-2.1", "done"),
    ("libtop-0.9.3", "done"),
    ("lua53-5.3.6", "done"),
    ("lua54-5.4.7", "done"),
    ("missing-dep-1.0", "prefailed"),
    ("needs-fail-build-1.0", "indirect-failed"),
    ("needs-needs-fail-1.0", "indirect-failed"),
    ("needs-skipped-1.0", "indirect-prefailed"),
    ("needs-unresolvable-1.0", "indirect-prefailed"),
    ("nobinftp-2.0", "done"),
    ("pkg_install-20250417", "done"),
    ("py311-hello-1.0", "done"),
    ("py311-lua53-bridge-0.2", "done"),
    ("py311-lua54-bridge-0.2", "done"),
    ("py312-hello-1.0", "done"),
    ("py312-lua53-bridge-0.2", "done"),
    ("py312-lua54-bridge-0.2", "done"),
    ("python311-3.11.10", "done"),
    ("python312-3.12.7", "done"),
    ("restricted-1.0", "done"),
    ("skipped-1.0", "prefailed"),
    ("unresolvable-1.0", "prefailed"),
];

/// The logs a package failing at each stage leaves (pkg-build steps 8-14).
pub const FAILURE_LOGS: &[(&str, &[&str])] = &[
    (
        "fail-checksum-1.0",
        &["checksum.log", "pre-clean.log", "work.log"],
    ),
    (
        "fail-configure-1.0",
        &["checksum.log", "configure.log", "pre-clean.log", "work.log"],
    ),
    (
        "fail-build-1.0",
        &[
            "build.log",
            "checksum.log",
            "configure.log",
            "pre-clean.log",
            "work.log",
        ],
    ),
    (
        "fail-install-1.0",
        &[
            "build.log",
            "checksum.log",
            "configure.log",
            "install.log",
            "pre-clean.log",
            "work.log",
        ],
    ),
    (
        "fail-package-1.0",
        &[
            "build.log",
            "checksum.log",
            "configure.log",
            "install.log",
            "package.log",
            "pre-clean.log",
            "work.log",
        ],
    ),
];

pub fn expected(status: &str) -> Vec<String> {
    OUTCOME
        .iter()
        .filter(|(_, s)| *s == status)
        .map(|(n, _)| n.to_string())
        .collect()
}

pub struct Site {
    pub dir: tempfile::TempDir,
}

impl Site {
    /// Install the built programs into `<tmp>/pbulk` and write a site for
    /// the example tree. `extra` is appended to pbulk.conf last.
    pub fn new(extra: &str) -> Site {
        Site::new_in(&std::env::temp_dir(), extra)
    }

    /// [`Site::new`] in a temporary directory below `parent`.
    pub fn new_in(parent: &Path, extra: &str) -> Site {
        let dir = tempfile::tempdir_in(parent).unwrap();
        let site = Site { dir };
        let prefix = site.path("pbulk");
        let builddir = common::bin("bulkbuild").parent().unwrap().to_path_buf();
        let out = Command::new("make")
            .current_dir(common::root())
            .env_remove("MAKEFLAGS")
            .env_remove("MAKELEVEL")
            .env_remove("MFLAGS")
            // Installed for PBULK_CONF and PBULK_LIBEXECDIR: not the
            // prefix these programs were built for.
            .args(["-s", "install-only", "DESTDIR=", "CHECK_PATHS=no"])
            .arg(format!("PREFIX={}", prefix.display()))
            .arg(format!("BUILDDIR={}", builddir.display()))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "make install-only: {}",
            String::from_utf8_lossy(&out.stderr)
        );

        let w = site.path("").display().to_string();
        fs::create_dir_all(site.path("bin")).unwrap();
        site.write_mk_conf("master", "pkg");
        // The ledger names the package each stage-package-create call makes,
        // so a test can tell which packages were really built.
        let wrapper = format!(
            "#!/bin/sh\nunset MAKEFLAGS MFLAGS MAKELEVEL\nexport MAKECONF={w}mk.conf.${{PBULK_TEST_HOST:-master}}\n\
             for a in \"$@\"; do\n  if [ \"$a\" = stage-package-create ]; then\n    \
             echo \"$(bmake \"$@\" -V '${{PKGNAME}}')\" >> {w}ledger\n  fi\n  \
             if [ \"$a\" = pbulk-index ]; then echo \"$PWD\" >> {w}index-calls; fi\ndone\n\
             exec bmake \"$@\"\n"
        );
        let make = site.path("bin/make");
        fs::write(&make, wrapper).unwrap();
        chmod_x(&make);
        // A copy of the stand-in tools in the site: a clone below /tmp
        // would have them hidden in the private /tmp of a build slot.
        let tools = site.path("tools");
        let out = Command::new("cp")
            .arg("-R")
            .arg(common::root().join("tests/tools"))
            .arg(&tools)
            .output()
            .unwrap();
        assert!(out.status.success(), "cp tests/tools");
        let t = tools.display();
        let pkgsrc = site.pkgsrc();
        let conf = format!(
            "\n# test site\nmaster_mode=no\nbase_url=http://example.org/reports\nbulklog={w}bulklog\n\
             loc=${{bulklog}}/meta\npackages={w}packages\nprefix={w}pkg\npkgdb={w}pkg/pkgdb\n\
             varbase={w}var\npkgsrc={}\nmake={}\nbootstrapkit=\nunprivileged_user=$(id -un)\n\
             pkg_add={t}/pkg_add\npkg_admin={t}/pkg_admin\npkg_delete={t}/pkg_delete\n\
             pkg_info={t}/pkg_info\ndigest={t}/digest\ngzip=\"gzip -nf -9\"\nbzip2=bzip2\nsed=sed\n\
             tar=tar\nmail=:\nrsync=:\n{extra}",
            pkgsrc.display(),
            make.display()
        );
        let mut text = fs::read_to_string(site.conf()).unwrap();
        text.push_str(&conf);
        fs::write(site.conf(), text).unwrap();
        site
    }

    /// The make settings of one build host: `PBULK_TEST_HOST` (set by the
    /// master-mode tests' stand-in ssh) picks the file, so clients building
    /// side by side each have their own LOCALBASE.
    pub fn write_mk_conf(&self, host: &str, localbase: &str) {
        let w = self.path("").display().to_string();
        fs::write(
            self.path(&format!("mk.conf.{host}")),
            format!(
                "LOCALBASE=\t{w}{localbase}\nPKG_DBDIR=\t{w}{localbase}/pkgdb\nPACKAGES=\t{w}packages\n\
                 WRKOBJDIR=\t{w}work-{host}\n"
            ),
        )
        .unwrap();
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        let base = self.dir.path().to_path_buf();
        if rel.is_empty() {
            let mut s = base.into_os_string();
            s.push("/");
            PathBuf::from(s)
        } else {
            base.join(rel)
        }
    }

    /// The tree the site builds (the repository's, unless a test copied it).
    pub fn pkgsrc(&self) -> PathBuf {
        let copy = self.path("pkgsrc");
        if copy.is_dir() {
            copy
        } else {
            common::root().join("tests/pkgsrc")
        }
    }

    /// Use a private copy of the example tree (for tests that edit it);
    /// must be called before [`Site::new`]'s config is used, so it rewrites
    /// the `pkgsrc=` setting.
    pub fn copy_tree(&self) {
        let out = Command::new("cp")
            .arg("-R")
            .arg(common::root().join("tests/pkgsrc"))
            .arg(self.path("pkgsrc"))
            .output()
            .unwrap();
        assert!(out.status.success());
        let text = fs::read_to_string(self.conf()).unwrap();
        fs::write(
            self.conf(),
            format!("{text}pkgsrc={}\n", self.path("pkgsrc").display()),
        )
        .unwrap();
    }

    pub fn conf(&self) -> PathBuf {
        self.path("pbulk/etc/pbulk.conf")
    }

    pub fn meta(&self, rel: &str) -> PathBuf {
        self.path("bulklog/meta").join(rel)
    }

    /// A command for an installed program with the site's environment.
    pub fn cmd(&self, prog: &str) -> Command {
        let path = if prog.starts_with("bulkbuild") || prog.starts_with("pbulk-") {
            self.path("pbulk/bin").join(prog)
        } else {
            self.path("pbulk/libexec/pbulk").join(prog)
        };
        let mut c = Command::new(path);
        c.env("PBULK_CONF", self.conf())
            .env("PBULK_LIBEXECDIR", self.path("pbulk/libexec/pbulk"))
            .env_remove("MAKEFLAGS")
            .env_remove("MAKELEVEL")
            .stdin(Stdio::null());
        c
    }

    pub fn run(&self, prog: &str, args: &[&str]) -> Output {
        self.cmd(prog).args(args).output().unwrap()
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_default()
    }

    pub fn lines(&self, rel: &str) -> Vec<String> {
        self.read(rel).lines().map(str::to_string).collect()
    }

    /// `meta/pbuild` as name -> status.
    pub fn statuses(&self) -> BTreeMap<String, String> {
        self.lines("bulklog/meta/pbuild")
            .iter()
            .map(|l| {
                let f: Vec<&str> = l.split('|').collect();
                (f[0].to_string(), f[1].to_string())
            })
            .collect()
    }

    pub fn ledger(&self) -> Vec<String> {
        self.lines("ledger")
    }
}

pub fn chmod_x(p: &Path) {
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(p, fs::Permissions::from_mode(0o755)).unwrap();
}

pub fn sorted(mut v: Vec<String>) -> Vec<String> {
    v.sort();
    v
}

/// Decompress with a tool (`gzip -dc`, `bzip2 -dc`).
pub fn decompress(tool: &str, path: &Path) -> String {
    let out = Command::new(tool).arg("-dc").arg(path).output().unwrap();
    assert!(out.status.success(), "{tool} -dc {}", path.display());
    String::from_utf8(out.stdout).unwrap()
}
