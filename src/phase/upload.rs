//! The upload phase: rsync of the binary packages that may be distributed,
//! the package summaries and the checksum file.

use std::ffi::OsString;

use super::report::{say, Input, Tool};
use crate::cli::{self, Error, Result};
use crate::config::Config;

/// The rsync filter: checksums (unless switched off), the summaries, the
/// packages compute-packages names, `- *`; sorted in byte order as
/// `LC_ALL=C sort` does.
pub fn upload_filter(checksums: bool, packages: &[u8]) -> Vec<u8> {
    let mut lines: Vec<&[u8]> = Vec::new();
    if checksums {
        lines.push(b"+ SHA512.bz2");
    }
    lines.push(b"+ All/pkg_summary.bz2");
    lines.push(b"+ All/pkg_summary.gz");
    let body = packages.strip_suffix(b"\n").unwrap_or(packages);
    if !packages.is_empty() {
        lines.extend(body.split(|&b| b == b'\n'));
    }
    lines.push(b"- *");
    lines.sort_unstable();
    let mut out = Vec::new();
    for l in lines {
        out.extend_from_slice(l);
        out.push(b'\n');
    }
    out
}

/// The phase, with a loaded configuration.
pub fn run(cfg: &Config) -> Result<i32> {
    say("Uploading packages...");
    let pkgdir = std::path::PathBuf::from(cfg.value("packages"));
    std::env::set_current_dir(&pkgdir)
        .map_err(|e| Error::err(format_args!("cannot change to {}", pkgdir.display()), &e))?;
    let (prog, pargs) = crate::config::command_words(cfg.value("packages_script"))
        .ok_or_else(|| Error::errx("packages_script is not set"))?;
    let mut cmd = std::process::Command::new(&prog);
    cmd.args(pargs).arg(cfg.loc());
    crate::config::child_env(&mut cmd, cfg);
    let out = cmd
        .output()
        .map_err(|e| Error::err(format_args!("cannot run {prog}"), &e))?;
    // Only the last command of the original pipeline decides the status,
    // but what the script says on stderr is passed on.
    use std::io::Write;
    let _ = std::io::stderr().write_all(&out.stderr);
    let filter = upload_filter(cfg.checksum_packages(), &out.stdout);
    let mut args: Vec<OsString> = vec!["--exclude-from=-".into()];
    args.extend(cfg.words("pkg_rsync_args").into_iter().map(OsString::from));
    args.push(".".into());
    args.push(cfg.value("pkg_rsync_target").into());
    Tool::from_config(cfg, "rsync").run(cfg, &args, None, Input::Bytes(filter), None)?;
    Ok(0)
}

/// `upload`: the upload phase program.
pub fn main(args: Vec<OsString>) -> Result<i32> {
    cli::operands(
        args,
        "upload: rsync the distributable packages, summaries and checksums to \
         pkg_rsync_target.",
        "usage: upload\n",
    )?;
    let cfg = Config::load_checked()?;
    let _lock = super::group::start_phase(&cfg, "upload", false)?;
    run(&cfg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filter_is_byte_sorted_and_ends_with_exclude_all() {
        let f = upload_filter(true, b"+ devel/\n+ devel/a-1.tgz\n+ All/\n+ All/a-1.tgz\n");
        assert_eq!(
            String::from_utf8(f).unwrap(),
            "+ All/\n+ All/a-1.tgz\n+ All/pkg_summary.bz2\n+ All/pkg_summary.gz\n+ SHA512.bz2\n\
+ devel/\n+ devel/a-1.tgz\n- *\n"
        );
        let f = upload_filter(false, b"");
        assert_eq!(
            String::from_utf8(f).unwrap(),
            "+ All/pkg_summary.bz2\n+ All/pkg_summary.gz\n- *\n"
        );
    }
}
