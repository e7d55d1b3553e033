//! The keeper of the build scripts' process group.
//!
//! pbulk-build runs its local build scripts in a process group apart from
//! its own, so that a stop signal reaches everything the scripts started
//! and nothing else. That takes them out of pbulk-build's group, which a
//! `kill -9 -PGID` of the bulk build stops, as it stops the original's
//! scripts; a restart would then build beside orphans writing into the
//! same prefix. So the scripts' group is led by a keeper, pbulk-build
//! started again with [`LIFELINE_ENV`]: it waits on a pipe from the
//! pbulk-build that started it, and when the pipe ends without the word
//! that all is over (pbulk-build died, however), it kills the whole group.
//! One keeper serves a whole run, so a script costs no extra process.

use std::io::{self, Read, Write};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd, RawFd};
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};

use nix::unistd::Pid;

/// Environment variable telling pbulk-build to act as a keeper.
pub const LIFELINE_ENV: &str = "PBULK_BUILD_KEEPER";
/// The descriptor the keeper reads its lifeline on.
const LIFELINE_FD: RawFd = 3;
/// Written by pbulk-build when it ends normally: leave the group alone.
const ALL_DONE: u8 = b'q';

/// Whether this process was started as a keeper.
pub fn requested() -> bool {
    std::env::var_os(LIFELINE_ENV).is_some()
}

/// The keeper's life: wait for the word or the end of the lifeline.
pub fn keep() -> ! {
    // Stop signals are for the scripts; the keeper stays to clean up.
    // SAFETY: setting dispositions to SIG_IGN in a single-threaded process.
    unsafe {
        for sig in [libc::SIGINT, libc::SIGTERM, libc::SIGHUP] {
            libc::signal(sig, libc::SIG_IGN);
        }
    }
    // SAFETY: the descriptor was handed to this process for this use.
    let mut lifeline = unsafe { std::fs::File::from_raw_fd(LIFELINE_FD) };
    let mut buf = [0u8; 1];
    loop {
        match lifeline.read(&mut buf) {
            Ok(1) if buf[0] == ALL_DONE => std::process::exit(0),
            Ok(0) => break,
            Ok(_) => {}
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    // SAFETY: signalling this process's own group.
    unsafe {
        libc::killpg(libc::getpgrp(), libc::SIGKILL);
    }
    std::process::exit(1)
}

/// pbulk-build's side: the running keeper and the write end of its lifeline.
pub struct Keeper {
    child: Child,
    lifeline: Option<OwnedFd>,
}

impl Keeper {
    /// Start a keeper in a new process group; `None` where none can be
    /// started (the program file was replaced, say): each script then runs
    /// in a group of its own, unkept.
    pub fn start() -> Option<Keeper> {
        let exe = std::env::current_exe().ok()?;
        let (read, write) = nix::unistd::pipe2(nix::fcntl::OFlag::O_CLOEXEC).ok()?;
        let fd = read.as_raw_fd();
        let mut cmd = Command::new(exe);
        cmd.arg0("pbulk-build")
            .env(LIFELINE_ENV, "1")
            .stdin(Stdio::null())
            .process_group(0);
        // SAFETY: only dup2/fcntl, async-signal-safe, between fork and exec;
        // dup2 onto itself would leave close-on-exec set.
        unsafe {
            cmd.pre_exec(move || {
                let r = if fd == LIFELINE_FD {
                    libc::fcntl(fd, libc::F_SETFD, 0)
                } else {
                    libc::dup2(fd, LIFELINE_FD)
                };
                if r == -1 {
                    return Err(io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().ok()?;
        drop(read);
        Some(Keeper {
            child,
            lifeline: Some(write),
        })
    }

    /// The process group the scripts join.
    pub fn group(&self) -> Pid {
        Pid::from_raw(self.child.id() as i32)
    }
}

impl Drop for Keeper {
    /// The run is over, well or not: send the keeper away quietly. Only a
    /// pbulk-build that dies without this makes it kill the group.
    fn drop(&mut self) {
        if let Some(fd) = self.lifeline.take() {
            let mut f = std::fs::File::from(fd);
            let _ = f.write_all(&[ALL_DONE]);
        }
        let _ = self.child.wait();
    }
}
