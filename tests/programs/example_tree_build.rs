//! Building packages of the example tree the way pkg-build does (scripts.md
//! §3.11) and reading them back with the stand-in pkg_install tools: package
//! contents, `pkg_info -X/-qb/-qN`, pkg_add/pkg_delete round trips, chosen
//! and fixed stage failures, user/group phases, pattern matching.

use crate::support::common;
use crate::support::example_tree as example_tree_util;

use example_tree_util::{bmake, bmake_ok, run_tool, tool_ok, tree};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

/// A private LOCALBASE, package database, package repository and WRKOBJDIR,
/// handed to the tree through a MAKECONF file.
struct Site {
    tmp: tempfile::TempDir,
    pkgsrc: PathBuf,
    conf: String,
}

impl Site {
    fn new() -> Site {
        Site::with_tree(tree())
    }

    fn with_tree(pkgsrc: PathBuf) -> Site {
        let tmp = tempfile::tempdir().unwrap();
        let d = tmp.path().display();
        let conf = tmp.path().join("mk.conf");
        fs::write(
            &conf,
            format!(
                "LOCALBASE={d}/pkg\nPKG_DBDIR={d}/pkg/pkgdb\nPACKAGES={d}/packages\nWRKOBJDIR={d}/work\n"
            ),
        )
        .unwrap();
        Site {
            conf: conf.to_str().unwrap().to_owned(),
            tmp,
            pkgsrc,
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    fn s(&self, rel: &str) -> String {
        self.path(rel).to_str().unwrap().to_owned()
    }

    fn make(&self, loc: &str, args: &[&str], extra: &[(&str, &str)]) -> std::process::Output {
        let mut env = vec![("MAKECONF", self.conf.as_str())];
        env.extend_from_slice(extra);
        bmake(&self.pkgsrc.join(loc), args, &env)
    }

    fn make_ok(&self, loc: &str, args: &[&str]) -> String {
        let mut env = vec![("MAKECONF", self.conf.as_str())];
        env.push(("PBULK_TEST_FAIL", ""));
        bmake_ok(&self.pkgsrc.join(loc), args, &env)
    }

    fn pkg_add(&self, args: &[&str]) -> std::process::Output {
        let path = self.s("packages/All");
        let db = self.s("pkg/pkgdb");
        let mut all = vec!["-K", db.as_str()];
        all.extend_from_slice(args);
        run_tool("pkg_add", &all, &[("PKG_PATH", path.as_str())])
    }

    /// pkg-build's steps 8-20 for one package: Ok(pkgname) or Err(step).
    fn build(
        &self,
        loc: &str,
        multi: &[&str],
        deps: &[&str],
        fail: &str,
    ) -> Result<String, String> {
        let log = format!("WRKLOG={}", self.s("work.log"));
        let mut wrap = vec!["BATCH=1", "DEPENDS_TARGET=/nonexistent"];
        wrap.extend_from_slice(multi);
        wrap.push(&log);
        let env = [("PBULK_TEST_FAIL", fail)];
        let step = |target: &str| {
            let mut args = vec![target];
            args.extend_from_slice(&wrap);
            let out = self.make(loc, &args, &env);
            if out.status.success() {
                Ok(String::from_utf8(out.stdout).unwrap())
            } else {
                Err(target.to_owned())
            }
        };
        step("clean")?;
        if !deps.is_empty() && !self.pkg_add(deps).status.success() {
            return Err("depends".into());
        }
        for target in [
            "checksum",
            "configure",
            "all",
            "stage-install",
            "stage-package-create",
        ] {
            step(target)?;
        }
        let mut args = vec!["show-var", "VARNAME=STAGE_PKGFILE"];
        args.extend_from_slice(&wrap);
        let pkgfile = String::from_utf8(self.make(loc, &args, &env).stdout).unwrap();
        let pkgfile = pkgfile.trim_end().to_owned();
        let name = Path::new(&pkgfile)
            .file_stem()
            .unwrap()
            .to_str()
            .unwrap()
            .to_owned();
        if !self.pkg_add(&[&pkgfile]).status.success() {
            return Err("test-install".into());
        }
        let db = self.s("pkg/pkgdb");
        if !run_tool("pkg_delete", &["-K", &db, &name], &[])
            .status
            .success()
        {
            return Err("deinstall".into());
        }
        fs::create_dir_all(self.path("packages/All")).unwrap();
        fs::copy(&pkgfile, self.path(&format!("packages/All/{name}.tgz"))).unwrap();
        step("clean")?;
        Ok(name)
    }

    fn built(&self, loc: &str, multi: &[&str], deps: &[&str]) -> String {
        self.build(loc, multi, deps, "")
            .unwrap_or_else(|step| panic!("{loc} failed at {step}"))
    }

    fn pkgfile(&self, name: &str) -> String {
        self.s(&format!("packages/All/{name}.tgz"))
    }
}

fn member(pkgfile: &str, name: &str) -> String {
    let out = Command::new("tar")
        .args(["-xzOf", pkgfile, name])
        .output()
        .unwrap();
    assert!(out.status.success(), "{pkgfile} has no {name}");
    String::from_utf8(out.stdout).unwrap()
}

fn lines(s: &str) -> Vec<&str> {
    s.lines().filter(|l| !l.is_empty()).collect()
}

#[test]
fn chain_builds_and_reads_back() {
    let site = Site::new();
    let digest = site.built("pkgtools/digest", &[], &[]);
    let libbase = site.built("devel/libbase", &[], &[&digest]);
    let libmid = site.built("devel/libmid", &[], &[&libbase]);
    let libtop = site.built("devel/libtop", &[], &[&libmid, &libbase]);
    assert_eq!(
        [digest.as_str(), &libbase, &libmid, &libtop],
        [
            "digest-20220214",
            "libbase-1.0nb2",
            "libmid-2.1",
            "libtop-0.9.3"
        ]
    );
    let top = site.pkgfile(&libtop);

    let contents = member(&top, "+CONTENTS");
    let expect = format!(
        "@name libtop-0.9.3\n@comment PKG_FORMAT_REVISION:1.1\n@pkgdep libmid>=2.0\n\
         @pkgdep libbase>=1.0\n@blddep libmid-2.1\n@blddep libbase-1.0nb2\n@cwd {}\n\
         bin/libtop\nshare/doc/libtop/README\n",
        site.s("pkg")
    );
    assert_eq!(contents, expect);
    assert_eq!(
        member(&top, "+COMMENT"),
        "Top of the libbase, libmid, libtop chain\n"
    );
    assert_eq!(member(&top, "+SIZE_PKG"), "70\n");
    assert!(member(&top, "+BUILD_INFO").contains("\nPKGPATH=devel/libtop\n"));

    let summary = tool_ok("pkg_info", &["-X", &top], &[]);
    let size = fs::metadata(&top).unwrap().len();
    let want_start = "PKGNAME=libtop-0.9.3\nDEPENDS=libmid>=2.0\nDEPENDS=libbase>=1.0\n\
                      COMMENT=Top of the libbase, libmid, libtop chain\nSIZE_PKG=70\nBUILD_DATE=";
    assert!(summary.starts_with(want_start), "{summary}");
    let want_end = format!(
        "PKGPATH=devel/libtop\nPKGTOOLS_VERSION=20250417\nFILE_NAME=libtop-0.9.3.tgz\n\
         FILE_SIZE={size}\nDESCRIPTION=Top of the libbase, libmid, libtop chain.\n\n"
    );
    assert!(summary.ends_with(&want_end), "{summary}");

    // What pkg-up-to-date reads: built-with packages and source file ids.
    let base = site.pkgfile(&libbase);
    assert_eq!(
        lines(&tool_ok("pkg_info", &["-qN", &top], &[])),
        ["libmid-2.1", "libbase-1.0nb2"]
    );
    assert_eq!(
        lines(&tool_ok("pkg_info", &["-qN", &base], &[])),
        ["digest-20220214"]
    );
    assert_eq!(
        tool_ok("pkg_info", &["-qN", &site.pkgfile(&digest)], &[]),
        ""
    );
    let ids = tool_ok("pkg_info", &["-qb", &base], &[]);
    let files: Vec<&str> = lines(&ids)
        .iter()
        .map(|l| l.split_once(':').unwrap().0)
        .collect();
    assert_eq!(
        files,
        [
            "devel/libbase/DESCR",
            "devel/libbase/Makefile",
            "devel/libbase/buildlink3.mk",
            "devel/libbase/distinfo",
            "devel/libbase/files/libbase-1.0.txt"
        ]
    );
    for line in lines(&ids) {
        let (file, id) = line.split_once(':').unwrap();
        let path = tree().join(file);
        let text = fs::read_to_string(&path).unwrap();
        if id.starts_with("$NetBSD") {
            let kw = &text[text.find("$NetBSD").unwrap()..];
            assert_eq!(&kw[..=kw[1..].find('$').unwrap() + 1], id, "{file}");
        } else {
            let digest = tool_ok("pkg_admin", &["digest", path.to_str().unwrap()], &[]);
            assert_eq!(digest, format!("{id}\n"), "{file}");
        }
    }
    let log = fs::read_to_string(site.path("work.log")).unwrap();
    assert!(log.contains("===> configure for libtop-0.9.3\n"), "{log}");
    assert!(log.contains("===> package for libtop-0.9.3\n"), "{log}");
}

#[test]
fn pkg_add_and_pkg_delete_round_trip() {
    let site = Site::new();
    let libbase = site.built(
        "devel/libbase",
        &[],
        &[&site.built("pkgtools/digest", &[], &[])],
    );
    let libmid = site.built("devel/libmid", &[], &[&libbase]);
    site.built("devel/libtop", &[], &[&libmid, &libbase]);

    // By base name through PKG_PATH, into another database and prefix:
    // the recorded run-time dependencies come along, build-only ones not.
    let (db, root) = (site.s("db2"), site.s("root2"));
    let path = site.s("packages/All");
    let env = [("PKG_PATH", path.as_str())];
    tool_ok(
        "pkg_add",
        &["-K", &db, "-p", &root, "-I", "-m", "amd64", "-f", "libtop"],
        &env,
    );
    let listing = tool_ok("pkg_info", &["-K", &db], &[]);
    let names: Vec<&str> = listing
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(names, ["libbase-1.0nb2", "libmid-2.1", "libtop-0.9.3"]);
    assert!(Path::new(&root).join("bin/libtop").is_file());
    assert!(
        fs::read_to_string(Path::new(&db).join("libtop-0.9.3/+CONTENTS"))
            .unwrap()
            .contains(&format!("@cwd {root}\n"))
    );
    assert_eq!(
        fs::read_to_string(Path::new(&db).join("libmid-2.1/+REQUIRED_BY")).unwrap(),
        "libtop-0.9.3\n"
    );
    assert_eq!(
        tool_ok("pkg_info", &["-K", &db, "-Q", "PKGPATH", "libmid"], &[]),
        "devel/libmid\n"
    );
    assert_eq!(
        tool_ok("pkg_info", &["-K", &db, "-E", "libmid>=2"], &[]),
        "libmid-2.1\n"
    );
    assert!(!run_tool("pkg_info", &["-K", &db, "-e", "libmid>=3"], &[])
        .status
        .success());
    // Installing again is fine; another version of an installed one is not.
    tool_ok("pkg_add", &["-K", &db, "-p", &root, "libtop-0.9.3"], &env);

    let refused = run_tool("pkg_delete", &["-K", &db, "libmid-2.1"], &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&refused.stderr).contains("still required"));
    tool_ok("pkg_delete", &["-K", &db, "libtop-0.9.3"], &[]);
    assert!(!Path::new(&root).join("bin/libtop").exists());
    assert_eq!(
        fs::read_to_string(Path::new(&db).join("libmid-2.1/+REQUIRED_BY")).unwrap(),
        ""
    );
    tool_ok("pkg_delete", &["-K", &db, "libmid", "libbase"], &[]);
    assert_eq!(tool_ok("pkg_info", &["-K", &db], &[]), "");
    assert!(
        !Path::new(&root).join("bin").exists(),
        "empty directories are removed"
    );

    let missing = run_tool("pkg_add", &["-K", &db, "nosuch-1.0"], &env);
    assert_eq!(missing.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no pkg found for 'nosuch-1.0'"));
    assert_eq!(
        run_tool("pkg_delete", &["-K", &db, "libtop"], &[])
            .status
            .code(),
        Some(1)
    );
    // A dependency that PKG_PATH cannot provide fails the addition.
    fs::remove_file(site.pkgfile(&libmid)).unwrap();
    let out = run_tool("pkg_add", &["-K", &db, "-p", &root, "libtop"], &env);
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("Can't install dependency libmid>=2.0"));
}

#[test]
fn multi_version_variant_builds() {
    let site = Site::new();
    let py = site.built("lang/python311", &[], &[]);
    let name = site.built("devel/py-hello", &["PYTHON_VERSION_REQD=311"], &[&py]);
    assert_eq!(name, "py311-hello-1.0");
    assert_eq!(
        tool_ok("pkg_info", &["-qN", &site.pkgfile(&name)], &[]),
        "python311-3.11.10\n\n"
    );
    // The default variant needs python312, which is not installed.
    assert_eq!(
        site.build("devel/py-hello", &[], &[], ""),
        Err("configure".into())
    );
}

#[test]
fn chosen_and_fixed_stage_failures() {
    let site = Site::new();
    let stages = [
        ("checksum", "checksum"),
        ("configure", "configure"),
        ("build", "all"),
        ("install", "stage-install"),
        ("package", "stage-package-create"),
    ];
    for (stage, target) in stages {
        for who in ["hello", "hello-2.12", "misc/hello"] {
            let fail = format!("other:build {who}:{stage}");
            assert_eq!(
                site.build("misc/hello", &[], &[], &fail),
                Err(target.to_owned()),
                "{fail}"
            );
        }
        let fixed = format!("misc/fail-{stage}");
        assert_eq!(
            site.build(&fixed, &[], &[], ""),
            Err(target.to_owned()),
            "{fixed}"
        );
    }
    assert_eq!(
        site.build("misc/hello", &[], &[], "hello:nosuchstage"),
        Ok("hello-2.12".into())
    );
    let out = site.make("misc/fail-configure", &["configure"], &[]);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("C compiler cannot create executables"),
        "{err}"
    );

