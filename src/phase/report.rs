//! The report phase: the report files, `report.bz2`, an optional SVG of the
//! broken-package graph, the mail with the text report and the upload of
//! the report directory with its failure logs.

use std::ffi::OsString;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::cli::{self, Error, Result};
use crate::config::{self, Config};
use crate::report::dot::edge_lines;

/// The phase logs of a failed package that are uploaded, in list order.
const LOGS: [&str; 10] = [
    "pre-clean.log",
    "depends.log",
    "checksum.log",
    "configure.log",
    "build.log",
    "install.log",
    "package.log",
    "clean.log",
    "deinstall.log",
    "work.log",
];

/// The report files uploaded from `meta/`. The timeline page is ours; the
/// reference generators never write it, so with them the list is the
/// original one.
const META_FILES: [&str; 7] = [
    "meta/report.bz2",
    "meta/report.txt",
    "meta/report.html",
    "meta/report.dot",
    "meta/report.svg",
    "meta/status",
    "meta/report-timeline.html",
];

/// Print one of the phase's progress lines (stdout, as the script does).
pub fn say(line: &str) {
    let mut o = std::io::stdout().lock();
    let _ = writeln!(o, "{line}");
    let _ = o.flush();
}

/// A command named by a config value (`${rsync}`, `${mail}`, a script),
/// word-split as sh expands it unquoted, plus `args`. `:` is the shell's
/// no-op, which configs use to switch publishing off.
pub struct Tool {
    words: Vec<String>,
}

impl Tool {
    pub fn from_config(cfg: &Config, var: &str) -> Tool {
        Tool {
            words: config::split_words(cfg.value(var)),
        }
    }

    fn is_noop(&self) -> bool {
        matches!(
            self.words.first().map(String::as_str),
            None | Some(":") | Some("true")
        )
    }

    /// Run with `args`, `stdin` fed from the given bytes or file, stdout to
    /// `stdout` if given. A non-zero exit becomes that status, as under
    /// `set -e`.
    pub fn run(
        &self,
        cfg: &Config,
        args: &[OsString],
        cwd: Option<&Path>,
        stdin: Input,
        stdout: Option<std::fs::File>,
    ) -> Result<()> {
        if self.is_noop() {
            return Ok(());
        }
        let mut cmd = Command::new(&self.words[0]);
        cmd.args(&self.words[1..]).args(args);
        config::child_env(&mut cmd, cfg);
        if let Some(d) = cwd {
            cmd.current_dir(d);
        }
        match &stdin {
            Input::Bytes(_) => cmd.stdin(Stdio::piped()),
            Input::File(p) => cmd.stdin(
                std::fs::File::open(p)
                    .map_err(|e| Error::err(format_args!("cannot open {}", p.display()), &e))?,
            ),
            Input::Inherit => cmd.stdin(Stdio::inherit()),
        };
        if let Some(f) = stdout {
            cmd.stdout(f);
        }
        let mut child = cmd.spawn().map_err(|e| {
            Error::err(format_args!("cannot run {}", self.words[0]), &e).with_code(127)
        })?;
        if let Input::Bytes(b) = stdin {
            if let Some(mut si) = child.stdin.take() {
                // A tool that does not read its list is not an error here.
                let _ = si.write_all(&b);
            }
        }
        let status = child
            .wait()
            .map_err(|e| Error::err(format_args!("cannot wait for {}", self.words[0]), &e))?;
        match status.code() {
            Some(0) => Ok(()),
            Some(n) => Err(Error::stdout(n, "")),
            None => Err(Error::errx(format!(
                "{} was killed by a signal",
                self.words[0]
            ))),
        }
    }
}

/// What a tool reads.
pub enum Input {
    Bytes(Vec<u8>),
    File(PathBuf),
    Inherit,
}

/// The three values of `meta/status` the phase needs (last occurrence wins).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct StartInfo {
    pub iso: String,
    pub dir: String,
    pub platform: String,
}

impl StartInfo {
    pub fn parse(text: &str) -> StartInfo {
        let mut s = StartInfo::default();
        for line in text.lines() {
            // `read` drops the blanks around a line.
            let line = line.trim_matches([' ', '\t']);
            if let Some(v) = line.strip_prefix("BUILD_START_ISO=") {
                s.iso = v.to_string();
            } else if let Some(v) = line.strip_prefix("BUILD_START_DIR=") {
                s.dir = v.to_string();
            } else if let Some(v) = line.strip_prefix("PLATFORM=") {
                s.platform = v.to_string();
            }
        }
        s
    }
}

/// The rsync filter for the report upload, relative to `${bulklog}`.
pub fn report_filter(bulklog: &Path, errors: &str) -> Vec<u8> {
    let is_file = |rel: &str| std::fs::metadata(bulklog.join(rel)).is_ok_and(|m| m.is_file());
    let pkgs: Vec<&str> = errors
        .lines()
        .filter(|p| crate::record::name_problem(p.as_bytes()).is_none())
        .collect();
    let mut out = String::from("+ meta/\n");
    for p in &pkgs {
        out.push_str(&format!("+ {p}/\n"));
    }
    let candidates = META_FILES.iter().map(|f| f.to_string()).chain(
        pkgs.iter()
            .flat_map(|p| LOGS.iter().map(move |l| format!("{p}/{l}"))),
    );
    for c in candidates {
        if is_file(&c) {
            out.push_str(&format!("+ {c}\n"));
        }
    }
    out.push_str("- *\n");
    out.into_bytes()
}

