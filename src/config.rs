//! The `pbulk.conf` reader.
//!
//! The file is sh code that the original scripts source with `.`, so the only
//! way to see exactly the values sh sees (expansion, quoting, conditionals,
//! command substitution, unset versus empty) is to let `/bin/sh` source it and
//! report the variables back. The dump travels NUL-separated through a
//! temporary file so the config's own stdout/stderr output stays untouched.

use std::collections::HashMap;
use std::ffi::OsStr;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cli::{Error, Result};
use crate::paths;

/// Every variable any program reads: the reference file's, the ones the
/// scripts honour without the file setting them, the Joyent dialect's and
/// our own extensions.
pub const KNOWN_VARS: &[&str] = &[
    "config_version",
    "base_url",
    "reuse_scan_results",
    "master_mode",
    "master_ip",
    "scan_clients",
    "build_clients",
    "master_port_scan",
    "master_port_build",
    "pkg_rsync_args",
    "pkg_rsync_target",
    "report_rsync_args",
    "report_rsync_target",
    "report_subject_prefix",
    "report_recipients",
    "bootstrapkit",
    "limited_list",
    "strict_mode",
    "skip_age_check",
    "report_graph_script_limit",
    "unprivileged_user",
    "use_unprivileged_checksum",
    "cross_compile",
    "target_arch",
    "target_destdir",
    "bulklog",
    "packages",
    "prefix",
    "pkgsrc",
    "pkgdb",
    "varbase",
    "pkg_add",
    "pkg_admin",
    "pkg_delete",
    "pkg_info",
    "bzip2",
    "digest",
    "gzip",
    "make",
    "mail",
    "neato",
    "rsync",
    "sed",
    "tar",
    "loc",
    "pbuild",
    "presolve",
    "pscan",
    "keep_wrkdir",
    "keep_prefix",
    "client_prepare",
    "client_prepare_action",
    "client_prepare_chroot",
    "pkg_up_to_date_script",
    "pbuild_script",
    "pbuild_start_script",
    "pscan_start_script",
    "report_script",
    "report_html_script",
    "report_txt_script",
    "report_graph_script",
    "packages_script",
    "script_phase_pre_build",
    "script_phase_build",
    "script_phase_report",
    "script_phase_scan",
    "script_phase_upload",
    "sync_buildlog",
    "sync_package",
    "pkg_sufx",
    // honoured although the reference file does not set them
    "checksum_packages",
    "ignore_missing_dependencies",
    // Joyent/TritonDataCenter dialect
    "chroot_create",
    "chroot_delete",
    "chroot_dir",
    "build_chroots",
    "scan_procs",
    // pbulk-rs extensions
    "build_procs",
    "history_file",
];

/// The values `. pbulk.conf` leaves in a POSIX shell.
#[derive(Debug, Clone)]
pub struct Config {
    path: PathBuf,
    vars: HashMap<String, String>,
}

impl Config {
    /// Load the compiled-in configuration (or `$PBULK_CONF`).
    pub fn load() -> Result<Config> {
        Config::load_from(&paths::config_path())
    }

    /// Load and apply the version check every script but `bulkbuild` does.
    pub fn load_checked() -> Result<Config> {
        let cfg = Config::load()?;
        cfg.check_version()?;
        Ok(cfg)
    }

