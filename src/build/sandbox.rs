//! Private build slots (`pbulk-build -S dir -P path ...`).
//!
//! N builds of one host at once would share `${prefix}`, the package
//! database, the work directories and `/tmp`, and every pkg-build empties
//! the prefix before it starts. So each build script runs in a mount
//! namespace of its own (Linux), where a directory of its slot,
//! `<dir>/slot-K/<i>`, is bind-mounted over each private path: the paths
//! the build sees are exactly the configured ones (binary packages are
//! those of a serial build), only their contents belong to the slot.
//! Everything else (the pkgsrc tree, distfiles, the packages, the log
//! tree) is shared.
//!
//! Mount propagation of the new namespace is made slave, recursively,
//! before anything is mounted, so nothing mounted there reaches the host;
//! the namespace dies with its last process, so a killed build, slot or
//! run leaves nothing mounted. The namespace is entered between fork and
//! exec of the script, with nothing but system calls on data prepared
//! before the fork (the parent has threads: no allocation there). The
//! private path holding the slot directories (the default place is inside
//! `WRKOBJDIR`) is mounted last, so it hides none of them before use.

use std::ffi::CString;
use std::io;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;

use crate::cli::{Error, Result};

/// Where the slots live and which paths each slot has a private copy of.
pub struct Sandbox {
    dir: PathBuf,
    private: Vec<PathBuf>,
}

/// One slot, ready to be entered by a child about to exec.
pub struct Slot {
    /// `(source, target)` of every bind mount, in mount order.
    mounts: Vec<(CString, CString)>,
}

impl Sandbox {
    /// Private paths must be absolute; a path inside another one is
    /// private already and gets no mount of its own.
    pub fn new(dir: PathBuf, private: &[PathBuf]) -> Result<Sandbox> {
        let mut paths: Vec<PathBuf> = Vec::new();
        for p in private {
            if !p.is_absolute() {
                return Err(Error::errx(format!(
                    "private path {} is not absolute",
                    p.display()
                )));
            }
            let p: PathBuf = p.components().filter(|c| *c != Component::CurDir).collect();
            if p.components().any(|c| c == Component::ParentDir) || p == Path::new("/") {
                return Err(Error::errx(format!(
                    "private path {} is / or contains ..",
                    p.display()
                )));
            }
            paths.push(p);
        }
        paths.sort();
        paths.dedup();
        let outer: Vec<PathBuf> = paths
            .iter()
            .filter(|p| !paths.iter().any(|q| q != *p && p.starts_with(q)))
            .cloned()
            .collect();
        Ok(Sandbox {
            dir,
            private: outer,
        })
    }

    /// The paths that get a mount of their own.
    pub fn private(&self) -> &[PathBuf] {
        &self.private
    }

    /// Make `slots` fresh slot directories (what a killed run left is
    /// removed first) and the mount points that do not exist yet.
    pub fn prepare(&self, slots: usize) -> Result<Vec<Arc<Slot>>> {
        let fail = |what: &Path, e: io::Error| {
            Error::err(
                format_args!("cannot prepare build slot directory {}", what.display()),
                &e,
            )
        };
        self.remove();
        for target in &self.private {
            if !target.is_dir() {
                std::fs::create_dir_all(target).map_err(|e| fail(target, e))?;
            }
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| fail(&self.dir, e))?;
        let real = |p: &Path| std::fs::canonicalize(p).map_err(|e| fail(p, e));
        let home = real(&self.dir)?;
        let mut order: Vec<(usize, PathBuf)> = Vec::new();
        for (i, target) in self.private.iter().enumerate() {
            let t = real(target)?;
            if t.starts_with(&home) {
                return Err(Error::errx(format!(
                    "private path {} is inside the build slot directory {}",
                    target.display(),
                    self.dir.display()
                )));
            }
            order.push((i, t));
        }
        // The one holding the slot directories goes last.
        order.sort_by_key(|(_, t)| home.starts_with(t));
        let mut out = Vec::with_capacity(slots);
        for k in 1..=slots {
            let slot_dir = home.join(format!("slot-{k}"));
            std::fs::create_dir(&slot_dir).map_err(|e| fail(&slot_dir, e))?;
            let mut mounts = Vec::new();
            for (i, target) in &order {
                let src = slot_dir.join(i.to_string());
                like(target, &src).map_err(|e| fail(&src, e))?;
                mounts.push((
                    cstr(src.as_os_str().as_bytes()),
                    cstr(target.as_os_str().as_bytes()),
                ));
            }
            out.push(Arc::new(Slot { mounts }));
        }
        Ok(out)
    }

    /// Remove every slot directory (their prefixes can be large).
    pub fn remove(&self) {
        let Ok(rd) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in rd.flatten() {
            let name = e.file_name();
            if name.to_string_lossy().starts_with("slot-") {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
        let _ = std::fs::remove_dir(&self.dir);
    }
}

fn cstr(b: &[u8]) -> CString {
    // Paths from the command line hold no NUL byte.
    CString::new(b).unwrap_or_default()
}

/// Create `dir` with the mode and owner of `model`, so the build's users
/// find the permissions the real path has (`/tmp` is 1777).
fn like(model: &Path, dir: &Path) -> io::Result<()> {
    let md = std::fs::metadata(model)?;
    std::fs::DirBuilder::new().mode(0o700).create(dir)?;
    std::os::unix::fs::chown(dir, Some(md.uid()), Some(md.gid()))?;
    std::fs::set_permissions(dir, std::fs::Permissions::from_mode(md.mode() & 0o7777))
}

impl Slot {
    /// Enter the slot: a new mount namespace, slave propagation, the bind
    /// mounts. Called between fork and exec: system calls only.
    pub fn enter(&self) -> io::Result<()> {
        enter_namespace()?;
        for (src, dst) in &self.mounts {
            // SAFETY: two NUL-terminated strings made before the fork.
            let r = unsafe {
                libc::mount(
                    src.as_ptr(),
                    dst.as_ptr(),
                    std::ptr::null(),
                    libc::MS_BIND | libc::MS_REC,
                    std::ptr::null(),
                )
            };
            if r != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(())
    }
}

/// unshare(CLONE_NEWNS), then every mount of the copy made a slave: mounts
/// of the host still show inside, nothing from inside reaches the host.
fn enter_namespace() -> io::Result<()> {
    // SAFETY: plain system calls on a static string.
    unsafe {
        if libc::unshare(libc::CLONE_NEWNS) != 0 {
            return Err(io::Error::last_os_error());
        }
        if libc::mount(
            std::ptr::null(),
            c"/".as_ptr(),
            std::ptr::null(),
            libc::MS_REC | libc::MS_SLAVE,
            std::ptr::null(),
        ) != 0
        {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Whether this process may create a private mount namespace: a child
/// tries it and reports the error it met.
pub fn probe() -> io::Result<()> {
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", ":"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null());
    // SAFETY: only system calls between fork and exec.
    unsafe {
        std::os::unix::process::CommandExt::pre_exec(&mut cmd, enter_namespace);
    }
    cmd.status().map(|_| ())
}