fn os(s: impl Into<OsString>) -> OsString {
    s.into()
}

/// The phase, with a loaded configuration.
pub fn run(cfg: &Config) -> Result<i32> {
    let loc = cfg.loc();
    let bulklog = cfg.bulklog();
    say("Build reports...");
    Tool::from_config(cfg, "report_script").run(cfg, &[os(&loc)], None, Input::Inherit, None)?;

    let bz = loc.join("report.bz2");
    // Replaced whole, with a plain file's mode, synced, as every meta file.
    let mut pending = crate::fsutil::PendingFile::create(&bz).map_err(|e| {
        Error::err(
            format_args!("cannot create a temporary file in {}", loc.display()),
            &e,
        )
    })?;
    let f = pending
        .file()
        .try_clone()
        .map_err(|e| Error::err("cannot reopen the temporary file", &e))?;
    Tool::from_config(cfg, "bzip2").run(
        cfg,
        &[os("-zc"), os(loc.join("report"))],
        None,
        Input::Inherit,
        Some(f),
    )?;
    pending
        .commit()
        .map_err(|e| Error::err(format_args!("cannot write {}", bz.display()), &e))?;

    let html = Tool::from_config(cfg, "report_html_script");
    html.run(cfg, &[os(&loc), os(&bulklog)], None, Input::Inherit, None)?;
    Tool::from_config(cfg, "report_txt_script").run(
        cfg,
        &[os(&loc)],
        None,
        Input::Inherit,
        None,
    )?;
    Tool::from_config(cfg, "report_graph_script").run(
        cfg,
        &[os(&loc)],
        None,
        Input::Inherit,
        None,
    )?;

    let dot = loc.join("report.dot");
    let svg = loc.join("report.svg");
    let neato = cfg.value("neato");
    let edges = std::fs::read(&dot).map(|d| edge_lines(&d)).unwrap_or(0);
    let limit: Option<usize> = cfg.value("report_graph_script_limit").trim().parse().ok();
    if is_executable(Path::new(neato)) && limit.is_some_and(|l| edges < l) {
        let args = [
            os("-Tsvg"),
            os("-Goverlap=ortho"),
            os("-Gsplines=true"),
            os("-o"),
            os(&svg),
            os(&dot),
        ];
        Tool {
            words: vec![neato.to_string()],
        }
        .run(cfg, &args, None, Input::Inherit, None)?;
    } else if let Err(e) = std::fs::remove_file(&svg) {
        if e.kind() != std::io::ErrorKind::NotFound {
            return Err(Error::err(
                format_args!("cannot remove {}", svg.display()),
                &e,
            ));
        }
    }

    let status = std::fs::read_to_string(loc.join("status")).unwrap_or_default();
    let start = StartInfo::parse(&status);
    if start.iso.is_empty() || start.dir.is_empty() {
        return Err(Error::stdout(1, "Could not find start time of build."));
    }

    say("Sending report mail...");
    let subject = format!(
        "{} {} {}",
        cfg.value("report_subject_prefix"),
        start.platform,
        start.iso
    );
    let mut mail_args = vec![os("-s"), os(subject)];
    mail_args.extend(cfg.words("report_recipients").into_iter().map(os));
    Tool::from_config(cfg, "mail").run(
        cfg,
        &mail_args,
        None,
        Input::File(loc.join("report.txt")),
        None,
    )?;

    say("Uploading report...");
    let errors = std::fs::read_to_string(loc.join("error")).unwrap_or_default();
    let filter = report_filter(&bulklog, &errors);
    let mut args = vec![os("--exclude-from=-")];
    args.extend(cfg.words("report_rsync_args").into_iter().map(os));
    args.push(os("."));
    args.push(os(format!(
        "{}/{}",
        cfg.value("report_rsync_target"),
        start.dir
    )));
    Tool::from_config(cfg, "rsync").run(cfg, &args, Some(&bulklog), Input::Bytes(filter), None)?;
    Ok(0)
}

/// `[ -x path ]`.
fn is_executable(p: &Path) -> bool {
    !p.as_os_str().is_empty() && nix::unistd::access(p, nix::unistd::AccessFlags::X_OK).is_ok()
}

/// `report`: the report phase program.
pub fn main(args: Vec<OsString>) -> Result<i32> {
    cli::operands(
        args,
        "report: build the report files, mail the text report and upload the reports and \
         failure logs.",
        "usage: report\n",
    )?;
    let cfg = Config::load_checked()?;
    let _lock = super::group::start_phase(&cfg, "report", false)?;
    run(&cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_last_occurrence_wins() {
        let s = StartInfo::parse(
            "PLATFORM=a\nBUILD_START_ISO=1\nBUILD_START_DIR=d1\nPLATFORM=b\nBUILD_START_ISO=2\n",
        );
        assert_eq!(
            s,
            StartInfo {
                iso: "2".into(),
                dir: "d1".into(),
                platform: "b".into()
            }
        );
        assert!(StartInfo::parse("PLATFORM=x\n").dir.is_empty());
    }
}
