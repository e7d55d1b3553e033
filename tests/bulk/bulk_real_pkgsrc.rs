//! A bulk build of the real 2014 pkgsrc subset (`tests/data`) with the real
//! bmake, mk/ and pkg_install of its bootstrap, driven by pbulk-rs as an
//! operator would install and configure it. The outcome of the limited list
//! is known (tests/data/pkgsrc-2014-subset.md): 11 packages done, perl failed at
//! checksum (no distfile, and no network fetch is tried), mtree failed at
//! build (glibc moved makedev), 5 depending on those, and pkg_comp prefailed
//! (NetBSD only).
//!
//! pbulk-rs goes into the tools prefix with `make install PREFIX=...`, as an
//! operator installs it from source: the prefix is compiled in, so this is a
//! build of its own (release profile, its target directory kept beside the
//! cached bootstrap, so that later runs rebuild only what changed). The
//! runs still name the configuration with `PBULK_CONF`, which the operator's
//! pbulk.conf beside the site needs.
//!
//! One stand-in remains: the bootstrap of this 2014 tree installs no
//! `digest` program, so the SHA512 step uses `tests/tools/digest` (the same
//! output format, from sha512sum).

use crate::support::common;
use crate::support::realpkgsrc::{self, Bootstrap, Use};
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

const TEST: &str = "bulk_real_pkgsrc";

/// tests/data/pkgsrc-2014-subset.md's limited list plus pkg_comp, one per line.
const LIMITED_LIST: &str = "pkgtools/pkg_install\ndevel/bmake\npkgtools/digest\npkgtools/mtree\n\
pkgtools/shlock\npkgtools/pkg_alternatives\npkgtools/pkg_rolling-replace\npkgtools/pbulk\n\
pkgtools/pkg_comp\n";

/// The designed outcome, by package base name: status and, for a failure,
/// the step whose log is the last one pkg-build left.
const OUTCOME: [(&str, &str); 19] = [
    ("bootstrap-mk-files", "done"),
    ("bmake", "done"),
    ("pkg_install", "done"),
    ("digest", "done"),
    ("nbpatch", "done"),
    ("pbulk-base", "done"),
    ("pkg_chk", "done"),
    ("pkg_tarup", "done"),
    ("pkg_alternatives", "done"),
    ("shlock", "done"),
    ("pkg_rolling-replace", "done"),
    ("perl", "failed checksum"),
    ("mtree", "failed build"),
    ("rsync", "indirect-failed"),
    ("openssl", "indirect-failed"),
    ("p5-Perl4-CoreLibs", "indirect-failed"),
    ("heirloom-mailx", "indirect-failed"),
    ("pbulk", "indirect-failed"),
    ("pkg_comp", "prefailed"),
];

/// The steps of pkg-build in order, as their logs are named.
const STEPS: [&str; 9] = [
    "pre-clean",
    "depends",
    "checksum",
    "configure",
    "build",
    "install",
    "package",
    "clean",
    "deinstall",
];

struct Site {
    boot: Bootstrap,
    _tmp: tempfile::TempDir,
    root: PathBuf,
    conf: PathBuf,
}

