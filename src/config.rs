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
    "scan_chroots",
    // pbulk-rs extensions
    "build_procs",
    "history_file",
    "sandbox_dir",
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
        let out = Command::new("/bin/sh")
            .arg("-c")
            .arg(dump_script())
            .arg("sh")
            .arg(path)
            .arg(dump.path())
            .stdin(Stdio::null())
            // Whatever the config itself prints on stdout goes where the
            // original's `. pbulk.conf` would send it.
            .stdout(Stdio::inherit())
            .stderr(Stdio::piped())
            .output()
            .map_err(|e| Error::err("cannot run /bin/sh to read the configuration", &e))?;
        if !out.status.success() {
            return Err(Error::errx(format!(
                "cannot source configuration {}",
                describe_sh_failure(path, &out.stderr, out.status)
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
        // The dump ends with a marker: without it the file ran `exit` (or
        // `exec`) before the end, and the values seen so far are not what a
        // script sourcing it would go on with.
        match raw.strip_suffix(DUMP_END) {
            Some(body) => raw.truncate(body.len()),
            None => {
                return Err(Error::errx(format!(
                    "cannot source configuration {shown}: it exits before its end"
                )))
            }
        }
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

    /// `sync_package`, `default_sync_package` (pkg-build's own function)
    /// when the file leaves it unset.
    pub fn sync_package(&self) -> &str {
        self.get("sync_package").unwrap_or("default_sync_package")
    }

    /// `sync_buildlog`, `:` (nothing) when the file leaves it unset.
    pub fn sync_buildlog(&self) -> &str {
        self.get("sync_buildlog").unwrap_or(":")
    }

    /// `strict_mode` matches `[yY][eE][sS]`.
    pub fn strict_mode(&self) -> bool {
        self.is_yes_ci("strict_mode")
    }

    /// `skip_age_check` matches `[yY][eE][sS]`.
    pub fn skip_age_check(&self) -> bool {
        self.is_yes_ci("skip_age_check")
    }

    /// `reuse_scan_results` is exactly `yes`.
    pub fn reuse_scan_results(&self) -> bool {
        self.is_exactly_yes("reuse_scan_results")
    }

    /// `keep_wrkdir` is exactly `yes`.
    pub fn keep_wrkdir(&self) -> bool {
        self.is_exactly_yes("keep_wrkdir")
    }

    /// `keep_prefix` is exactly `yes`.
    pub fn keep_prefix(&self) -> bool {
        self.is_exactly_yes("keep_prefix")
    }

    /// `cross_compile` is anything but `no` (unset included, as in sh).
    pub fn cross_compile(&self) -> bool {
        self.is_not_no("cross_compile")
    }

    /// `use_unprivileged_checksum` is anything but `no`.
    pub fn use_unprivileged_checksum(&self) -> bool {
        self.is_not_no("use_unprivileged_checksum")
    }

    /// The root the build prefix lives under: `${target_destdir}` when
    /// cross-compiling, empty (the real root) otherwise.
    pub fn dest_root(&self) -> &str {
        if self.cross_compile() {
            self.value("target_destdir")
        } else {
            ""
        }
    }

    /// `master_mode`, or the reference refusal for anything but yes/no.
    pub fn master_mode(&self) -> Result<MasterMode> {
        if self.is_yes_ci("master_mode") {
            Ok(MasterMode::Yes)
        } else if self.is_no_ci("master_mode") {
            Ok(MasterMode::No)
        } else {
            Err(Error::stdout(1, "master_mode must be either yes or no.\n"))
        }
    }

    /// A positive count (`scan_procs`, `build_procs`, `build_chroots`
    /// style); `None` when unset or empty, an error naming the variable when
    /// it is not a positive number.
    pub fn count(&self, name: &str) -> Result<Option<usize>> {
        let v = self.value(name).trim();
        if v.is_empty() {
            return Ok(None);
        }
        match v.parse::<usize>() {
            Ok(n) if n > 0 => Ok(Some(n)),
            _ => Err(Error::errx(format!(
                "{name}={v} in {} is not a positive number",
                self.path.display()
            ))),
        }
    }

    /// `chroot_dir` (Joyent dialect) when set and not empty: the stem of
    /// the per-run chroots, `${chroot_dir}-build[-N]` and `${chroot_dir}-scan`.
    pub fn chroot_dir(&self) -> Option<&str> {
        Some(self.value("chroot_dir").trim()).filter(|d| !d.is_empty())
    }

    /// `build_chroots` (Joyent dialect): how many build chroots per host,
    /// one when unset.
    pub fn build_chroots(&self) -> Result<usize> {
        Ok(self.count("build_chroots")?.unwrap_or(1))
    }

    /// `scan_procs` (Joyent dialect): scan clients per chroot, one when
    /// unset; older fork configs call it `scan_chroots`.
    pub fn scan_procs(&self) -> Result<usize> {
        let name = match self.value("scan_procs").trim() {
            "" if !self.value("scan_chroots").trim().is_empty() => "scan_chroots",
            _ => "scan_procs",
        };
        Ok(self.count(name)?.unwrap_or(1))
    }

    /// Where build durations are kept across runs: `history_file`, or
    /// `${bulklog}.history` beside the (wiped) log tree.
    pub fn history_file(&self) -> PathBuf {
        match self.get("history_file") {
            Some(h) if !h.is_empty() => PathBuf::from(h),
            _ => PathBuf::from(format!("{}.history", self.value("bulklog"))),
        }
    }

    /// Like [`Config::tool`] for a variable whose empty value is a valid
    /// way to skip a step (phase scripts, hooks): an unquoted empty
    /// expansion runs nothing and succeeds.
    pub fn optional_tool(&self, name: &str) -> Result<Option<Tool>> {
        if split_words(self.value(name)).is_empty() {
            return Ok(None);
        }
        self.tool(name).map(Some)
    }

    /// The program a variable names (`make`, `tar`, `gzip`, phase scripts),
    /// checked to exist before any work starts: one line naming the variable
    /// and the path when it does not.
    pub fn tool(&self, name: &str) -> Result<Tool> {
        let value = self.value(name);
        let Some((prog, args)) = command_words(value) else {
            return Err(Error::errx(format!(
                "{name} is not set in {}: no program to run",
                self.path.display()
            )));
        };
        let tool = Tool {
            var: name.to_string(),
            prog,
            args,
        };
        if !tool.is_noop() {
            if let Err(why) = find_program(&tool.prog) {
                return Err(Error::errx(format!(
                    "cannot run {name}={} (from {}): {why}",
                    tool.prog,
                    self.path.display()
                )));
            }
        }
        Ok(tool)
    }

    /// The config version check: two lines on stdout and status 1.
    pub fn check_version(&self) -> Result<()> {
        self.check_version_set()?;
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

    /// An empty file (or one that is no pbulk.conf at all) sets no
    /// `config_version`; the original's check then prints an empty version,
    /// which hides what is wrong, and `bulkbuild` would run nothing and
    /// exit 0. Every program refuses it with one line naming the file.
    pub fn check_version_set(&self) -> Result<()> {
        if self.get("config_version").is_some_and(|v| !v.is_empty()) {
            return Ok(());
        }
        Err(Error::errx(format!(
            "{} sets no config_version: it is empty or not a pbulk.conf \
             (this version of pbulk expects config_version={})",
            self.path.display(),
            paths::CONFIG_VERSION
        )))
    }
}

/// Last entry of the dump; see [`Config::load_from`].
const DUMP_END: &[u8] = b"\0__pbulk_rs_end__\0";

/// The sh program that sources the file (`$1`) and writes every set known
/// variable as `name=value` NUL-separated into `$2`.
fn dump_script() -> String {
    // The dump path is saved first: the config may `shift` or `set --`.
    // `command printf` is used in case the config defines a printf function.
    let mut script = String::from("__pbulk_rs_dump_to=$2\n. \"$1\"\n__pbulk_rs_dump() {\n");
    for name in KNOWN_VARS {
        script.push_str(&format!(
            "  if [ \"${{{name}+set}}\" = set ]; then command printf '%s=%s\\0' {name} \"${name}\"; fi\n"
        ));
    }
    script.push_str(
        "  command printf '\\0__pbulk_rs_end__\\0'\n}\n__pbulk_rs_dump > \"$__pbulk_rs_dump_to\"\n",
    );
    script
}

/// `FILE: line N: message` from what sh printed when sourcing failed. dash
/// says `sh: N: FILE: message`, bash `FILE: line N: message`; anything else
/// is passed on as its last line.
fn describe_sh_failure(path: &Path, stderr: &[u8], status: std::process::ExitStatus) -> String {
    let shown = path.display().to_string();
    let text = String::from_utf8_lossy(stderr);
    let Some(last) = text.lines().rev().map(str::trim).find(|l| !l.is_empty()) else {
        return format!("{shown}: sh exited with {status}");
    };
    let dash_prefix = format!(": {shown}: ");
    if let Some(rest) = last.strip_prefix("sh: ") {
        if let Some((line, msg)) = rest.split_once(&dash_prefix) {
            if !line.is_empty() && line.bytes().all(|b| b.is_ascii_digit()) {
                return format!("{shown}: line {line}: {msg}");
            }
        }
    }
    if let Some(rest) = last.strip_prefix(&format!("{shown}: line ")) {
        return format!("{shown}: line {rest}");
    }
    format!("{shown}: {last}")
}

/// `master_mode`: distributed (yes) or everything on this host (no).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MasterMode {
    Yes,
    No,
}

/// A command line taken from a config variable, as its unquoted expansion
/// gives it: program and arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Tool {
    /// The variable it came from (for messages).
    pub var: String,
    pub prog: String,
    pub args: Vec<String>,
}

impl Tool {
    /// `:` (and `true`) is how the config disables a step (`rsync=:`,
    /// `mail=:`, `client_prepare_chroot=:`).
    pub fn is_noop(&self) -> bool {
        self.prog == ":" || self.prog == "true"
    }

    /// A `Command` running it with its own arguments; the caller adds more.
    pub fn command(&self) -> Command {
        let mut c = Command::new(if self.prog == ":" { "true" } else { &self.prog });
        c.args(&self.args);
        c
    }

    /// The whole command line, space-joined (for ssh command strings and
    /// messages, which the original builds by plain expansion).
    pub fn line(&self) -> String {
        let mut s = self.prog.clone();
        for a in &self.args {
            s.push(' ');
            s.push_str(a);
        }
        s
    }
}

/// Whether `prog` can be run: a path with a slash must be an executable
/// file; a bare name is looked up in `PATH` as the shell would.
pub fn find_program(prog: &str) -> std::result::Result<PathBuf, String> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| -> std::result::Result<(), String> {
        let md = std::fs::metadata(p).map_err(|e| crate::cli::strerror(&e))?;
        if !md.is_file() {
            return Err("not a regular file".into());
        }
        if md.permissions().mode() & 0o111 == 0 {
            return Err("Permission denied".into());
        }
        Ok(())
    };
    if prog.contains('/') {
        let p = PathBuf::from(prog);
        return executable(&p).map(|()| p);
    }
    let path = std::env::var_os("PATH").unwrap_or_else(|| "/usr/bin:/bin".into());
    for dir in std::env::split_paths(&path) {
        let p = dir.join(prog);
        if executable(&p).is_ok() {
            return Ok(p);
        }
    }
    Err("not found in PATH".into())
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
