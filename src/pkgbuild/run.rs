//! Starting commands the way the original sh scripts do: argument vectors
//! built from word-split config values, `> log 2>&1` / `>> log 2>&1`
//! redirections, `VAR=value cmd` environment additions, and the shell's
//! exit statuses (127 for a missing program, 128+N for a signal).

use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStringExt;
use std::os::unix::process::ExitStatusExt;
use std::path::Path;
use std::process::{Command, ExitStatus, Stdio};

/// Where a command's output goes.
#[derive(Clone, Copy)]
pub enum Sink<'a> {
    /// Inherited from the calling program.
    Inherit,
    /// An open log file (or /dev/null).
    File(&'a File),
}

/// An argument vector under construction.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Argv(pub Vec<OsString>);

impl Argv {
    pub fn new() -> Self {
        Argv(Vec::new())
    }

    /// Append the words of an unquoted `${var}` expansion.
    pub fn words(mut self, value: impl AsRef<[u8]>) -> Self {
        self.0.extend(split_bytes(value.as_ref()));
        self
    }

    /// Append one argument as is (a quoted expansion or a literal).
    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Self {
        self.0.push(a.as_ref().to_os_string());
        self
    }

    /// Append several literal arguments.
    pub fn args<S: AsRef<OsStr>>(mut self, more: impl IntoIterator<Item = S>) -> Self {
        self.0
            .extend(more.into_iter().map(|a| a.as_ref().to_os_string()));
        self
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// Field splitting with the default IFS (globbing is not emulated).
pub fn split_bytes(v: &[u8]) -> Vec<OsString> {
    v.split(|b| matches!(b, b' ' | b'\t' | b'\n'))
        .filter(|w| !w.is_empty())
        .map(|w| OsString::from_vec(w.to_vec()))
        .collect()
}

/// Byte strings glued together as sh does with `${a}/${b}`.
pub fn cat(parts: &[&[u8]]) -> OsString {
    OsString::from_vec(parts.concat())
}

/// The status sh reports for a finished child.
pub fn sh_status(st: ExitStatus) -> i32 {
    match (st.code(), st.signal()) {
        (Some(c), _) => c,
        (None, Some(sig)) => 128 + sig,
        _ => 1,
    }
}

/// `> path` (truncate) or `>> path` (append).
pub fn open_log(path: &Path, append: bool) -> io::Result<File> {
    if append {
        std::fs::OpenOptions::new()
            .append(true)
            .create(true)
            .open(path)
    } else {
        File::create(path)
    }
}

/// `/dev/null` for `> /dev/null 2>&1`.
pub fn null() -> io::Result<File> {
    File::options().write(true).open("/dev/null")
}

fn stdio(s: Sink) -> io::Result<Stdio> {
    Ok(match s {
        Sink::Inherit => Stdio::inherit(),
        Sink::File(f) => Stdio::from(f.try_clone()?),
    })
}

/// The name this program was started as, for messages in sh's style.
pub fn progname() -> String {
    std::env::args_os()
        .next()
        .map(|a| {
            Path::new(&a)
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned()
        })
        .unwrap_or_default()
}

/// Say on `err` what sh says when it cannot start a program, and return
/// sh's status for it.
fn not_started(prog: &OsStr, e: &io::Error, err: Sink) -> i32 {
    let (code, why) = match e.kind() {
        io::ErrorKind::NotFound => (127, "not found".to_string()),
        _ => (126, crate::cli::strerror(e)),
    };
    let msg = format!("{}: {}: {why}\n", progname(), prog.to_string_lossy());
    let _ = match err {
        Sink::File(mut f) => f.write_all(msg.as_bytes()),
        Sink::Inherit => io::stderr().write_all(msg.as_bytes()),
    };
    code
}

/// Run `argv` with `env` added and stdout/stderr sent to the sinks; return
/// sh's status. An empty vector is an empty command: status 0.
pub fn run_io(argv: &Argv, env: &[(&str, &OsStr)], out: Sink, err: Sink) -> i32 {
    let Some((prog, args)) = argv.0.split_first() else {
        return 0;
    };
    let mut cmd = Command::new(prog);
    cmd.args(args);
    for (k, v) in env {
        cmd.env(k, v);
    }
    let st = stdio(out).and_then(|o| {
        cmd.stdout(o);
        cmd.stderr(stdio(err)?);
        cmd.status()
    });
    match st {
        Ok(st) => sh_status(st),
        Err(e) => not_started(prog, &e, err),
    }
}

/// `argv > sink 2>&1`.
pub fn run(argv: &Argv, env: &[(&str, &OsStr)], sink: Sink) -> i32 {
    run_io(argv, env, sink, sink)
}

/// The command's whole stdout (stderr to `err`) and its status.
pub fn capture(argv: &Argv, err: Sink) -> (Vec<u8>, i32) {
    let Some((prog, args)) = argv.0.split_first() else {
        return (Vec::new(), 0);
    };
    let mut cmd = Command::new(prog);
    cmd.args(args).stdin(Stdio::inherit());
    let out = stdio(err).and_then(|e| cmd.stderr(e).output());
    match out {
        Ok(o) => (o.stdout, sh_status(o.status)),
        Err(e) => (Vec::new(), not_started(prog, &e, err)),
    }
}

/// `$(argv)`: stdout without its trailing newlines, stderr inherited.
pub fn command_subst(argv: &Argv) -> (Vec<u8>, i32) {
    let (mut text, st) = capture(argv, Sink::Inherit);
    while text.last() == Some(&b'\n') {
        text.pop();
    }
    (text, st)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_split_like_unquoted_expansions() {
        let a = Argv::new().words(" make  -j2\t").arg("a b").words("");
        assert_eq!(a.0, vec!["make", "-j2", "a b"]);
    }

    #[test]
    fn missing_program_is_127_with_message_in_log() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("log");
        let log = open_log(&path, false).unwrap();
        let st = run(&Argv::new().arg("/nonexistent/prog"), &[], Sink::File(&log));
        assert_eq!(st, 127);
        let text = std::fs::read_to_string(&path).unwrap();
        assert_eq!(
            text,
            format!("{}: /nonexistent/prog: not found\n", progname())
        );
    }

    #[test]
    fn signals_map_to_128_plus_n_and_subst_strips_newlines() {
        let null = null().unwrap();
        let sh = Argv::new().arg("/bin/sh").arg("-c");
        let st = run(&sh.clone().arg("kill -9 $$"), &[], Sink::File(&null));
        assert_eq!(st, 137);
        let (out, st) = command_subst(&sh.arg("printf 'a\\n\\nb\\n\\n'; exit 3"));
        assert_eq!((out, st), (b"a\n\nb".to_vec(), 3));
    }
}