impl Site {
    fn p(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    fn all(&self) -> PathBuf {
        self.p("packages/All")
    }

    /// Run an installed program with a cleared environment, as from cron.
    fn run(&self, prog: &str, args: &[&str]) -> Duration {
        let log = self.p(&format!("{prog}.out"));
        let out = fs::File::create(&log).unwrap();
        let start = Instant::now();
        let status = Command::new(self.boot.tools().join("bin").join(prog))
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("PBULK_CONF", &self.conf)
            .env("PBULK_LIBEXECDIR", self.boot.tools().join("libexec/pbulk"))
            .current_dir(&self.root)
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .status()
            .unwrap();
        let took = start.elapsed();
        let text = fs::read_to_string(&log).unwrap_or_default();
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        assert!(
            status.success(),
            "{prog} {args:?} failed ({status}); its output ends:\n{}",
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        );
        eprintln!("{TEST}: {prog} {} took {took:.1?}", args.join(" "));
        took
    }

    /// `PKGNAME -> BUILD_STATUS` from meta/report.
    fn report(&self) -> BTreeMap<String, String> {
        let text = fs::read_to_string(self.p("bulklog/meta/report")).unwrap();
        let mut out = BTreeMap::new();
        let mut name = String::new();
        for l in text.lines() {
            if let Some(v) = l.strip_prefix("PKGNAME=") {
                name = v.to_string();
            } else if let Some(v) = l.strip_prefix("BUILD_STATUS=") {
                out.insert(name.clone(), v.to_string());
            }
        }
        out
    }

    /// The package outcomes in OUTCOME's terms, by base name.
    fn outcomes(&self) -> BTreeMap<String, String> {
        let mut out = BTreeMap::new();
        for (pkg, status) in self.report() {
            let mut what = status.clone();
            if status == "failed" {
                let dir = self.p(&format!("bulklog/{pkg}"));
                let step = STEPS
                    .iter()
                    .rev()
                    .find(|s| dir.join(format!("{s}.log")).exists())
                    .unwrap_or(&"none");
                what = format!("failed {step}");
            }
            out.insert(base(&pkg).to_string(), what);
        }
        out
    }

    /// Every binary package: name -> (modification time, size).
    fn packages(&self) -> BTreeMap<String, (SystemTime, u64)> {
        let mut out = BTreeMap::new();
        for e in fs::read_dir(self.all()).unwrap() {
            let e = e.unwrap();
            let name = e.file_name().into_string().unwrap();
            if let Some(pkg) = name.strip_suffix(".tgz") {
                let m = e.metadata().unwrap();
                out.insert(pkg.to_string(), (m.modified().unwrap(), m.len()));
            }
        }
        out
    }

    fn tool(&self, name: &str, args: &[&str]) -> std::process::Output {
        let out = Command::new(self.boot.tool(name))
            .args(args)
            .env_clear()
            .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
            .env("PKG_PATH", self.all())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name} {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

/// `foo-1.0nb2` -> `foo`.
fn base(pkg: &str) -> &str {
    pkg.rsplit_once('-').map_or(pkg, |(b, _)| b)
}

fn sh(cmd: &str) -> Vec<u8> {
    let out = Command::new("sh").args(["-c", cmd]).output().unwrap();
    assert!(
        out.status.success(),
        "{cmd}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out.stdout
}

fn gnu_make() -> &'static str {
    ["make", "gmake"]
        .into_iter()
        .find(|m| {
            Command::new(m)
                .arg("--version")
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).starts_with("GNU Make"))
        })
        .expect("GNU make runs the project's Makefile")
}

/// Unpack the tree, install pbulk-rs into the tools prefix and write the
/// operator's pbulk.conf: the installed example with overrides appended.
fn site(boot: Bootstrap) -> Site {
    let tmp = tempfile::Builder::new()
        .prefix("pbulk-realpkgsrc-bulk-")
        .tempdir()
        .unwrap();
    let root = tmp.path().canonicalize().unwrap();
    fs::create_dir_all(root.join("pkgsrc")).unwrap();
    sh(&format!(
        "zstd -dcq '{}' | tar -xf - -C '{}/pkgsrc'",
        realpkgsrc::tarball().display(),
        root.display()
    ));

    let tools = boot.tools();
    let target = tools.with_file_name("pbulk-rs-target");
    let out = Command::new(gnu_make())
        .current_dir(common::root())
        .args(["-s", "install", "PROFILE=release"])
        .arg(format!("PREFIX={}", tools.display()))
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("MAKEFLAGS")
        .env_remove("MAKELEVEL")
        .env_remove("MFLAGS")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "make install: {}",
        String::from_utf8_lossy(&out.stderr)
    );

    let build = boot.build_prefix();
    let example = fs::read_to_string(tools.join("share/examples/pbulk/pbulk.conf")).unwrap();
    let overrides = format!(
        "
# --- this site ---
master_mode=no
bootstrapkit={kit}
limited_list={root}/limited_list
unprivileged_user=root
bulklog={root}/bulklog
loc=${{bulklog}}/meta
packages={root}/packages
prefix={build}
make=${{prefix}}/bin/bmake
pkgsrc={root}/pkgsrc
pkgdb={build}/.pkgdb
varbase={build}-var
mail=:
rsync=:
neato=:
digest={digest}
",
        digest = common::root().join("tests/tools/digest").display(),
        kit = boot.kit().display(),
        root = root.display(),
        build = build.display(),
    );
    let conf = root.join("pbulk.conf");
    fs::write(&conf, example + &overrides).unwrap();
    fs::write(root.join("limited_list"), LIMITED_LIST).unwrap();
    Site {
        boot,
        _tmp: tmp,
        root,
        conf,
    }
}