    // keep_wrkdir: the failed WRKDIR, or the package directory without one.
    let tar = site.s("wrkdir.tar.gz");
    let into = format!("INTO={tar}");
    site.make_ok(
        "misc/fail-configure",
        &["pbulk-save-wrkdir", &into, "TAR=tar"],
    );
    let listing = Command::new("tar").args(["-tzf", &tar]).output().unwrap();
    assert!(String::from_utf8_lossy(&listing.stdout).contains("./.extract_done"));
    site.make_ok("misc/fail-configure", &["clean"]);
    site.make_ok(
        "misc/fail-configure",
        &["pbulk-save-wrkdir", &into, "TAR=tar"],
    );
    let listing = Command::new("tar").args(["-tzf", &tar]).output().unwrap();
    assert!(String::from_utf8_lossy(&listing.stdout).contains("./Makefile"));
}

#[test]
fn missing_dependencies_and_reasons_stop_the_build() {
    let site = Site::new();
    // DEPENDS_TARGET=/nonexistent: nothing installs libbase behind our back.
    assert_eq!(
        site.build("devel/libmid", &[], &[], ""),
        Err("configure".into())
    );
    let out = site.make(
        "devel/libmid",
        &["configure", "DEPENDS_TARGET=/nonexistent"],
        &[],
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("libbase>=1.0: NOT found"));
    assert_eq!(
        site.build("misc/broken", &[], &[], ""),
        Err("checksum".into())
    );
    assert_eq!(
        site.build("misc/skipped", &[], &[], ""),
        Err("checksum".into())
    );
    // A bootstrap package builds like any other.
    assert_eq!(
        site.build("pkgtools/pkg_install", &[], &[], ""),
        Ok("pkg_install-20250417".into())
    );
}

