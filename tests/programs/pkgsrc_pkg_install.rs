//! The pkgsrc package in pkgsrc/pkgtools/pbulk-rs against the source tree:
//! its PLIST is exactly what `make install` lays out under the default
//! prefix /usr/pkg_bulk, its crate lists are those of Cargo.lock, and
//! `make install-only` refuses programs built for another prefix, and the
//! real pkg_install of the 2014 bootstrap packs and installs the programs'
//! hard links.
//!
//! The programs are those this test run built (BUILDDIR=target/<profile>):
//! build.rs compiled the default prefix into them and recorded it there.

use crate::support::common;
use crate::support::realpkgsrc::{self, Use};

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

const PKG: &str = "pkgsrc/pkgtools/pbulk-rs";

/// GNU make runs the Makefile; without it (or mandoc for the formatted
/// pages) the install tests cannot run. Under CI they must.
fn tools_present() -> bool {
    let gnu = ["make", "gmake"].into_iter().any(|m| {
        Command::new(m)
            .arg("--version")
            .output()
            .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).starts_with("GNU Make"))
    });
    let mandoc = Command::new("mandoc").arg("-V").output().is_ok();
    if gnu && mandoc {
        return true;
    }
    common::skip(
        "the pkgsrc package tests",
        "GNU make or mandoc is not installed",
    );
    false
}

fn gnu_make() -> &'static str {
    ["gmake", "make"]
        .into_iter()
        .find(|m| {
            Command::new(m)
                .arg("--version")
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).starts_with("GNU Make"))
        })
        .unwrap()
}

/// `make -s <args> BUILDDIR=<this run's programs> DESTDIR=<dest>`, with no
/// PREFIX unless `args` has one.
fn make(dest: &Path, args: &[&str]) -> Output {
    let builddir = common::bin("bulkbuild").parent().unwrap().to_path_buf();
    Command::new(gnu_make())
        .current_dir(common::root())
        .env_remove("MAKEFLAGS")
        .env_remove("MAKELEVEL")
        .env_remove("MFLAGS")
        .arg("-s")
        .args(args)
        .arg(format!("BUILDDIR={}", builddir.display()))
        .arg(format!("DESTDIR={}", dest.display()))
        .output()
        .unwrap()
}

