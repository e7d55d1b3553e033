//! What every installed program shares at its edges: how failures are said
//! and which exit status they map to.
//!
//! The originals use two conventions: the C programs print
//! `<progname>: <message>` on stderr via err(3)/errx(3), the sh scripts print
//! plain lines on stdout (e.g. the config version check). [`Error`] carries
//! which of the two a failure needs, so the thin program crates only call
//! [`main`].

use std::ffi::OsString;
use std::fmt;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;

/// Where and how a failure message is printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Channel {
    /// `<progname>: <msg>` on stderr (err/errx style).
    Diag,
    /// The message as is on stderr (usage texts, multi-line reports).
    Stderr,
    /// The message as is on stdout (the scripts' own messages).
    Stdout,
}

/// The exit status of a build script or phase stopped by a failure of the
/// build host (no space, a read-only or missing directory, a missing tool)
/// rather than of the package: EX_TEMPFAIL, a plain failure to a builder
/// that does not know it.
pub const HOST_FAILURE: i32 = 75;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    pub code: i32,
    pub msg: String,
    pub channel: Channel,
}

pub type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// errx(3): `<progname>: msg`, exit 1.
    pub fn errx(msg: impl Into<String>) -> Self {
        Error {
            code: 1,
            msg: msg.into(),
            channel: Channel::Diag,
        }
    }

    /// err(3): `<progname>: msg: strerror(errno)`, exit 1.
    pub fn err(msg: impl fmt::Display, e: &io::Error) -> Self {
        Error::errx(format!("{msg}: {}", strerror(e)))
    }

    /// A text printed verbatim on stderr (usage), with the given status.
    pub fn stderr(code: i32, msg: impl Into<String>) -> Self {
        Error {
            code,
            msg: msg.into(),
            channel: Channel::Stderr,
        }
    }

    /// A text printed verbatim on stdout, with the given status.
    pub fn stdout(code: i32, msg: impl Into<String>) -> Self {
        Error {
            code,
            msg: msg.into(),
            channel: Channel::Stdout,
        }
    }

    /// The same error with another exit status.
    pub fn with_code(mut self, code: i32) -> Self {
        self.code = code;
        self
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.msg)
    }
}

impl std::error::Error for Error {}

/// The C library's text for an I/O error, without Rust's "(os error N)".
pub fn strerror(e: &io::Error) -> String {
    match e.raw_os_error() {
        Some(n) => nix::errno::Errno::from_raw(n).desc().to_string(),
        None => e.to_string(),
    }
}

/// Print a failure the way its channel says.
pub fn report(prog: &str, e: &Error) {
    let text = match e.channel {
        Channel::Diag => format!("{prog}: {}", e.msg),
        Channel::Stderr | Channel::Stdout => e.msg.clone(),
    };
    let nl = if text.ends_with('\n') || text.is_empty() {
        ""
    } else {
        "\n"
    };
    if e.channel == Channel::Stdout {
        let mut out = io::stdout().lock();
        let _ = write!(out, "{text}{nl}");
        let _ = out.flush();
    } else {
        let _ = write!(io::stderr().lock(), "{text}{nl}");
    }
}

/// Entry point of every thin program crate: run `body` with the arguments
/// after argv[0], print a failure, and exit with the resulting status.
pub fn main(prog: &str, body: fn(Vec<OsString>) -> Result<i32>) -> ! {
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    let code = match body(args) {
        Ok(code) => code,
        Err(e) => {
            report(prog, &e);
            e.code
        }
    };
    let _ = io::stdout().flush();
    std::process::exit(code)
}

/// Whether the arguments ask for help: `-h` or `--help` first. No
/// original has either option (their getopt rejects both with the usage);
/// ours answer with [`help`], which changes no reference command line.
pub fn wants_help(args: &[OsString]) -> bool {
    args.first().is_some_and(|a| a == "-h" || a == "--help")
}

/// The answer to an unknown option or a wrong command line: the usage text
/// on stderr, status 1, and nothing done.
pub fn usage(text: &str) -> Error {
    Error::stderr(1, text)
}

/// The answer to `-h` and `--help`: what the program does, then its usage,
/// on stderr with status 1 like any other usage error, so that a script
/// calling a program wrongly never mistakes the answer for a run.
pub fn help(about: &str, usage: &str) -> Error {
    let sep = if about.ends_with('\n') { "" } else { "\n" };
    Error::stderr(1, format!("{about}{sep}{usage}"))
}

/// The operands of a program that replaces one of the original shell
/// scripts. Those ignore their arguments (or take only package names), so
/// operands keep meaning what they meant; only arguments that look like
/// options, which no reference command line passes, are refused: `-h` and
/// `--help` with [`help`], any other with [`usage`]. `--` ends the options.
pub fn operands(args: Vec<OsString>, about: &str, usage_text: &str) -> Result<Vec<OsString>> {
    if wants_help(&args) {
        return Err(help(about, usage_text));
    }
    let mut args = args.into_iter();
    let mut ops = Vec::new();
    while let Some(a) = args.next() {
        if a == "--" {
            ops.extend(args);
            break;
        }
        if a.as_bytes().len() > 1 && a.as_bytes()[0] == b'-' {
            return Err(usage(usage_text));
        }
        ops.push(a);
    }
    Ok(ops)
}