#[test]
fn bulk_build_of_real_pkgsrc() {
    let Some(boot) = realpkgsrc::bootstrap(Use::Exclusive, TEST) else {
        return;
    };
    let s = site(boot);

    s.run("bulkbuild", &[]);
    let expected: BTreeMap<String, String> = OUTCOME
        .iter()
        .map(|(p, o)| (p.to_string(), o.to_string()))
        .collect();
    assert_eq!(s.outcomes(), expected, "the designed outcome");
    let report = s.report();
    let built: BTreeSet<String> = report
        .iter()
        .filter(|(_, st)| *st == "done")
        .map(|(p, _)| p.clone())
        .collect();
    let first = s.packages();
    assert_eq!(
        first.keys().cloned().collect::<BTreeSet<_>>(),
        built,
        "a binary package for every package done, nothing else"
    );
    let txt = fs::read_to_string(s.p("bulklog/meta/report.txt")).unwrap();
    let masked = txt.lines().any(|l| {
        l.split_whitespace().collect::<Vec<_>>().join(" ") == "Explicitly broken or masked: 1"
    });
    assert!(masked, "{txt}");

    real_tools_accept_the_packages(&s, &built);
    summary_and_checksums_agree(&s, &first);

    // Restart after a finished run: nothing to do.
    s.run("bulkbuild-restart", &[]);
    assert_eq!(s.packages(), first, "bulkbuild-restart rebuilt something");
    assert_eq!(s.report(), report);

    // A dependency's package newer than its dependents: exactly those
    // (transitively) are built again, everything else is reused.
    let touched = built.iter().find(|p| base(p) == "pkg_chk").unwrap().clone();
    let later = SystemTime::now();
    filetime::set_file_mtime(
        s.all().join(format!("{touched}.tgz")),
        filetime::FileTime::from_system_time(later),
    )
    .unwrap();
    let dependents = dependents_of(&s, &touched);
    assert!(
        dependents.iter().any(|p| base(p) == "pkg_rolling-replace"),
        "{dependents:?}"
    );
    let before = s.packages();
    s.run("bulkbuild", &[]);
    assert_eq!(s.report(), report, "same outcome on the second run");
    let after = s.packages();
    let rebuilt: BTreeSet<String> = after
        .iter()
        .filter(|(p, v)| before.get(*p) != Some(v))
        .map(|(p, _)| p.clone())
        .collect();
    assert_eq!(rebuilt, dependents, "rebuilt after touching {touched}");
    summary_and_checksums_agree(&s, &after);

    // bulkbuild-rebuild builds the named package again, and only it. Its
    // pkg-build skips a package that is up to date, as the original's does,
    // so the operator's case is one whose binary package went missing.
    let digest = built.iter().find(|p| base(p) == "digest").unwrap().clone();
    let before = s.packages();
    fs::remove_file(s.all().join(format!("{digest}.tgz"))).unwrap();
    s.run("bulkbuild-rebuild", &[&digest]);
    let after = s.packages();
    let rebuilt: BTreeSet<String> = after
        .iter()
        .filter(|(p, v)| before.get(*p) != Some(v))
        .map(|(p, _)| p.clone())
        .collect();
    assert_eq!(rebuilt, BTreeSet::from([digest.clone()]));
    s.tool(
        "pkg_info",
        &[
            "-X",
            &s.all().join(format!("{digest}.tgz")).to_string_lossy(),
        ],
    );
}