fn make_ok(dest: &Path, args: &[&str]) {
    let out = make(dest, args);
    assert!(
        out.status.success(),
        "make {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Every file under `dir`, as paths relative to `base`.
fn files(dir: &Path, base: &Path, into: &mut BTreeSet<String>) {
    for e in std::fs::read_dir(dir).unwrap().flatten() {
        let p = e.path();
        if p.is_dir() {
            files(&p, base, into);
        } else {
            into.insert(p.strip_prefix(base).unwrap().display().to_string());
        }
    }
}

fn plist() -> BTreeSet<String> {
    let text = std::fs::read_to_string(common::root().join(PKG).join("PLIST")).unwrap();
    let mut lines = text.lines();
    assert!(lines.next().unwrap().starts_with("@comment $NetBSD"));
    let entries: Vec<String> = lines
        .filter(|l| !l.starts_with('@'))
        .map(String::from)
        .collect();
    let mut sorted = entries.clone();
    sorted.sort();
    assert_eq!(entries, sorted, "PLIST is sorted, as pkgsrc wants it");
    sorted.into_iter().collect()
}

/// Tells which files to add to or remove from PLIST (man pages of other
/// branches, new programs), not just that the lists differ.
fn assert_same(installed: &BTreeSet<String>, listed: &BTreeSet<String>, what: &str) {
    let extra: Vec<_> = installed.difference(listed).collect();
    let missing: Vec<_> = listed.difference(installed).collect();
    assert!(
        extra.is_empty() && missing.is_empty(),
        "{what}:\n  installed but not in {PKG}/PLIST (add): {extra:?}\n  \
         in {PKG}/PLIST but not installed (remove): {missing:?}"
    );
}

/// Whether an ELF64 little-endian program has neither a symbol table nor
/// debug information (what `strip` removes; `.debug_gdb_scripts` stays). Its section headers are read, as
/// the strings `.symtab` and `.debug_line` are also in std's symbolizer.
fn is_stripped(p: &Path) -> bool {
    let b = std::fs::read(p).unwrap();
    assert!(
        b.starts_with(b"\x7fELF\x02\x01"),
        "{}: not ELF64 LE",
        p.display()
    );
    let u16_at = |o: usize| u16::from_le_bytes(b[o..o + 2].try_into().unwrap()) as usize;
    let u32_at = |o: usize| u32::from_le_bytes(b[o..o + 4].try_into().unwrap()) as usize;
    let u64_at = |o: usize| u64::from_le_bytes(b[o..o + 8].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum, shstrndx) =
        (u64_at(0x28), u16_at(0x3a), u16_at(0x3c), u16_at(0x3e));
    let strtab = u64_at(shoff + shstrndx * shentsize + 0x18);
    !(0..shnum).any(|i| {
        let sh = shoff + i * shentsize;
        let name = &b[strtab + u32_at(sh)..];
        let name = &name[..name.iter().position(|&c| c == 0).unwrap()];
        u32_at(sh + 4) == 2 || name == b".debug_info" || name == b".debug_line"
    })
}

#[test]
fn plist_is_what_make_install_lays_out() {
    if !tools_present() {
        return;
    }
    // As pkgsrc installs: no live configuration (CONF_FILES makes it).
    let dest = tempfile::tempdir().unwrap();
    make_ok(dest.path(), &["install-only", "INSTALL_CONF=no"]);
    let top: Vec<_> = std::fs::read_dir(dest.path().join("usr"))
        .unwrap()
        .flatten()
        .map(|e| e.file_name())
        .collect();
    assert_eq!(top, ["pkg_bulk"], "everything goes under /usr/pkg_bulk");
    let prefix = dest.path().join("usr/pkg_bulk");
    let mut installed = BTreeSet::new();
    files(&prefix, &prefix, &mut installed);
    assert_same(&installed, &plist(), "make install-only INSTALL_CONF=no");

    // Stripped by default; the formatted pages are mandoc's.
    for f in installed
        .iter()
        .filter(|f| !f.starts_with("man/") && !f.starts_with("share/"))
    {
        assert!(is_stripped(&prefix.join(f)), "{f} is not stripped");
    }
    for f in installed.iter().filter(|f| f.starts_with("man/cat")) {
        let text = std::fs::read(prefix.join(f)).unwrap();
        assert!(!text.is_empty() && !text.starts_with(b".\\\"") && !text.starts_with(b".Dd"));
    }

    // A plain `make install`: the same plus the live configuration.
    let dest = tempfile::tempdir().unwrap();
    make_ok(dest.path(), &["install-only"]);
    let mut installed = BTreeSet::new();
    files(&prefix_of(&dest), &prefix_of(&dest), &mut installed);
    let mut want = plist();
    want.insert("etc/pbulk.conf".into());
    assert_same(&installed, &want, "make install-only (plus etc/pbulk.conf)");

    // INSTALL_STRIP= keeps the debug information of the build, CATPAGES=no
    // leaves out the formatted pages (pkgsrc without catinstall).
    let dest = tempfile::tempdir().unwrap();
    make_ok(
        dest.path(),
        &["install-only", "INSTALL_STRIP=", "CATPAGES=no"],
    );
    let p = prefix_of(&dest);
    assert!(!is_stripped(&p.join("bin/bulkbuild")));
    assert!(!p.join("man/cat1").exists());
    assert!(p.join("man/man1/pbulk-scan.1").exists());
}

fn prefix_of(dest: &tempfile::TempDir) -> PathBuf {
    dest.path().join("usr/pkg_bulk")
}

#[test]
fn install_only_refuses_programs_built_for_other_paths() {
    if !tools_present() {
        return;
    }
    let stamp = common::bin("bulkbuild")
        .parent()
        .unwrap()
        .join("pbulk-paths");
    assert_eq!(
        std::fs::read_to_string(&stamp).unwrap(),
        "PREFIX=/usr/pkg_bulk\nPKG_SYSCONFDIR=/usr/pkg_bulk/etc\n",
        "{}",
        stamp.display()
    );
    for args in [
        ["install-only", "PREFIX=/usr/pbulk"],
        ["install-only", "PKG_SYSCONFDIR=/etc/pbulk"],
    ] {
        let dest = tempfile::tempdir().unwrap();
        let out = make(dest.path(), &args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} installed");
        assert!(
            err.contains("were built for PREFIX=/usr/pkg_bulk PKG_SYSCONFDIR=/usr/pkg_bulk/etc")
                && err.contains("run make install"),
            "{args:?}: {err}"
        );
        assert_eq!(std::fs::read_dir(dest.path()).unwrap().count(), 0);
    }

    // The programs read the configuration where the stamp says.
    let conf = "/usr/pkg_bulk/etc/pbulk.conf";
    if Path::new(conf).exists() {
        eprintln!("{conf} exists on this host: compiled-in path not checked");
        return;
    }
    let out = Command::new(common::bin("bulkbuild-rebuild"))
        .env_remove("PBULK_CONF")
        .arg("pkgtools/pbulk")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains(&format!("cannot read configuration {conf}")),
        "{err}"
    );
}

/// `name-version` and checksum of the crates.io packages of Cargo.lock.
fn lock_crates() -> Vec<(String, String)> {
    let text = std::fs::read_to_string(common::root().join("Cargo.lock")).unwrap();
    let mut v = Vec::new();
    for block in text.split("[[package]]").skip(1) {
        let field = |k: &str| {
            block
                .lines()
                .find_map(|l| l.strip_prefix(&format!("{k} = \"")))
                .map(|s| s.trim_end_matches('"').to_string())
        };
        if field("source").is_some_and(|s| s.starts_with("registry+")) {
            let crate_ = format!("{}-{}", field("name").unwrap(), field("version").unwrap());
            v.push((crate_, field("checksum").unwrap()));
        }
    }
    assert!(!v.is_empty());
    v
}

fn run_stdin(cmd: &str, args: &[&str], file: &Path) -> Option<String> {
    let out = Command::new(cmd)
        .args(args)
        .stdin(std::fs::File::open(file).ok()?)
        .output()
        .ok()?;
    out.status
        .success()
        .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
}

#[test]
fn crate_lists_match_cargo_lock() {
    let dir = common::root().join(PKG);
    let crates = lock_crates();

    let mk = std::fs::read_to_string(dir.join("cargo-depends.mk")).unwrap();
    assert!(mk.starts_with("# $NetBSD$\n\n"));
    let listed: Vec<&str> = mk
        .lines()
        .filter_map(|l| l.strip_prefix("CARGO_CRATE_DEPENDS+=\t"))
        .collect();
    let want: Vec<&str> = crates.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(
        listed, want,
        "cargo-depends.mk is not Cargo.lock's: make pkgsrc-cargo-depends"
    );

    // distinfo: BLAKE2s, SHA512 and Size of each crate, by file name.
    let distinfo = std::fs::read_to_string(dir.join("distinfo")).unwrap();
    assert!(distinfo.starts_with("$NetBSD$\n\n"));
    let mut entries = std::collections::BTreeMap::<String, Vec<(String, String)>>::new();
    let mut order = Vec::new();
    for l in distinfo.lines().skip(2) {
        let (alg, rest) = l
            .split_once(" (")
            .unwrap_or_else(|| panic!("distinfo: {l}"));
        let (file, value) = rest
            .split_once(") = ")
            .unwrap_or_else(|| panic!("distinfo: {l}"));
        if order.last() != Some(&file.to_string()) {
            order.push(file.to_string());
        }
        entries
            .entry(file.into())
            .or_default()
            .push((alg.into(), value.into()));
    }
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(order, sorted, "distinfo lists the files by name");
    let crate_files: BTreeSet<String> = crates.iter().map(|(c, _)| format!("{c}.crate")).collect();
    let in_distinfo: BTreeSet<String> = entries
        .keys()
        .filter(|f| f.ends_with(".crate"))
        .cloned()
        .collect();
    assert_eq!(
        in_distinfo, crate_files,
        "distinfo's crates are not Cargo.lock's: make pkgsrc-cargo-depends"
    );
    for (file, sums) in &entries {
        let algs: Vec<&str> = sums.iter().map(|(a, _)| a.as_str()).collect();
        assert_eq!(algs, ["BLAKE2s", "SHA512", "Size"], "{file}");
        assert!(sums[0].1.len() == 64 && sums[0].1.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(sums[1].1.len() == 128 && sums[1].1.bytes().all(|b| b.is_ascii_hexdigit()));
        assert!(sums[2].1.ends_with(" bytes"), "{file}");
    }

    // Where cargo keeps a crate of Cargo.lock (its SHA-256), its size and
    // SHA512 must be distinfo's.
    let home = std::env::var_os("CARGO_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".cargo")));
    let caches: Vec<PathBuf> = home
        .and_then(|h| std::fs::read_dir(h.join("registry/cache")).ok())
        .map(|rd| rd.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    let mut checked = 0;
    for (c, sha256) in &crates {
        let file = format!("{c}.crate");
        let Some(path) = caches.iter().map(|d| d.join(&file)).find(|p| {
            run_stdin("sha256sum", &[], p).is_some_and(|s| s.starts_with(sha256.as_str()))
        }) else {
            continue;
        };
        let sums = &entries[&file];
        let size = std::fs::metadata(&path).unwrap().len();
        assert_eq!(sums[2].1, format!("{size} bytes"), "{file}");
        let sha512 = run_stdin("sha512sum", &[], &path).unwrap();
        assert_eq!(sha512.split(' ').next().unwrap(), sums[1].1, "{file}");
        checked += 1;
    }
    eprintln!(
        "{checked} of {} crates checked against cargo's cache",
        crates.len()
    );

    // The package's version is the workspace's.
    let cargo_toml = std::fs::read_to_string(common::root().join("Cargo.toml")).unwrap();
    let version = cargo_toml
        .lines()
        .find_map(|l| l.strip_prefix("version = \""))
        .unwrap()
        .trim_end_matches('"');
    let makefile = std::fs::read_to_string(dir.join("Makefile")).unwrap();
    assert!(
        makefile.contains(&format!("DISTNAME=\tpbulk-rs-{version}\n")),
        "{PKG}/Makefile: DISTNAME is not pbulk-rs-{version}"
    );
}

/// The package the real pkg_create makes of the installed files keeps the
/// programs one file under every name, and the real pkg_add installs them
/// so: a hard link in the archive for each name after the first.
#[test]
fn the_real_pkg_install_keeps_the_programs_one_file() {
    use std::os::unix::fs::MetadataExt;
    if !tools_present() {
        return;
    }
    let Some(b) = realpkgsrc::bootstrap(Use::Tools, "the real pkg_install keeps the links") else {
        return;
    };
    let dest = tempfile::tempdir().unwrap();
    make_ok(dest.path(), &["install-only", "INSTALL_CONF=no"]);
    let work = tempfile::tempdir().unwrap();
    let meta = |f: &str, text: &str| {
        let p = work.path().join(f);
        std::fs::write(&p, text).unwrap();
        p
    };
    let uname = |o: &str| {
        let out = Command::new("uname").arg(o).output().unwrap();
        String::from_utf8(out.stdout)
            .unwrap()
            .trim_end()
            .to_string()
    };
    let info = format!(
        "MACHINE_ARCH={}\nOPSYS={}\nOS_VERSION={}\nPKGPATH={PKG}\n",
        uname("-m"),
        uname("-s"),
        uname("-r")
    );
    let pkg = work.path().join("pbulk-rs-0.1.0.tgz");
    let out = Command::new(b.tool("pkg_create"))
        .arg("-c")
        .arg(meta("comment", "pbulk-rs for a test\n"))
        .arg("-d")
        .arg(meta("descr", "pbulk-rs, packed by the real pkg_create\n"))
        .arg("-B")
        .arg(meta("build-info", &info))
        .arg("-f")
        .arg(common::root().join(PKG).join("PLIST"))
        .arg("-I")
        .arg("/usr/pkg_bulk")
        .arg("-p")
        .arg(dest.path().join("usr/pkg_bulk"))
        .arg(&pkg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pkg_create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let listing = Command::new("tar").arg("tvzf").arg(&pkg).output().unwrap();
    let listing = String::from_utf8_lossy(&listing.stdout);
    let links = listing.lines().filter(|l| l.starts_with('h')).count();
    assert_eq!(links, 22, "{listing}");

    let root = work.path().join("root");
    let out = Command::new(b.tool("pkg_add"))
        .arg("-K")
        .arg(work.path().join("pkgdb"))
        .arg("-P")
        .arg(&root)
        .arg(&pkg)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "pkg_add: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let installed = root.join("usr/pkg_bulk");
    let first = std::fs::metadata(installed.join("bin/bulkbuild")).unwrap();
    assert_eq!(first.nlink(), 23);
    for p in plist()
        .iter()
        .filter(|p| p.starts_with("bin/") || p.starts_with("libexec/"))
    {
        let md = std::fs::metadata(installed.join(p)).unwrap();
        assert_eq!((md.dev(), md.ino()), (first.dev(), first.ino()), "{p}");
    }
    let out = Command::new(installed.join("libexec/pbulk/pkg-up-to-date"))
        .arg("--help")
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("usage: pkg-up-to-date"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