#[test]
fn usergroup_phases_need_create_usergroup() {
    let site = Site::new();
    assert_eq!(
        site.build("sysutils/daemon-conf", &[], &[], ""),
        Err("configure".into())
    );
    site.make_ok("sysutils/daemon-conf", &["create-usergroup", "clean"]);
    assert_eq!(
        site.build("sysutils/daemon-conf", &[], &[], ""),
        Ok("daemon-conf-1.0".into())
    );

    assert_eq!(
        site.build("sysutils/daemon-preinst", &[], &[], ""),
        Err("stage-install".into())
    );
    site.make_ok("sysutils/daemon-preinst", &["create-usergroup"]);
    assert_eq!(
        site.build("sysutils/daemon-preinst", &[], &[], ""),
        Ok("daemon-preinst-1.0".into())
    );
    let users = fs::read_to_string(site.path("pkg/.pbulk-test-usergroups")).unwrap();
    assert_eq!(users, "confg\nconfd\ndaemong\ndaemond\n");
}

#[test]
fn patterns_follow_pkg_install_rules() {
    let tmp = tempfile::tempdir().unwrap();
    let names = [
        "foo-1.0",
        "foo-1.0nb2",
        "foo-1.0rc1x",
        "foo-2.0alpha1",
        "bar-1.5",
        "foo-bar-3",
    ];
    for n in names {
        fs::create_dir_all(tmp.path().join(n)).unwrap();
        fs::write(tmp.path().join(n).join("+CONTENTS"), format!("@name {n}\n")).unwrap();
    }
    let db = tmp.path().to_str().unwrap();
    let cases = [
        ("foo>=1.0", Some("foo-2.0alpha1")),
        ("foo<2", Some("foo-2.0alpha1")),
        ("foo<2.0alpha1", Some("foo-1.0nb2")),
        ("foo>1.0<2.0alpha1", Some("foo-1.0nb2")),
        ("foo>=1.0rc1<1.0", Some("foo-1.0rc1x")),
        ("foo>=1.0nb1<1.0nb3", Some("foo-1.0nb2")),
        ("foo-[0-9]*", Some("foo-2.0alpha1")),
        ("foo-1.0", Some("foo-1.0")),
        ("foo", Some("foo-2.0alpha1")),
        ("{bar,baz}>=1.5", Some("bar-1.5")),
        ("{bar,foo-bar}-[0-9]*", Some("foo-bar-3")),
        ("foo>=3", None),
        ("foo==1.0", None),
        ("fo-[0-9]*", None),
    ];
    for (pat, want) in cases {
        let out = run_tool("pkg_info", &["-K", db, "-E", pat], &[]);
        let got = String::from_utf8(out.stdout).unwrap();
        assert_eq!(got.trim_end(), want.unwrap_or(""), "{pat}");
        assert_eq!(out.status.success(), want.is_some(), "{pat}");
    }
    // -e lists every match, -q silences both.
    let all = run_tool("pkg_info", &["-K", db, "-e", "foo"], &[]);
    assert_eq!(
        String::from_utf8(all.stdout).unwrap(),
        "foo-1.0\nfoo-1.0nb2\nfoo-1.0rc1x\nfoo-2.0alpha1\n"
    );
    let quiet = run_tool("pkg_info", &["-q", "-K", db, "-E", "foo>=1"], &[]);
    assert!(quiet.status.success() && quiet.stdout.is_empty());
}