    /// Source `path` with /bin/sh and collect [`KNOWN_VARS`].
    pub fn load_from(path: &Path) -> Result<Config> {
        let shown = path.display();
        let md = std::fs::metadata(path)
            .map_err(|e| Error::err(format_args!("cannot read configuration {shown}"), &e))?;
        if !md.is_file() {
            return Err(Error::errx(format!(
                "cannot read configuration {shown}: not a regular file"
            )));
        }
        std::fs::File::open(path)
            .map_err(|e| Error::err(format_args!("cannot read configuration {shown}"), &e))?;

        let dump = tempfile::NamedTempFile::new()
            .map_err(|e| Error::err("cannot create a temporary file for the configuration", &e))?;
        let mut script = String::from(". \"$1\"\n__pbulk_rs_dump() {\n");
        for name in KNOWN_VARS {
            script.push_str(&format!(
                "  if [ \"${{{name}+set}}\" = set ]; then printf '%s=%s\\0' {name} \"${name}\"; fi\n"
            ));
        }
        script.push_str("}\n__pbulk_rs_dump > \"$2\"\n");
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(&script)
            .arg("sh")
            .arg(path)
            .arg(dump.path())
            .stdin(Stdio::null())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| Error::err("cannot run /bin/sh to read the configuration", &e))?;
        let errtext = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() {
            let last = errtext
                .lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("");
            let why = if last.is_empty() {
                format!("sh exited with {}", out.status)
            } else {
                last.trim().to_string()
            };
            return Err(Error::errx(format!(
                "cannot source configuration {shown}: {why}"
            )));
        }
        // What the config itself wrote to stderr is passed on as sh would.
        if !out.stderr.is_empty() {
            use std::io::Write;
            let _ = std::io::stderr().write_all(&out.stderr);
        }
        let mut raw = Vec::new();
        std::fs::File::open(dump.path())
            .and_then(|mut f| f.read_to_end(&mut raw))
            .map_err(|e| Error::err("cannot read back the configuration dump", &e))?;
        Ok(Config {
            path: path.to_path_buf(),
            vars: parse_dump(&raw),
        })
    }

    /// Build a configuration from explicit values (tests, derived configs).
    pub fn from_pairs<'a>(
        path: &Path,
        pairs: impl IntoIterator<Item = (&'a str, &'a str)>,
    ) -> Config {
        Config {
            path: path.to_path_buf(),
            vars: pairs
                .into_iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
        }
    }

    /// The file this configuration came from.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The value if the variable is set (possibly empty).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }

    /// The value as `${name}` expands in sh: empty when unset.
    pub fn value(&self, name: &str) -> &str {
        self.get(name).unwrap_or("")
    }

    /// `${name}` word-split the way an unquoted expansion is (IFS blanks).
    pub fn words(&self, name: &str) -> Vec<String> {
        split_words(self.value(name))
    }

    /// `case ${name} in [yY][eE][sS])`: case-insensitive yes.
    pub fn is_yes_ci(&self, name: &str) -> bool {
        self.value(name).eq_ignore_ascii_case("yes")
    }

    /// `case ${name} in [nN][oO])`: case-insensitive no.
    pub fn is_no_ci(&self, name: &str) -> bool {
        self.value(name).eq_ignore_ascii_case("no")
    }

    /// `[ "${name}" = yes ]`: exactly lowercase yes.
    pub fn is_exactly_yes(&self, name: &str) -> bool {
        self.value(name) == "yes"
    }

    /// `[ "${name}" != no ]`: anything but lowercase no, unset included.
    pub fn is_not_no(&self, name: &str) -> bool {
        self.value(name) != "no"
    }

    /// The meta directory (`${loc}`).
    pub fn loc(&self) -> PathBuf {
        PathBuf::from(self.value("loc"))
    }

    /// The log tree root (`${bulklog}`).
    pub fn bulklog(&self) -> PathBuf {
        PathBuf::from(self.value("bulklog"))
    }

    /// `${pkg_sufx}`, `.tgz` when the file leaves it unset.
    pub fn pkg_sufx(&self) -> &str {
        self.get("pkg_sufx").unwrap_or(".tgz")
    }

    /// SHA512.bz2 is made unless `checksum_packages` is exactly no or NO.
    pub fn checksum_packages(&self) -> bool {
        !matches!(self.value("checksum_packages"), "no" | "NO")
    }

    /// The config version check: two lines on stdout and status 1.
    pub fn check_version(&self) -> Result<()> {
        let v = self.value("config_version");
        if v == paths::CONFIG_VERSION {
            return Ok(());
        }
        Err(Error::stdout(
            1,
            format!(
                "Your configuration has version {v}.\nThis version of pbulk expects version {}.\n",
                paths::CONFIG_VERSION
            ),
        ))
    }
}

fn parse_dump(raw: &[u8]) -> HashMap<String, String> {
    raw.split(|&b| b == 0)
        .filter(|e| !e.is_empty())
        .filter_map(|e| {
            let eq = e.iter().position(|&b| b == b'=')?;
            let name = String::from_utf8_lossy(&e[..eq]).into_owned();
            let val = String::from_utf8_lossy(&e[eq + 1..]).into_owned();
            Some((name, val))
        })
        .collect()
}

/// Split like an unquoted sh expansion with the default IFS (no globbing).
pub fn split_words(s: &str) -> Vec<String> {
    s.split([' ', '\t', '\n'])
        .filter(|w| !w.is_empty())
        .map(str::to_string)
        .collect()
}

/// A command line from a config value that holds a command plus arguments
/// (`${make}`, `${gzip}`, phase scripts): program and its arguments.
pub fn command_words(s: &str) -> Option<(String, Vec<String>)> {
    let mut w = split_words(s);
    if w.is_empty() {
        return None;
    }
    let prog = w.remove(0);
    Some((prog, w))
}

/// Pass the config path on to a child, as the spec's `PBULK_CONF` rule asks.
pub fn child_env(cmd: &mut Command, cfg: &Config) {
    cmd.env(paths::CONF_ENV, OsStr::new(cfg.path()));
}
