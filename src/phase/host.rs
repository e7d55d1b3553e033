//! A client host of the masters and the chroot dialect, as one word of
//! `scan_clients`/`build_clients` names it: `/abs/path` (a chroot on this
//! host), `host:port` (ssh with `-p`) or `host`; and how a command line is
//! run there. Below both the start scripts ([`super::client`]) and the
//! chroots they run in ([`super::chroot`]), which each need it.

use std::path::PathBuf;
use std::process::Command;

use crate::config::{split_words, Config};
use crate::paths;

/// Where one client runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Client {
    /// A chroot directory on this host.
    Chroot(PathBuf),
    /// A host reached by ssh, with the port when the word gave one.
    Remote { host: String, port: Option<String> },
}

impl Client {
    /// Parse one client word: the port is the text after the last colon,
    /// the host the text before the first one (so IPv6 literals do not work,
    /// as in the original).
    pub fn parse(word: &str) -> Client {
        if word.starts_with('/') {
            return Client::Chroot(PathBuf::from(word));
        }
        match (word.split_once(':'), word.rsplit_once(':')) {
            (Some((host, _)), Some((_, port))) => Client::Remote {
                host: host.to_string(),
                port: Some(port.to_string()),
            },
            _ => Client::Remote {
                host: word.to_string(),
                port: None,
            },
        }
    }

    /// The command that runs `line` on the client: `ssh [-p PORT] HOST
    /// "line"` (the remote shell splits it) or `chroot PATH line...`
    /// (word-split here, as the unquoted expansion is).
    pub fn command(&self, line: &str) -> Command {
        match self {
            Client::Chroot(_) => self.raw_command(line),
            Client::Remote { .. } => self.raw_command(&remote_line(line)),
        }
    }

    /// Like [`Client::command`] with `line` passed as it is: no
    /// `PBULK_CONF` put in front for the remote shell.
    pub fn raw_command(&self, line: &str) -> Command {
        match self {
            Client::Chroot(path) => {
                let mut c = Command::new("chroot");
                c.arg(path).args(split_words(line));
                c
            }
            Client::Remote { host, port } => {
                let mut c = Command::new("ssh");
                if let Some(p) = port {
                    c.arg("-p").arg(p);
                }
                c.arg(host).arg(line);
                c
            }
        }
    }

    /// The client as its word names it, for messages.
    pub fn name(&self) -> String {
        match self {
            Client::Chroot(path) => path.display().to_string(),
            Client::Remote { host, port: None } => host.clone(),
            Client::Remote {
                host,
                port: Some(p),
            } => format!("{host}:{p}"),
        }
    }
}

/// The clients of a variable, in order.
pub fn clients(cfg: &Config, var: &str) -> Vec<Client> {
    cfg.words(var).iter().map(|w| Client::parse(w)).collect()
}

/// A command line for a remote shell. When this run reads its config from
/// another file than the compiled-in one (a `PBULK_CONF` override), the
/// remote programs are told the same path; otherwise the line is exactly
/// the original's.
fn remote_line(line: &str) -> String {
    let used = paths::config_path();
    if used == paths::default_config_path() {
        return line.to_string();
    }
    let p = used.to_string_lossy();
    format!("{}={} {line}", paths::CONF_ENV, shell_words::quote(&p))
}