#[test]
fn digest_tools_print_what_the_scripts_compare() {
    let tmp = tempfile::tempdir().unwrap();
    let file = tmp.path().join("a file");
    fs::write(&file, "hello\n").unwrap();
    let f = file.to_str().unwrap();
    let sha512 = "e7c22b994c59d9cf2b48e549b1e24666636045930d3da7c1acb299d1c3b7f931\
                  f94aae41edda2c2b207a36e10f8bcb8d45223e54878f5b316e7ce3b6bc019629";
    let sha256 = "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03";
    assert_eq!(
        tool_ok("digest", &["SHA512", f], &[]),
        format!("SHA512 ({f}) = {sha512}\n")
    );
    assert_eq!(tool_ok("digest", &["sha256", f, f], &[]).lines().count(), 2);
    assert_eq!(
        tool_ok("pkg_admin", &["digest", f], &[]),
        format!("{sha256}\n")
    );
    assert_eq!(
        run_tool("digest", &["SHA512", "/nonexistent"], &[])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run_tool("pkg_admin", &["digest", "/nonexistent"], &[])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run_tool("pkg_admin", &["frobnicate"], &[]).status.code(),
        Some(1)
    );
}

#[test]
fn tree_works_from_another_place() {
    let copy = tempfile::tempdir().unwrap();
    let root = common::root();
    for dir in ["tests/pkgsrc", "tests/tools"] {
        let status = Command::new("cp")
            .args([
                "-R",
                root.join(dir).to_str().unwrap(),
                copy.path().to_str().unwrap(),
            ])
            .status()
            .unwrap();
        assert!(status.success());
    }
    let pkgsrc = copy.path().join("pkgsrc");
    let site = Site::with_tree(pkgsrc.clone());
    let tools = site.make_ok("misc/hello", &["show-var", "VARNAME=PKG_INFO_CMD"]);
    assert_eq!(
        tools.trim_end(),
        copy.path().join("tools/pkg_info").to_str().unwrap()
    );
    let name = site.built("misc/hello", &[], &[]);
    let ids = tool_ok("pkg_info", &["-qb", &site.pkgfile(&name)], &[]);
    assert_eq!(lines(&ids).len(), 1);
    assert!(
        ids.starts_with("misc/hello/Makefile:$NetBSD: Makefile,v 1.1 "),
        "{ids}"
    );
}

