//! The bootstrap kit as `pbulk-check` sees it: what `${bootstrapkit}`
//! names (a gzip'd tarball unpacked at the root, or a directory copied into
//! the prefix, as client-clean uses it), whether it holds the build prefix,
//! and the settings of the mk.conf it carries that a bulk build depends on
//! (from pkgsrc's HOWTO-pbulk and the layout of the pkgsrc guide).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::config::Config;

use super::check::Findings;

/// What `${bootstrapkit}` names.
pub enum Kit {
    /// Empty: the prefix starts empty before every build.
    Empty,
    /// Named but unusable (already reported).
    Unusable,
    /// A tarball: its entries without a leading `./` or `/`.
    Tarball {
        entries: Vec<String>,
        mk_conf: Option<MkConf>,
    },
    /// A directory whose contents are copied into the prefix.
    Directory {
        root: PathBuf,
        prefix: String,
        mk_conf: Option<MkConf>,
    },
}

impl Kit {
    /// Whether unpacking the kit creates the file `path` (absolute).
    pub fn holds(&self, path: &str) -> bool {
        match self {
            Kit::Tarball { entries, .. } => {
                let want = path.trim_start_matches('/');
                entries.iter().any(|e| e == want)
            }
            Kit::Directory { root, prefix, .. } => path
                .strip_prefix(prefix.trim_end_matches('/'))
                .is_some_and(|rest| root.join(rest.trim_start_matches('/')).is_file()),
            Kit::Empty | Kit::Unusable => false,
        }
    }
}

fn normalise(entry: &str) -> String {
    let e = entry.trim_start_matches("./").trim_start_matches('/');
    e.trim_end_matches('/').to_string()
}

/// Look at the kit and report what keeps it from giving a working prefix.
pub fn inspect(cfg: &Config, f: &mut Findings) -> Kit {
    let kit = cfg.value("bootstrapkit");
    let prefix = cfg.value("prefix").trim_end_matches('/').to_string();
    if kit.is_empty() {
        f.warn(format!(
            "bootstrapkit is empty: prefix={prefix} starts empty before every package, which \
             works only where bmake and pkg_install live outside it (NetBSD's base system); \
             elsewhere make a kit with bootstrap --gzip-binary-kit"
        ));
        return Kit::Empty;
    }
    let md = match std::fs::metadata(kit) {
        Ok(md) => md,
        Err(e) => {
            f.error(format!(
                "bootstrapkit={kit}: {}: make it with bootstrap --prefix {prefix} \
                 --gzip-binary-kit {kit}, where the master and every client read it",
                crate::cli::strerror(&e)
            ));
            return Kit::Unusable;
        }
    };
    if md.is_dir() {
        let root = PathBuf::from(kit);
        let mk_conf = std::fs::read_to_string(root.join("etc/mk.conf"))
            .ok()
            .map(|t| MkConf::parse(&t));
        if mk_conf.is_none() {
            no_mk_conf(kit, &prefix, f);
        }
        return Kit::Directory {
            root,
            prefix,
            mk_conf,
        };
    }
    // tar itself is checked with the other tools.
    let Some((tar, tar_args)) = crate::config::command_words(cfg.value("tar")) else {
        return Kit::Unusable;
    };
    let list = Command::new(&tar)
        .args(&tar_args)
        .arg("-tzf")
        .arg(kit)
        .stdin(Stdio::null())
        .output();
    let out = match list {
        Ok(out) if out.status.success() && !out.stdout.is_empty() => out,
        Ok(out) => {
            let err = String::from_utf8_lossy(&out.stderr);
            let why = err
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .unwrap_or("empty");
            f.error(format!(
                "bootstrapkit={kit} is not a gzip'd tarball tar can read ({why}): make it with \
                 bootstrap --gzip-binary-kit"
            ));
            return Kit::Unusable;
        }
        Err(_) => return Kit::Unusable,
    };
    let raw: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    let entries: Vec<String> = raw.iter().map(|e| normalise(e)).collect();
    let rel = prefix.trim_start_matches('/');
    if !entries
        .iter()
        .any(|e| e == rel || e.starts_with(&format!("{rel}/")))
    {
        let mut tops: Vec<&str> = entries
            .iter()
            .filter_map(|e| e.split('/').next())
            .filter(|t| !t.is_empty())
            .collect();
        tops.dedup();
        tops.truncate(3);
        f.error(format!(
            "bootstrapkit={kit} holds nothing under prefix={prefix} (it holds {}): it was \
             made for another prefix; bootstrap again with --prefix {prefix}",
            tops.join(", ")
        ));
        return Kit::Unusable;
    }
    let want = format!("{rel}/etc/mk.conf");
    let mk_conf = match entries.iter().position(|e| *e == want) {
        Some(i) => Command::new(&tar)
            .args(&tar_args)
            .arg("-xzOf")
            .arg(kit)
            .arg(&raw[i])
            .stdin(Stdio::null())
            .stderr(Stdio::null())
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| MkConf::parse(&String::from_utf8_lossy(&o.stdout))),
        None => None,
    };
    if mk_conf.is_none() {
        no_mk_conf(kit, &prefix, f);
    }
    Kit::Tarball { entries, mk_conf }
}

