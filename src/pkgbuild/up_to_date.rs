//! `pkg-up-to-date <pkgname> [<dependency>...]`: exit 0 only when the
//! binary package in `${packages}/All` may be reused (scripts.md §3.12):
//! every source file recorded in it is unchanged (RCS id or digest), every
//! dependency it was built against is among the arguments, and, unless
//! `skip_age_check` says yes, each of those dependency packages is older.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use super::run::{self, cat, Argv, Sink};
use super::shread::ShRead;
use crate::cli::{self, Result};
use crate::config::Config;

const USAGE: &str = "usage: pkg-up-to-date pkgname [dependency ...]\n";

pub fn main(args: Vec<OsString>) -> Result<i32> {
    let args = cli::operands(
        args,
        "pkg-up-to-date: exit 0 when the binary package of pkgname can be reused, given the \
         packages it now depends on.",
        USAGE,
    )?;
    if args.is_empty() {
        return Err(cli::usage(USAGE));
    }
    let cfg = Config::load_checked()?;
    Ok(match check(&cfg, &args) {
        Ok(()) => 0,
        Err(code) => code,
    })
}

/// `Ok` when reusable, else the status the original exits with.
pub fn check(cfg: &Config, args: &[OsString]) -> std::result::Result<(), i32> {
    let name = args.first().map(|a| a.as_bytes()).unwrap_or_default();
    if let Some(why) = crate::record::name_problem(name) {
        eprintln!(
            "pkg-up-to-date: package name `{}' {why}",
            crate::record::shown(name)
        );
        return Err(1);
    }
    let sufx = cfg.pkg_sufx().as_bytes();
    let all = cat(&[cfg.value("packages").as_bytes(), b"/All/"]);
    let pkg = cat(&[all.as_bytes(), name, sufx]);
    if !Path::new(&pkg).is_file() {
        return Err(1);
    }
    let pkg_info = || Argv::new().words(cfg.value("pkg_info"));

    // The recorded build information: "file:id" lines.
    let (info, _) = run::capture(&pkg_info().arg("-qb").words(pkg.as_bytes()), Sink::Inherit);
    let info = first_colon_to_blank(&info);
    let mut lines = ShRead::new(&info[..]);
    while let Some(fields) = lines.read(2).map_err(|_| 1)? {
        let (file, id) = (&fields[0], &fields[1]);
        if file.is_empty() {
            continue;
        }
        let path = cat(&[cfg.value("pkgsrc").as_bytes(), b"/", file]);
        if !Path::new(&path).exists() {
            return Err(1);
        }
        let current = if id.starts_with(b"$NetBSD") {
            rcs_id(Path::new(&path))?
        } else {
            let argv = Argv::new()
                .words(cfg.value("pkg_admin"))
                .arg("digest")
                .words(path.as_bytes());
            match run::command_subst(&argv) {
                (hash, 0) => hash,
                (_, st) => return Err(st),
            }
        };
        if &current != id {
            return Err(1);
        }
    }

    // Every dependency the package was built with must be asked for now.
    let wanted: Vec<OsString> = args
        .iter()
        .skip(1)
        .flat_map(|a| run::split_bytes(a.as_bytes()))
        .collect();
    let (deps, _) = run::capture(&pkg_info().arg("-qN").words(pkg.as_bytes()), Sink::Inherit);
    let mut lines = ShRead::new(&deps[..]);
    while let Some(mut f) = lines.read(1).map_err(|_| 1)? {
        let dep = f.remove(0);
        if dep.is_empty() {
            continue;
        }
        // The original compares unquoted: a name with blanks never matches.
        let blank = dep.iter().any(|b| matches!(b, b' ' | b'\t' | b'\n'));
        if blank || !wanted.iter().any(|w| w.as_bytes() == dep.as_slice()) {
            return Err(1);
        }
        if !cfg.is_yes_ci("skip_age_check") {
            let dep_pkg = cat(&[all.as_bytes(), &dep, sufx]);
            if !older(Path::new(&dep_pkg), Path::new(&pkg)) {
                return Err(1);
            }
        }
    }
    Ok(())
}

/// What `sed 's/:/ /'` does to every line.
fn first_colon_to_blank(text: &[u8]) -> Vec<u8> {
    let mut out = text.to_vec();
    let mut at_line_start = true;
    let mut done = false;
    for b in out.iter_mut() {
        if at_line_start {
            done = false;
        }
        at_line_start = *b == b'\n';
        if !done && *b == b':' {
            *b = b' ';
            done = true;
        }
    }
    out
}

/// The RCS id of a pkgsrc file as the original extracts it: the first line
/// containing `$NetBSD`, reduced to its (last) `$NetBSD...$` keyword, or
/// the whole line when it has none; empty when no line has the marker.
fn rcs_id(path: &Path) -> std::result::Result<Vec<u8>, i32> {
    let text = std::fs::read(path).map_err(|e| {
        eprintln!(
            "{}: cannot read {}: {}",
            run::progname(),
            path.display(),
            cli::strerror(&e)
        );
        2
    })?;
    let Some(line) = text
        .split(|&b| b == b'\n')
        .find(|l| find_all(l, b"$NetBSD").next().is_some())
    else {
        return Ok(Vec::new());
    };
    Ok(keyword_in(line).unwrap_or(line).to_vec())
}

/// The `$NetBSD[^$]*$` substring a greedy `^.*` prefix leaves: the
/// rightmost start that still has a closing `$` after it.
fn keyword_in(line: &[u8]) -> Option<&[u8]> {
    let starts: Vec<usize> = find_all(line, b"$NetBSD").collect();
    starts.into_iter().rev().find_map(|i| {
        let body = i + b"$NetBSD".len();
        let close = line[body..].iter().position(|&b| b == b'$')?;
        Some(&line[i..=body + close])
    })
}

fn find_all<'a>(hay: &'a [u8], needle: &'a [u8]) -> impl Iterator<Item = usize> + 'a {
    memchr::memmem::find_iter(hay, needle)
}

/// `[ a -ot b ]` as NetBSD's sh and dash evaluate it: both files must
/// exist and `a`'s modification time (with nanoseconds) must be earlier.
pub fn older(a: &Path, b: &Path) -> bool {
    let (Ok(ma), Ok(mb)) = (std::fs::metadata(a), std::fs::metadata(b)) else {
        return false;
    };
    let t = |m: &std::fs::Metadata| filetime::FileTime::from_last_modification_time(m);
    t(&ma) < t(&mb)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyword_extraction_follows_the_sed_expression() {
        assert_eq!(
            keyword_in(b"# $NetBSD: Makefile,v 1.2 2020/01/01 x Exp $"),
            Some(&b"$NetBSD: Makefile,v 1.2 2020/01/01 x Exp $"[..])
        );
        assert_eq!(
            keyword_in(b"$NetBSD: a $ and $NetBSD: b $ end"),
            Some(&b"$NetBSD: b $"[..])
        );
        assert_eq!(
            keyword_in(b"$NetBSD: a $NetBSD"),
            Some(&b"$NetBSD: a $"[..])
        );
        assert_eq!(keyword_in(b"x $NetBSD no close"), None);
    }

    #[test]
    fn colon_rewrite_is_per_line() {
        assert_eq!(first_colon_to_blank(b"a:b:c\nd:e\nf\n"), b"a b:c\nd e\nf\n");
    }
}