#[test]
fn mksite_writes_a_usable_site() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("site");
    let site = dir.to_str().unwrap();
    let conf = tool_ok(
        "mksite",
        &[site, "/opt/pb/bin", "/opt/pb/libexec/pbulk"],
        &[],
    );
    assert_eq!(conf, format!("{site}/pbulk.conf\n"));
    let script = format!(
        ". {site}/pbulk.conf && echo \"$config_version|$loc|$pkgsrc|$prefix|$pkgdb|$pkg_info|$pscan|$script_phase_build\""
    );
    let out = Command::new("sh").args(["-c", &script]).output().unwrap();
    assert!(out.status.success());
    let want = format!(
        "0.68|{site}/bulklog/meta|{}|{site}/pkg|{site}/pkg/pkgdb|{}|/opt/pb/bin/pbulk-scan|/opt/pb/libexec/pbulk/build\n",
        tree().display(),
        example_tree_util::tool("pkg_info").display()
    );
    assert_eq!(String::from_utf8(out.stdout).unwrap(), want);
    // The make wrapper hands the site's MAKECONF to bmake, without GNU
    // make's flags.
    let out = Command::new(dir.join("bin/make"))
        .args(["show-vars", "VARNAMES=LOCALBASE PKG_DBDIR WRKDIR"])
        .current_dir(tree().join("misc/hello"))
        .env("MAKEFLAGS", "-j4 --jobserver-auth=3,4")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!("{site}/pkg\n{site}/pkg/pkgdb\n{site}/work/misc/hello/work\n")
    );
}