fn no_mk_conf(kit: &str, prefix: &str, f: &mut Findings) {
    f.warn(format!(
        "bootstrapkit={kit} holds no {prefix}/etc/mk.conf: the builds get pkgsrc's defaults; \
         bootstrap with --mk-fragment holding the settings of the guide"
    ));
}

/// The plain assignments of a mk.conf (`VAR= value`, `?=`, `+=`, `:=`);
/// conditionals and includes are not followed.
#[derive(Debug, Default)]
pub struct MkConf {
    vars: HashMap<String, String>,
}

impl MkConf {
    pub fn parse(text: &str) -> MkConf {
        let mut vars: HashMap<String, String> = HashMap::new();
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() || line.starts_with('.') {
                continue;
            }
            let Some((lhs, value)) = line.split_once('=') else {
                continue;
            };
            let value = value.trim().to_string();
            let lhs = lhs.trim_end();
            let (name, op) = match lhs.char_indices().last() {
                Some((i, c @ ('?' | '+' | ':' | '!'))) => (lhs[..i].trim_end(), Some(c)),
                _ => (lhs, None),
            };
            if name.is_empty()
                || !name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'.')
            {
                continue;
            }
            match op {
                Some('?') if vars.contains_key(name) => {}
                Some('+') => {
                    let v = vars.entry(name.to_string()).or_default();
                    if !v.is_empty() {
                        v.push(' ');
                    }
                    v.push_str(&value);
                }
                _ => {
                    vars.insert(name.to_string(), value);
                }
            }
        }
        MkConf { vars }
    }

    pub fn get(&self, name: &str) -> Option<&str> {
        self.vars.get(name).map(String::as_str)
    }
}

fn same_path(a: &str, b: &str) -> bool {
    Path::new(a.trim_end_matches('/')) == Path::new(b.trim_end_matches('/'))
}

/// What pbulk needs from the kit's mk.conf: the prefix and package
/// database pbulk wipes are the ones the packages are built for; and what
/// the guide's fragment sets so that builds do not stop for reasons that
/// have nothing to do with the package.
pub fn check_mk_conf(cfg: &Config, mk: &MkConf, f: &mut Findings) {
    for (make_var, var) in [("LOCALBASE", "prefix"), ("PKG_DBDIR", "pkgdb")] {
        let want = cfg.value(var);
        if let Some(v) = mk.get(make_var).filter(|v| !v.contains('$')) {
            if !same_path(v, want) {
                f.error(format!(
                    "the kit's mk.conf sets {make_var}={v} but pbulk.conf has {var}={want}: \
                     pbulk would empty one and build into the other; bootstrap the kit \
                     again with --prefix/--pkgdbdir matching pbulk.conf"
                ));
            }
        }
    }
    let packages = cfg.value("packages");
    match mk.get("PACKAGES") {
        None => f.warn(format!(
            "the kit's mk.conf sets no PACKAGES: add PACKAGES={packages} to the mk.conf \
             fragment"
        )),
        Some(v) if !v.contains('$') && !same_path(v, packages) => f.warn(format!(
            "the kit's mk.conf sets PACKAGES={v} but pbulk.conf has packages={packages}: \
             make them the same"
        )),
        _ => {}
    }
    if mk.get("WRKOBJDIR").is_none() {
        f.warn(
            "the kit's mk.conf sets no WRKOBJDIR: work directories go into the pkgsrc tree, \
             which the layout keeps read-only; add WRKOBJDIR=/scratch to the fragment",
        );
    }
    if mk.get("DISTDIR").is_none() {
        f.warn(
            "the kit's mk.conf sets no DISTDIR: distfiles go into the pkgsrc tree; add \
             DISTDIR=/distfiles to the fragment",
        );
    }
    if !mk
        .get("ALLOW_VULNERABLE_PACKAGES")
        .is_some_and(|v| v.eq_ignore_ascii_case("yes"))
    {
        f.warn(
            "the kit's mk.conf does not set ALLOW_VULNERABLE_PACKAGES=yes: packages with \
             known vulnerabilities fail to build; add it to the fragment",
        );
    }
    let yes = |v: &str| mk.get(v).is_some_and(|v| v.eq_ignore_ascii_case("yes"));
    if !yes("_ACCEPTABLE") && !yes("SKIP_LICENSE_CHECK") {
        f.warn(
            "the kit's mk.conf sets neither SKIP_LICENSE_CHECK=yes nor _ACCEPTABLE=yes: \
             packages whose licence is not accepted fail to build; add one to the fragment",
        );
    }
}
