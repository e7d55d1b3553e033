//! Fake pkgsrc trees for the scan tests: directories with the files the
//! stand-in make (`make.sh`) answers from, and helpers to run pbulk-scan on
//! them and to inspect what make was asked to do.
#![allow(dead_code)]

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, SystemTime};

pub const MAKE_SH: &str = include_str!("scan_fake_make.sh");

pub struct Tree {
    pub tmp: tempfile::TempDir,
    pub root: PathBuf,
    pub make: PathBuf,
    pub log: PathBuf,
}

/// A pbulk-index record as make would print it.
pub fn record(name: &str, deps: &str, scan_depends: &str) -> String {
    format!(
        "PKGNAME={name}\nALL_DEPENDS={deps}\nPKG_SKIP_REASON=\nPKG_FAIL_REASON=\nNO_BIN_ON_FTP=\nRESTRICTED=\n\
         CATEGORIES=misc\nMAINTAINER=pkgsrc-users@NetBSD.org\nUSE_DESTDIR=yes\nBOOTSTRAP_PKG=\n\
         USERGROUP_PHASE=\nSCAN_DEPENDS={scan_depends}\n"
    )
}

/// The same record as pbulk-scan writes it.
pub fn scanned(rec: &str, loc: &str) -> String {
    let nl = rec.find('\n').unwrap() + 1;
    format!("{}PKG_LOCATION={loc}\n{}", &rec[..nl], &rec[nl..])
}

pub fn write_exec(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap();
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).unwrap();
}

impl Tree {
    pub fn new() -> Tree {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("pkgsrc");
        std::fs::create_dir(&root).unwrap();
        let make = tmp.path().join("make");
        write_exec(&make, MAKE_SH);
        let log = tmp.path().join("make.log");
        Tree {
            tmp,
            root,
            make,
            log,
        }
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.tmp.path().join(rel)
    }

    /// Write `<tree>/<rel>/<name>`, creating the directory.
    pub fn file(&self, rel: &str, name: &str, text: &[u8]) {
        let dir = if rel.is_empty() {
            self.root.clone()
        } else {
            self.root.join(rel)
        };
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(name), text).unwrap();
    }

    pub fn subdirs(&self, rel: &str, words: &str) {
        self.file(rel, "SUBDIRS", words.as_bytes());
    }

    pub fn package(&self, loc: &str, index: &str) {
        self.file(loc, "index", index.as_bytes());
    }

    /// Run pbulk-scan with the fake make and the given arguments (before
    /// the tree and output, which callers add).
    pub fn cmd(&self, args: &[&str]) -> Command {
        let mut c = Command::new(super::common::bin("pbulk-scan"));
        c.arg("-M")
            .arg(&self.make)
            .args(args)
            .env("FAKE_MAKE_LOG", &self.log);
        c.stdin(Stdio::null());
        c
    }

    /// A full scan into `out` (relative to the temp dir).
    pub fn scan(&self, args: &[&str], out: &str) -> Output {
        self.cmd(args)
            .arg(&self.root)
            .arg(self.path(out))
            .output()
            .unwrap()
    }

    /// The targets make was run for, as `<target> <location>` lines, in
    /// call order; the log is emptied.
    pub fn calls(&self) -> Vec<String> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let _ = std::fs::remove_file(&self.log);
        let top = self.root.display().to_string();
        let under = format!("{top}/");
        text.lines()
            .map(|l| {
                let mut w = l.splitn(3, ' ');
                let (_pid, target, dir) = (w.next().unwrap(), w.next().unwrap(), w.next().unwrap());
                let rel = if dir == top {
                    "."
                } else {
                    dir.strip_prefix(&under).unwrap_or(dir)
                };
                format!("{target} {rel}")
            })
            .collect()
    }

    /// The pids make logged.
    pub fn pids(&self) -> Vec<i32> {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        text.lines()
            .map(|l| l.split(' ').next().unwrap().parse().unwrap())
            .collect()
    }

    /// Set the modification time of every file in the tree into the past,
    /// so an old scan written now is newer than all of them.
    pub fn age(&self) {
        let past =
            filetime::FileTime::from_system_time(SystemTime::now() - Duration::from_secs(3600));
        fn walk(dir: &Path, t: filetime::FileTime) {
            for e in std::fs::read_dir(dir).unwrap() {
                let p = e.unwrap().path();
                if p.is_dir() {
                    walk(&p, t);
                }
                filetime::set_file_mtime(&p, t).unwrap();
            }
        }
        walk(&self.root, past);
    }
}

/// Whether a process still runs (a zombie does not count).
pub fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => {
            let state = s
                .rsplit_once(") ")
                .map(|(_, r)| r.chars().next().unwrap_or('X'))
                .unwrap_or('X');
            state != 'Z' && state != 'X'
        }
        Err(_) => false,
    }
}

pub fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}
