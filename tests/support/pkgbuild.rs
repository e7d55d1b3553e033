//! A throw-away pkgsrc world for pkg-build, pkg-up-to-date and the build
//! phase: a pbulk.conf naming stand-in tools (sh scripts that append their
//! argument vector to a `calls` file and then behave minimally), a make
//! wrapper that records and runs the real bmake, tiny package Makefiles,
//! and a libexec directory with a recording client-clean, found through the
//! PBULK_LIBEXECDIR extension instead of the compiled-in prefix.
#![allow(dead_code)]

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

pub use super::common;

pub struct World {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    /// Extra `name=value` lines appended to the generated pbulk.conf.
    pub conf_extra: Vec<String>,
}

/// `[arg]` per argument after the tool name, one line per call.
const LOG_FN: &str = r#"log() {
	{ printf '%s' "$TOOL"; for a in "$@"; do printf ' [%s]' "$a"; done; printf '\n'; } >> "$CALLS"
}
"#;

pub fn is_root() -> bool {
    nix::unistd::geteuid().is_root()
}

/// A user that `chown` accepts here: nobody as root, else ourselves.
pub fn unprivileged_user() -> String {
    if is_root() {
        "nobody".into()
    } else {
        nix::unistd::User::from_uid(nix::unistd::geteuid())
            .unwrap()
            .unwrap()
            .name
    }
}

impl World {
    pub fn new() -> World {
        World::new_in(&std::env::temp_dir())
    }

    /// [`World::new`] in a temporary directory below `parent`.
    pub fn new_in(parent: &Path) -> World {
        let tmp = tempfile::tempdir_in(parent).unwrap();
        let root = tmp.path().canonicalize().unwrap();
        let w = World {
            tmp,
            root,
            conf_extra: Vec::new(),
        };
        for d in [
            "tools",
            "libexec",
            "pkgsrc/mk",
            "packages/All",
            "bulklog/meta",
            "pkgdb",
            "prefix",
        ] {
            fs::create_dir_all(w.p(d)).unwrap();
        }
        fs::write(w.p("calls"), "").unwrap();
        w.tools();
        fs::write(w.p("pkgsrc/mk/stub.mk"), STUB_MK).unwrap();
        w
    }

    pub fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn s(&self, rel: &str) -> String {
        let p = if rel.is_empty() {
            self.root.clone()
        } else {
            self.p(rel)
        };
        p.to_str().unwrap().to_string()
    }

