//! Whether and how local builds run side by side (`build_procs` > 1 with
//! `master_mode=no`): each build slot gets private copies of the paths a
//! build writes (see [`crate::build::sandbox`]), or the run is refused
//! before anything runs.
//!
//! Private to a slot: `${prefix}` and `${pkgdb}` (emptied by every
//! pkg-build), `WRKOBJDIR` (so two packages of one multi-version location
//! never share a work directory), `/tmp`, and of `${varbase}` what
//! client-clean resets before every build, `${varbase}/qmail`; the rest of
//! `${varbase}` is the system's and shared, as between serial builds. With
//! `cross_compile=yes` the same paths below `${target_destdir}` too. The
//! slot directories live in `sandbox_dir`, by default
//! `${WRKOBJDIR}/.pbulk-sandbox`: inside the scratch area the builds
//! write to anyway, on the file system sized for it, and hidden from the
//! builds themselves (each slot's `WRKOBJDIR` is its own).

use std::path::{Path, PathBuf};

use crate::build::sandbox;
use crate::cli::{Error, Result};
use crate::config::{split_words, Config, MasterMode};

/// The `pbulk-build` options for private slots.
pub struct Plan {
    pub dir: PathBuf,
    pub private: Vec<PathBuf>,
}

impl Plan {
    /// `-S dir -P path ...`.
    pub fn args(&self) -> Vec<String> {
        let mut argv = vec!["-S".to_string(), self.dir.to_string_lossy().into_owned()];
        for p in &self.private {
            argv.extend(["-P".to_string(), p.to_string_lossy().into_owned()]);
        }
        argv
    }
}

/// The slots' plan when local builds run side by side, `None` when they
/// do not; an error saying why and what to configure where they cannot
/// be kept apart.
pub fn plan(cfg: &Config) -> Result<Option<Plan>> {
    if !matches!(cfg.master_mode(), Ok(MasterMode::No)) {
        return Ok(None);
    }
    let slots = match cfg.count("build_procs")? {
        Some(n) if n > 1 => n,
        _ => return Ok(None),
    };
    let refuse = |why: String| {
        Error::errx(format!(
            "build_procs={slots} refused: {why}; set build_procs=1, or build in chroots \
             (master_mode=yes with chroot_dir, chroot_create, chroot_delete and build_chroots={slots})"
        ))
    };
    if let Err(e) = sandbox::probe() {
        return Err(refuse(format!(
            "no private mount namespace per build slot can be made here \
             (unshare: {}; it needs root on Linux)",
            crate::cli::strerror(&e)
        )));
    }
    let make = cfg.tool("make")?;
    let dir = Path::new(cfg.value("pkgsrc")).join("pkgtools/pkg_install");
    let wrkobjdir = super::pre_build::show_var(&make, &dir, "WRKOBJDIR", cfg).map_err(|_| {
        refuse(format!(
            "`make show-var VARNAME=WRKOBJDIR` failed in {}",
            dir.display()
        ))
    })?;
    if !wrkobjdir.starts_with('/') {
        return Err(refuse(
            "WRKOBJDIR is not set to an absolute path in mk.conf, and work directories inside \
             the pkgsrc tree cannot be made private per slot (set WRKOBJDIR)"
                .to_string(),
        ));
    }
    let mut roots = vec![""];
    if !cfg.dest_root().is_empty() {
        roots.push(cfg.dest_root());
    }
    let varbase = cfg.value("varbase");
    let qmail = (!varbase.is_empty()).then(|| format!("{varbase}/qmail"));
    let mut private = Vec::new();
    for root in roots {
        let paths = [cfg.value("prefix"), cfg.value("pkgdb")]
            .map(str::to_string)
            .into_iter()
            .chain(qmail.clone());
        for p in paths.filter(|p| !p.is_empty()) {
            if !p.starts_with('/') {
                return Err(refuse(format!(
                    "{p} from pbulk.conf is not an absolute path"
                )));
            }
            private.push(PathBuf::from(format!("{root}{p}")));
        }
    }
    private.push(PathBuf::from(&wrkobjdir));
    private.push(PathBuf::from("/tmp"));
    // What every slot must share cannot lie in what each has its own of.
    let conf = cfg.path().to_string_lossy().into_owned();
    let shared = ["bulklog", "packages", "pkgsrc", "pbuild_script"]
        .map(|v| {
            (
                v,
                split_words(cfg.value(v))
                    .into_iter()
                    .next()
                    .unwrap_or_default(),
            )
        })
        .into_iter()
        .chain([("the configuration", conf)]);
    for (what, value) in shared {
        let path = Path::new(&value);
        if let Some(p) = private.iter().find(|p| path.starts_with(p)) {
            return Err(refuse(format!(
                "{what} {value} lies inside {}, which every build slot has a private copy of",
                p.display()
            )));
        }
    }
    let dir = match cfg.value("sandbox_dir").trim() {
        "" => Path::new(&wrkobjdir).join(".pbulk-sandbox"),
        d if d.starts_with('/') => PathBuf::from(d),
        d => return Err(refuse(format!("sandbox_dir={d} is not an absolute path"))),
    };
    if let Some(p) = private.iter().find(|p| p.starts_with(&dir)) {
        return Err(refuse(format!(
            "{} lies inside sandbox_dir {}",
            p.display(),
            dir.display()
        )));
    }
    Ok(Some(Plan { dir, private }))
}