#[test]
fn cross_builds_find_dependencies_below_cross_destdir() {
    let site = Site::new();
    let libbase = site.built(
        "devel/libbase",
        &[],
        &[&site.built("pkgtools/digest", &[], &[])],
    );
    // What pkg-build does in cross mode: install below target_destdir.
    let dest = site.s("destdir");
    let (db, prefix) = (
        format!("{dest}{}", site.s("pkg/pkgdb")),
        format!("{dest}{}", site.s("pkg")),
    );
    let path = site.s("packages/All");
    let args = [
        "-K",
        db.as_str(),
        "-m",
        "amd64",
        "-f",
        "-I",
        "-p",
        prefix.as_str(),
        libbase.as_str(),
    ];
    tool_ok("pkg_add", &args, &[("PKG_PATH", path.as_str())]);
    assert!(Path::new(&prefix).join("bin/libbase").is_file());
    // Without CROSS_DESTDIR the dependency is missing, with it it is found.
    assert_eq!(
        site.build("devel/libmid", &[], &[], ""),
        Err("configure".into())
    );
    let cross = format!("CROSS_DESTDIR={dest}");
    let out = site.make("devel/libmid", &["stage-package-create", &cross], &[]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let file = site.make_ok("devel/libmid", &["show-var", "VARNAME=STAGE_PKGFILE"]);
    assert!(member(file.trim_end(), "+CONTENTS").contains("\n@blddep libbase-1.0nb2\n"));
}
