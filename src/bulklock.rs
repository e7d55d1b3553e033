//! One writer per bulk log: the exclusive lock every program that changes
//! `${bulklog}` holds while it runs.
//!
//! The lock is a flock(2) on `${bulklog}/.pbulk.lock`. It lives inside the
//! bulk log (nothing outside it may be written) under a dot name, which
//! pre-build's `rm -rf ${bulklog}/*` leaves alone and the report upload's
//! filter excludes; pre-build moves the old tree aside around it (see
//! [`FILE`]). The kernel drops the lock when the last descriptor of its
//! open file description is closed, so a killed run frees it and a run
//! whose processes still live keeps it.
//!
//! A driver shares its lock with the phases it starts: the descriptor is
//! inherited, announced in [`ENV`] with the file's device and inode, and
//! the phase checks both with fstat before it takes it as its own. A flock
//! belongs to the open file description, so taking it again through the
//! inherited descriptor succeeds, while a stale or forged announcement
//! falls back to taking the lock the usual way (and is refused while the
//! driver holds it). Programs that take no lock (the original pbulk's) are
//! not hindered: they neither look at the file nor inherit the descriptor.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;

use crate::cli::{Error, Result};

/// The lock file's name inside `${bulklog}`.
pub const FILE: &str = ".pbulk.lock";
/// `<fd>:<dev>:<ino>` of a lock a child is to share.
pub const ENV: &str = "PBULK_BULKLOG_LOCK";

/// A held bulk-log lock; dropping it releases it (unless children share it).
#[derive(Debug)]
pub struct BulkLock {
    file: File,
}