/// The packages whose DEPENDS reach `pkg` (meta/presolve), transitively.
fn dependents_of(s: &Site, pkg: &str) -> BTreeSet<String> {
    let text = fs::read_to_string(s.p("bulklog/meta/presolve")).unwrap();
    let mut deps: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut name = String::new();
    for l in text.lines() {
        if let Some(v) = l.strip_prefix("PKGNAME=") {
            name = v.to_string();
        } else if let Some(v) = l.strip_prefix("DEPENDS=") {
            deps.insert(
                name.clone(),
                v.split_whitespace().map(String::from).collect(),
            );
        }
    }
    let mut out = BTreeSet::new();
    let mut grew = true;
    while grew {
        grew = false;
        for (p, ds) in &deps {
            if !out.contains(p) && ds.iter().any(|d| d == pkg || out.contains(d)) {
                out.insert(p.clone());
                grew = true;
            }
        }
    }
    out
}

/// The real `pkg_info -X` reads every package, and the real `pkg_add`
/// installs them all, dependencies from PKG_PATH, into a scratch prefix
/// (`-p`) with its own package database.
fn real_tools_accept_the_packages(s: &Site, built: &BTreeSet<String>) {
    for pkg in built {
        let file = s.all().join(format!("{pkg}.tgz"));
        let out = s.tool("pkg_info", &["-X", &file.to_string_lossy()]);
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains(&format!("PKGNAME={pkg}\n")), "{text}");
    }
    let dest = s.p("scratch-prefix");
    let dbdir = s.p("scratch-pkgdb");
    let mut args: Vec<String> = vec![
        "-K".into(),
        dbdir.display().to_string(),
        "-p".into(),
        dest.display().to_string(),
    ];
    args.extend(built.iter().cloned());
    let argv: Vec<&str> = args.iter().map(String::as_str).collect();
    s.tool("pkg_add", &argv);
    let out = s.tool("pkg_info", &["-K", &dbdir.to_string_lossy(), "-a"]);
    let listed: BTreeSet<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .collect();
    assert_eq!(&listed, built, "installed by the real pkg_add");
    let bmake = dest.join("bin/bmake");
    assert!(bmake.is_file(), "{} installed", bmake.display());
}

/// `All/pkg_summary.gz` holds exactly the real `pkg_info -X` record of every
/// package; `SHA512.bz2` the right digest of every file it names, every
/// package among them.
fn summary_and_checksums_agree(s: &Site, pkgs: &BTreeMap<String, (SystemTime, u64)>) {
    let summary = String::from_utf8(sh(&format!(
        "gzip -dc '{}/pkg_summary.gz'",
        s.all().display()
    )))
    .unwrap();
    let records: BTreeSet<String> = summary
        .split("\n\n")
        .filter(|r| !r.trim().is_empty())
        .map(|r| r.trim_end().to_string())
        .collect();
    let mut want = BTreeSet::new();
    for pkg in pkgs.keys() {
        let file = s.all().join(format!("{pkg}.tgz"));
        let out = s.tool("pkg_info", &["-X", &file.to_string_lossy()]);
        let rec = String::from_utf8(out.stdout).unwrap();
        want.insert(rec.trim_end().to_string());
    }
    assert_eq!(records, want, "pkg_summary.gz against pkg_info -X");
    let bz = sh(&format!(
        "bzip2 -dc '{}/pkg_summary.bz2'",
        s.all().display()
    ));
    assert_eq!(bz, summary.as_bytes(), "pkg_summary.bz2 = pkg_summary.gz");

    let sums = String::from_utf8(sh(&format!(
        "bzip2 -dc '{}/SHA512.bz2'",
        s.p("packages").display()
    )))
    .unwrap();
    let mut named = BTreeSet::new();
    for l in sums.lines() {
        let (file, hex) = l
            .strip_prefix("SHA512 (")
            .and_then(|r| r.split_once(") = "))
            .unwrap_or_else(|| panic!("SHA512.bz2 line {l:?}"));
        let path = s.p("packages").join(file);
        let real = sh(&format!("sha512sum < '{}'", path.display()));
        assert_eq!(
            &String::from_utf8_lossy(&real)[..128],
            hex,
            "SHA512 of {file}"
        );
        named.insert(file.to_string());
    }
    for pkg in pkgs.keys() {
        assert!(named.contains(&format!("All/{pkg}.tgz")), "{pkg} in SHA512");
    }
}
