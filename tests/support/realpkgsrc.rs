//! The real 2014 pkgsrc subset (`tests/data/pkgsrc-2014-subset.tar.zst`)
//! bootstrapped twice by `pkgsrc2014-bootstrap.sh` (a tools prefix with the
//! real bmake, pkg_install and digest; a build prefix with its bootstrap
//! kit), cached between test runs.
//!
//! The cache lives outside the clone, in
//! `${PBULK_TEST_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/pbulk-rs}/pkgsrc-2014-<key>`,
//! the key digesting the tarball, the recipe and the cache path itself: the
//! bootstrap compiles its prefix paths into the programs, so a prefix cannot
//! be built elsewhere and renamed into place. Instead it is built at its
//! final path under an exclusive lock and published by renaming a `ready`
//! stamp into it; a directory without the stamp is the leftover of an
//! interrupted bootstrap and is removed and built again.

use std::fs::{self, File};
use std::io::Write;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const RECIPE: &str = include_str!("pkgsrc2014-bootstrap.sh");

/// The subset of the 2014 tree, in the repository.
pub fn tarball() -> PathBuf {
    super::common::root().join("tests/data/pkgsrc-2014-subset.tar.zst")
}

/// A ready bootstrap. `Exclusive` holds the cache's lock until dropped: the
/// build prefix (emptied before every package) and the pbulk-rs installed in
/// the tools prefix are then this holder's alone.
pub struct Bootstrap {
    pub dir: PathBuf,
    _lock: Option<File>,
}

#[derive(PartialEq, Clone, Copy)]
pub enum Use {
    /// Only the tools prefix's pkg_install and digest programs, read only.
    Tools,
    /// The whole cache, for a bulk build.
    Exclusive,
}

impl Bootstrap {
    pub fn tools(&self) -> PathBuf {
        self.dir.join("tools")
    }
    pub fn build_prefix(&self) -> PathBuf {
        self.dir.join("build")
    }
    pub fn kit(&self) -> PathBuf {
        self.dir.join("bootstrapkit.tar.gz")
    }
    /// `pkg_add`, `pkg_info`, `pkg_admin`, `pkg_delete`, `pkg_create` (sbin)
    /// or `digest`, `bmake` (bin) of the tools prefix.
    pub fn tool(&self, name: &str) -> PathBuf {
        let sbin = self.tools().join("sbin").join(name);
        if sbin.exists() {
            sbin
        } else {
            self.tools().join("bin").join(name)
        }
    }
}

/// Why the bootstrap cannot be made here, if it cannot.
fn missing_prerequisite() -> Option<String> {
    if !nix::unistd::geteuid().is_root() {
        return Some("not running as root (the 2014 bootstrap wants to own its prefixes)".into());
    }
    if !Path::new("/bin/bash").exists() {
        return Some("/bin/bash is missing".into());
    }
    let have = |prog: &str| {
        Command::new("sh")
            .args(["-c", &format!("command -v {prog}")])
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    for prog in ["cc", "zstd"] {
        if !have(prog) {
            return Some(format!("no {prog} in PATH"));
        }
    }
    None
}

/// The bootstrap, made first if needed; `None` (after one line on stderr)
/// where it cannot be made and CI is not set.
pub fn bootstrap(what: Use, test: &str) -> Option<Bootstrap> {
    if let Some(why) = missing_prerequisite() {
        super::common::skip(test, &format!("cannot bootstrap the real pkgsrc: {why}"));
        return None;
    }
    let root = cache_root();
    fs::create_dir_all(&root).unwrap_or_else(|e| panic!("{}: {e}", root.display()));
    let key = key(&root);
    let dir = root.join(format!("pkgsrc-2014-{key}"));
    // Nothing a bulk build does touches the tools' pkg_install, and the
    // ready stamp is never removed: a reader of the tools needs no lock, and
    // does not wait for a bulk build holding it.
    if what == Use::Tools && dir.join("ready").exists() {
        return Some(Bootstrap { dir, _lock: None });
    }
    let lock_path = root.join(format!("pkgsrc-2014-{key}.lock"));
    let lock = File::create(&lock_path).unwrap_or_else(|e| panic!("{}: {e}", lock_path.display()));
    flock(&lock, libc::LOCK_EX);
    if !dir.join("ready").exists() {
        make(&dir, test);
    }
    match what {
        Use::Exclusive => Some(Bootstrap {
            dir,
            _lock: Some(lock),
        }),
        Use::Tools => Some(Bootstrap { dir, _lock: None }),
    }
}

fn cache_root() -> PathBuf {
    let env = |v: &str| std::env::var_os(v).filter(|s| !s.is_empty());
    if let Some(p) = env("PBULK_TEST_CACHE") {
        return PathBuf::from(p);
    }
    let base = env("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| PathBuf::from(h).join(".cache")))
        .expect("neither PBULK_TEST_CACHE, XDG_CACHE_HOME nor HOME is set");
    base.join("pbulk-rs")
}

fn sha256(data: &[u8]) -> String {
    let mut child = Command::new("sha256sum")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run sha256sum");
    child.stdin.take().unwrap().write_all(data).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "sha256sum failed");
    String::from_utf8_lossy(&out.stdout)[..64].to_string()
}

/// The tarball, the recipe and the place: everything the prefixes depend on.
fn key(root: &Path) -> String {
    let tar = fs::read(tarball()).unwrap_or_else(|e| panic!("{}: {e}", tarball().display()));
    let all = format!(
        "{}\n{}\n{}\n",
        sha256(&tar),
        sha256(RECIPE.as_bytes()),
        root.canonicalize().unwrap().display()
    );
    sha256(all.as_bytes())[..16].to_string()
}

fn flock(f: &File, how: libc::c_int) {
    loop {
        // SAFETY: flock on a descriptor owned by `f`; closing it unlocks.
        if unsafe { libc::flock(f.as_raw_fd(), how) } == 0 {
            return;
        }
        let e = std::io::Error::last_os_error();
        assert!(e.kind() == std::io::ErrorKind::Interrupted, "flock: {e}");
    }
}

/// Bootstrap into `dir` (under the lock) and publish it.
fn make(dir: &Path, test: &str) {
    if dir.exists() {
        fs::remove_dir_all(dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
    }
    fs::create_dir_all(dir).unwrap();
    let scratch = tempfile::Builder::new()
        .prefix("pbulk-realpkgsrc-")
        .tempdir()
        .unwrap();
    let recipe = scratch.path().join("bootstrap.sh");
    fs::write(&recipe, RECIPE).unwrap();
    eprintln!(
        "{test}: bootstrapping the 2014 pkgsrc into {} (minutes; cached for later runs)",
        dir.display()
    );
    let start = std::time::Instant::now();
    let status = Command::new("/bin/bash")
        .arg(&recipe)
        .arg(tarball())
        .arg(dir)
        .arg(scratch.path().join("s"))
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("HOME", scratch.path())
        .status()
        .expect("run the bootstrap recipe");
    assert!(status.success(), "{test}: the bootstrap failed (see above)");
    eprintln!("{test}: bootstrap took {:.0?}", start.elapsed());
    let stamp = dir.join("ready.tmp");
    fs::write(&stamp, format!("{:?}\n", start.elapsed())).unwrap();
    File::open(&stamp).unwrap().sync_all().unwrap();
    fs::rename(&stamp, dir.join("ready")).unwrap();
}