impl BulkLock {
    /// Take the lock of `bulklog` for `program`, or adopt the one the
    /// driver announced. `create` makes a missing `bulklog` first (the
    /// drivers and pre-build, which make the tree anyway).
    pub fn acquire(bulklog: &Path, program: &str, create: bool) -> Result<BulkLock> {
        // Nothing is made or locked outside the bulk log: not `/`, and no
        // `..` that would make the directories above it.
        let dotdot = bulklog
            .components()
            .any(|c| c == std::path::Component::ParentDir);
        if bulklog.as_os_str().is_empty() || bulklog.parent().is_none() || dotdot {
            return Err(Error::errx(format!(
                "refusing to lock bulklog={:?}: not a bulk log directory",
                bulklog.display().to_string()
            )));
        }
        let path = bulklog.join(FILE);
        if let Some(file) = inherited().filter(|f| same_file(f, &path)) {
            if flock(&file, libc::LOCK_EX | libc::LOCK_NB).is_ok() {
                return Ok(BulkLock { file });
            }
        }
        if create {
            std::fs::create_dir_all(bulklog)
                .map_err(|e| Error::err(format_args!("cannot create {}", bulklog.display()), &e))?;
        }
        // A lock on a file that was renamed or removed meanwhile guards
        // nothing: try again on the file the path names now.
        for _ in 0..10 {
            let file = OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o644)
                .open(&path)
                .map_err(|e| Error::err(format_args!("cannot lock {}", path.display()), &e))?;
            if let Err(e) = flock(&file, libc::LOCK_EX | libc::LOCK_NB) {
                if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                    return Err(busy(bulklog, &holder(file)));
                }
                return Err(Error::err(
                    format_args!("cannot lock {}", path.display()),
                    &e,
                ));
            }
            if same_file(&file, &path) {
                let mut lock = BulkLock { file };
                lock.write_holder(program);
                return Ok(lock);
            }
        }
        Err(Error::errx(format!(
            "cannot lock {}: the file keeps being replaced",
            path.display()
        )))
    }

    /// Record who holds the lock, for the message of the run refused.
    fn write_holder(&mut self, program: &str) {
        let text = format!(
            "pid {} ({program}), started {}\n",
            std::process::id(),
            local_now()
        );
        let f = &mut self.file;
        let _ = f
            .set_len(0)
            .and_then(|()| f.rewind())
            .and_then(|()| f.write_all(text.as_bytes()));
    }

    /// Let the child `cmd` starts share this lock: the descriptor stays
    /// open across its exec and [`ENV`] names it.
    pub fn share_with(&self, cmd: &mut Command) {
        let fd = self.file.as_raw_fd();
        if let Ok(md) = self.file.metadata() {
            cmd.env(ENV, format!("{fd}:{}:{}", md.dev(), md.ino()));
        }
        // SAFETY: only fcntl, async-signal-safe, between fork and exec; it
        // changes the child's descriptor table, not ours.
        unsafe {
            cmd.pre_exec(move || {
                if libc::fcntl(fd, libc::F_SETFD, 0) == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
}

/// Keep the lock the parent shares for as long as this process runs,
/// without passing it on to the programs it starts (pbulk-build: its build
/// scripts, and whatever they leave running, must not hold the bulk log).
pub fn keep_inherited() -> Option<File> {
    inherited()
}

/// The descriptor [`ENV`] announces, if it is open on the file it names;
/// made close-on-exec, so only an explicit [`BulkLock::share_with`] passes
/// it on.
fn inherited() -> Option<File> {
    let v = std::env::var(ENV).ok()?;
    let mut it = v.split(':').map(str::parse::<u64>);
    let (Some(Ok(fd)), Some(Ok(dev)), Some(Ok(ino)), None) =
        (it.next(), it.next(), it.next(), it.next())
    else {
        return None;
    };
    let fd = RawFd::try_from(fd).ok().filter(|&fd| fd > 2)?;
    // SAFETY: fstat only reads; a closed descriptor gives an error.
    let mut st: libc::stat = unsafe { std::mem::zeroed() };
    if unsafe { libc::fstat(fd, &mut st) } != 0 || st.st_dev != dev || st.st_ino != ino {
        return None;
    }
    // SAFETY: the descriptor is open, was passed to this process for this
    // use, and nothing else in it owns it.
    let owned = unsafe { OwnedFd::from_raw_fd(fd) };
    unsafe { libc::fcntl(fd, libc::F_SETFD, libc::FD_CLOEXEC) };
    Some(File::from(owned))
}

fn same_file(f: &File, path: &Path) -> bool {
    match (f.metadata(), std::fs::metadata(path)) {
        (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
        _ => false,
    }
}

fn flock(f: &File, op: libc::c_int) -> io::Result<()> {
    // SAFETY: flock on a descriptor we own.
    if unsafe { libc::flock(f.as_raw_fd(), op) } == 0 {
        Ok(())
    } else {
        Err(io::Error::last_os_error())
    }
}

/// The holder line the lock file keeps.
fn holder(mut f: File) -> String {
    let mut text = String::new();
    let _ = f.read_to_string(&mut text);
    let line = text.lines().next().unwrap_or("").trim();
    if line.is_empty() {
        "another process".to_string()
    } else {
        line.to_string()
    }
}

fn busy(bulklog: &Path, holder: &str) -> Error {
    Error::errx(format!(
        "{} is in use by {holder}; not starting a second run on it",
        bulklog.display()
    ))
}

/// Whether another process holds a lock (flock) on `path`; for files that
/// pbulk-build locks itself (its success log), checked before a run
/// removes them.
pub fn check_unlocked(path: &Path, what: &Path) -> Result<()> {
    let Ok(f) = File::open(path) else {
        return Ok(());
    };
    match flock(&f, libc::LOCK_EX | libc::LOCK_NB) {
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Err(busy(
            what,
            &format!("a pbulk-build writing {}", path.display()),
        )),
        _ => Ok(()),
    }
}

/// Lock the success log of a pbulk-build not started by a phase sharing
/// its lock: two builders never append to one log.
pub fn lock_log(f: &File, path: &Path) -> Result<()> {
    match flock(f, libc::LOCK_EX | libc::LOCK_NB) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EWOULDBLOCK) => Err(Error::errx(format!(
            "{} is in use by another pbulk-build; not starting a second one on it",
            path.display()
        ))),
        Err(e) => Err(Error::err(
            format_args!("cannot lock {}", path.display()),
            &e,
        )),
    }
}

/// Now in local time, as the holder line shows it.
fn local_now() -> String {
    let t = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs() as libc::time_t)
        .unwrap_or(0);
    // SAFETY: localtime_r fills plain data from a valid time_t.
    let mut tm: libc::tm = unsafe { std::mem::zeroed() };
    if unsafe { libc::localtime_r(&t, &mut tm) }.is_null() {
        return t.to_string();
    }
    format!(
        "{:04}-{:02}-{:02} {:02}:{:02}:{:02}",
        tm.tm_year + 1900,
        tm.tm_mon + 1,
        tm.tm_mday,
        tm.tm_hour,
        tm.tm_min,
        tm.tm_sec
    )
}