    fn script(&self, name: &str, body: &str) {
        let path = self.p(&format!("tools/{name}"));
        let text = format!(
            "#!/bin/sh\nTOOL={name}\nCALLS='{}'\n{LOG_FN}{body}",
            self.s("calls")
        );
        fs::write(&path, text).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Replace a stand-in tool's behaviour (after the `log` function).
    pub fn tool(&self, name: &str, body: &str) {
        self.script(name, body);
    }

    fn tools(&self) {
        self.script("make", "log \"$@\"\nexec bmake \"$@\"\n");
        self.script(
            "su",
            "log \"$@\"\nshift\n[ \"$1\" = -c ] || exit 99\ncmd=$2\nshift 2\nexec /bin/sh -c \"$cmd\" \"$@\"\n",
        );
        self.script(
            "pkg_add",
            "log \"$@\" \"PKG_PATH=$PKG_PATH\"\nfor a in \"$@\"; do case $a in *broken*) echo \"cannot add $a\"; exit 1;; esac; done\necho added\n",
        );
        self.script("pkg_delete", "log \"$@\"\necho deleted\n");
        // -qb / -qN print the B / N lines of the (text) package file,
        // -X a summary record, -K a pkgdb's package directories.
        self.script(
            "pkg_info",
            r#"log "$@"
case $1 in
-qb) sed -n 's/^B //p' "$2";;
-qN) sed -n 's/^N //p' "$2";;
-X) shift; for f in "$@"; do n=${f%.tgz}; printf 'PKGNAME=%s\nFILE_NAME=%s\n\n' "$n" "$f"; done;;
-K) ls "$2";;
esac
"#,
        );
        self.script("pkg_admin", "log \"$@\"\nsha512sum < \"$2\" | cut -c1-16\n");
        self.script(
            "digest",
            "log \"$@\"\nshift\nfor f in \"$@\"; do printf 'SHA512 (%s) = %s\\n' \"$f\" \"$(sha512sum < \"$f\" | cut -d' ' -f1)\"; done\n",
        );
        self.script(
            "uptodate",
            "log \"$@\"\nexit $(cat \"${CALLS%calls}uptodate-status\" 2>/dev/null || echo 1)\n",
        );
        self.script("sync_buildlog", "log \"$@\"\n");
        self.script("pbulk-build", "log \"$@\" \"PBULK_CONF=$PBULK_CONF\"\n");
        let cc = self.p("libexec/client-clean");
        fs::write(
            &cc,
            format!("#!/bin/sh\nTOOL=client-clean\nCALLS='{}'\n{LOG_FN}log \"PBULK_CONF=$PBULK_CONF\"\n", self.s("calls")),
        )
        .unwrap();
        fs::set_permissions(&cc, fs::Permissions::from_mode(0o755)).unwrap();
    }

    /// Write pbulk.conf: the stand-ins plus `conf_extra`.
    pub fn write_conf(&self) -> PathBuf {
        let t = |n: &str| self.s(&format!("tools/{n}"));
        let mut c = format!(
            "config_version=0.68\nmaster_mode=no\nbulklog={bl}\nloc={bl}/meta\npackages={pk}\n\
             prefix={pre}\npkgsrc={src}\npkgdb={db}\nunprivileged_user={user}\n\
             use_unprivileged_checksum=no\ncross_compile=no\ntarget_arch=vax\n\
             target_destdir={root}/destdir\nmake={make}\npkg_add={add}\npkg_delete={del}\n\
             pkg_info={info}\npkg_admin={admin}\ndigest={digest}\ngzip=\"gzip -nf -9\"\nbzip2=bzip2\n\
             sed=sed\ntar=tar\npkg_up_to_date_script={up}\nsync_buildlog={sb}\n\
             sync_package=default_sync_package\npkg_sufx=.tgz\nkeep_wrkdir=no\nkeep_prefix=no\n\
             pbuild={pb}\npbuild_script=/x/pkg-build\npbuild_start_script=/x/start\n\
             master_port_build=10.0.0.1:2002\n",
            bl = self.s("bulklog"),
            pk = self.s("packages"),
            pre = self.s("prefix"),
            src = self.s("pkgsrc"),
            db = self.s("pkgdb"),
            root = self.s(""),
            user = unprivileged_user(),
            make = t("make"),
            add = t("pkg_add"),
            del = t("pkg_delete"),
            info = t("pkg_info"),
            admin = t("pkg_admin"),
            digest = t("digest"),
            up = t("uptodate"),
            sb = t("sync_buildlog"),
            pb = t("pbulk-build"),
        );
        for l in &self.conf_extra {
            c.push_str(l);
            c.push('\n');
        }
        let path = self.p("pbulk.conf");
        fs::write(&path, c).unwrap();
        path
    }

    /// A package directory `cat/name` whose Makefile fails at `fail` (a
    /// target name) when non-empty.
    pub fn package(&self, loc: &str, pkgname: &str, fail: &str) {
        let dir = self.p(&format!("pkgsrc/{loc}"));
        fs::create_dir_all(&dir).unwrap();
        fs::write(
            dir.join("Makefile"),
            format!("# $NetBSD: Makefile,v 1.1 2020/01/01 00:00:00 x Exp $\nPKGNAME={pkgname}\nFAIL={fail}\n.include \"../../mk/stub.mk\"\n"),
        )
        .unwrap();
    }

    pub fn command(&self, prog: &str) -> Command {
        let conf = self.write_conf();
        let mut cmd = Command::new(common::bin(prog));
        let path = format!(
            "{}:{}",
            self.s("tools"),
            std::env::var("PATH").unwrap_or_default()
        );
        cmd.env("PBULK_CONF", conf)
            .env("PBULK_LIBEXECDIR", self.p("libexec"))
            .env("PATH", path)
            .env("LC_ALL", "C")
            .current_dir(&self.root);
        cmd
    }

    /// Run `prog` with `stdin` as its input.
    pub fn run(&self, prog: &str, args: &[&str], stdin: &str) -> Output {
        use std::io::Write;
        let mut child = self
            .command(prog)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // A program that exits before reading (e.g. on a version mismatch)
        // closes the pipe early; that is not the test's failure.
        let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
        child.wait_with_output().unwrap()
    }

    /// The recorded calls, with the world's root shown as `T`.
    pub fn calls(&self) -> Vec<String> {
        let text = fs::read_to_string(self.p("calls")).unwrap();
        text.replace(&self.s(""), "T")
            .lines()
            .map(str::to_string)
            .collect()
    }

    pub fn clear_calls(&self) {
        fs::write(self.p("calls"), "").unwrap();
    }

    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.p(rel))
            .unwrap_or_else(|e| panic!("{rel}: {e}"))
            .replace(&self.s(""), "T")
    }
}

/// Targets echo their name; `FAIL=<target>` makes that one fail; the
/// package is a text file whose B/N lines the pkg_info stand-in reads.
const STUB_MK: &str = r#"STAGE_PKGFILE=${.CURDIR}/work/${PKGNAME}.tgz
.MAIN: all
checksum configure all stage-install create-usergroup pbulk-save-wrkdir:
	@echo "${.TARGET} of ${PKGNAME}${INTO:D INTO=${INTO}}${TAR:D TAR=${TAR}}"
	@if [ "${FAIL}" = "${.TARGET}" ]; then echo "${.TARGET} failed"; exit 1; fi
clean:
	@echo "clean of ${PKGNAME}"
	@if [ "${FAIL}" = clean ]; then echo "clean failed"; exit 1; fi
	@rm -rf ${.CURDIR}/work
stage-package-create:
	@echo "${.TARGET} of ${PKGNAME}"
	@if [ "${FAIL}" = "${.TARGET}" ]; then exit 1; fi
	@mkdir -p ${.CURDIR}/work
	@printf 'B Makefile:%s\nPKG %s\n' "$$(sed -n 's/^# //p;q' ${.CURDIR}/Makefile)" "${PKGNAME}" > ${STAGE_PKGFILE}
show-var:
	@echo ${${VARNAME}}
"#;

/// The su prefix the make wrapper gets for an unprivileged step.
pub fn su_prefix() -> String {
    if is_root() {
        format!("su [{}] [-c] [\"$@\"] [make] ", unprivileged_user())
    } else {
        String::new()
    }
}
