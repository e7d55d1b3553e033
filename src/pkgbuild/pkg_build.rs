//! `pkg-build`: build one package from its presolve block on stdin, step
//! by step with one log file per step under `${bulklog}/<pkgname>/`, and
//! publish it to `${packages}/All` (scripts.md §3.11).
//!
//! Failure semantics follow the original's `set -e` script: a step guarded
//! by the failure handler runs the handler (archive, clean, `sync_buildlog`,
//! status 1); the unguarded ones (client-clean, log directory set-up, the
//! pre-clean `make clean`, the `STAGE_PKGFILE` query, removing the logs)
//! end the program at once with the failing command's status.

use std::cell::RefCell;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Write};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use super::host;
use super::input::{select_runners, usergroup_targets, BuildInfo, Runner, Runners, UsergroupStep};
use super::run::{self, cat, Argv, Sink};
use crate::cli::{self, Result};
use crate::config::Config;
use crate::paths;

/// How a step ended when it did not succeed.
enum Stop {
    /// Run the failure handler, then exit 1.
    Handler,
    /// Exit at once with this status (an unguarded `set -e` failure).
    Exit(i32),
}

type Step = std::result::Result<(), Stop>;

fn guarded(status: i32) -> Step {
    if status == 0 {
        Ok(())
    } else {
        Err(Stop::Handler)
    }
}

fn unguarded(status: i32) -> Step {
    if status == 0 {
        Ok(())
    } else {
        Err(Stop::Exit(status))
    }
}

/// Report a failure of pkg-build's own work (what sh's builtins or
/// mkdir/rm/chown would print) and stop with `status`.
fn fail(status: i32, what: impl std::fmt::Display) -> Stop {
    eprintln!("pkg-build: {what}");
    Stop::Exit(status)
}

pub fn main(args: Vec<OsString>) -> Result<i32> {
    cli::operands(
        args,
        "pkg-build: build the package whose presolve record is on stdin.",
        "usage: pkg-build\n",
    )?;
    let cfg = Config::load_checked()?;
    let info = BuildInfo::parse(io::stdin().lock())
        .map_err(|e| cli::Error::err("cannot read the package record from stdin", &e))?;
    // Without a name the log directory would be ${bulklog} itself and the
    // original would empty it; refuse instead (deliberate fix).
    if info.pkgname.is_empty() {
        return Err(cli::Error::errx(
            "no PKGNAME= line in the package record on stdin",
        ));
    }
    // The name becomes ${bulklog}/${pkgname} (emptied and removed) and
    // ${packages}/All/${pkgname}${pkg_sufx}, the location the directory make
    // runs in: nothing from a Makefile may lead them elsewhere.
    if let Some(why) = unsafe_fields(&info) {
        return Err(cli::Error::errx(format!("{why}; not built")));
    }
    let euid = nix::unistd::geteuid().as_raw();
    Ok(PkgBuild::new(cfg, info, euid).run())
}

/// Which field of the record is unsafe as part of a path, and why.
fn unsafe_fields(info: &BuildInfo) -> Option<String> {
    use crate::record::{location_problem, name_problem, shown};
    if let Some(why) = name_problem(&info.pkgname) {
        return Some(format!("PKGNAME `{}' {why}", shown(&info.pkgname)));
    }
    if let Some(why) = location_problem(&info.pkgdir) {
        return Some(format!(
            "PKG_LOCATION `{}' of {} {why}",
            shown(&info.pkgdir),
            shown(&info.pkgname)
        ));
    }
    let deps = info.dependencies.split(|&b| b == b' ' || b == b'\t');
    for dep in deps.filter(|d| !d.is_empty()) {
        if let Some(why) = name_problem(dep) {
            return Some(format!(
                "dependency `{}' of {} {why}",
                shown(dep),
                shown(&info.pkgname)
            ));
        }
    }
    None
}

struct PkgBuild {
    cfg: Config,
    info: BuildInfo,
    runners: Runners,
    /// `${bulklog}/${pkgname}`.
    logdir: OsString,
    cross: bool,
    /// The package database packages are added to.
    cur_pkgdb: OsString,
    /// The config path made absolute: children started after the `cd`
    /// into the package directory must still find it.
    conf: PathBuf,
    /// Why the build host, not the package, failed a step pkg-build ran
    /// itself (a log it could not create, the copy into `${packages}/All`).
    host_fault: RefCell<Option<String>>,
    /// The log of the step that ran last, read for the host's errors when
    /// the step fails.
    last_log: RefCell<Option<PathBuf>>,
}

impl PkgBuild {
    fn new(cfg: Config, info: BuildInfo, euid: u32) -> Self {
        let runners = select_runners(
            cfg.value("use_unprivileged_checksum"),
            &info.use_destdir,
            euid,
        );
        let logdir = cat(&[cfg.value("bulklog").as_bytes(), b"/", &info.pkgname]);
        let cross = cfg.value("cross_compile") != "no";
        let cur_pkgdb = if cross {
            cat(&[
                cfg.value("target_destdir").as_bytes(),
                cfg.value("pkgdb").as_bytes(),
            ])
        } else {
            OsString::from(cfg.value("pkgdb"))
        };
        let conf = std::path::absolute(cfg.path()).unwrap_or_else(|_| cfg.path().to_path_buf());
        PkgBuild {
            host_fault: RefCell::new(None),
            last_log: RefCell::new(None),
            conf,
            cfg,
            info,
            runners,
            logdir,
            cross,
            cur_pkgdb,
        }
    }

    fn v(&self, name: &str) -> &str {
        self.cfg.value(name)
    }

    /// `${bulklog}/${pkgname}/<file>`.
    fn log(&self, file: &str) -> PathBuf {
        PathBuf::from(cat(&[self.logdir.as_bytes(), b"/", file.as_bytes()]))
    }

    fn conf_env(&self) -> [(&'static str, &OsStr); 1] {
        [(paths::CONF_ENV, self.conf.as_os_str())]
    }

    fn run(&self) -> i32 {
        if let Err(why) = host::ready(&self.cfg) {
            return self.host_failure(&why);
        }
        if self.up_to_date() {
            return 0;
        }
        let stop = match self.steps() {
            Ok(()) => return 0,
            Err(stop) => stop,
        };
        let fault = self.host_fault.borrow_mut().take();
        let last = self.last_log.borrow().clone();
        if let Some(why) = fault
            .or_else(|| host::ready(&self.cfg).err())
            .or_else(|| last.as_deref().and_then(host::error_in_log))
        {
            return self.host_failure(&why);
        }
        match stop {
            Stop::Exit(code) => code,
            Stop::Handler => self.failure_handler(),
        }
    }

    /// The one line saying the host failed this build, and the status that
    /// keeps pbulk-build from logging it as the package's failure. The
    /// failure handler does not run: nothing of this attempt is kept as a
    /// result.
    fn host_failure(&self, why: &str) -> i32 {
        eprintln!(
            "pkg-build: {}: build host failure: {why}",
            String::from_utf8_lossy(&self.info.pkgname)
        );
        crate::cli::HOST_FAILURE
    }

    /// Note a failure of pkg-build's own file work that is the host's.
    fn note_host(&self, what: impl std::fmt::Display, e: &io::Error) {
        if let Some(why) = host::errno_cause(e) {
            self.host_fault
                .borrow_mut()
                .get_or_insert(format!("{what}: {why}"));
        }
    }

    /// `${pkg_up_to_date_script} ${pkgname} ${dependencies}`.
    fn up_to_date(&self) -> bool {
        let argv = Argv::new()
            .words(self.v("pkg_up_to_date_script"))
            .words(&self.info.pkgname)
            .words(&self.info.dependencies);
        run::run(&argv, &self.conf_env(), Sink::Inherit) == 0
    }

    /// Open a step's log (`>` or `>>`); sh reports a failed redirection
    /// and the command fails with status 2.
    fn open_log(&self, file: &str, append: bool) -> std::result::Result<File, i32> {
        let path = self.log(file);
        *self.last_log.borrow_mut() = Some(path.clone());
        run::open_log(&path, append).map_err(|e| {
            self.note_host(format_args!("cannot create {}", path.display()), &e);
            eprintln!(
                "pkg-build: cannot create {}: {}",
                path.display(),
                cli::strerror(&e)
            );
            2
        })
    }

    /// Run one command with `> file 2>&1` (or `>>`) and return its status.
    fn logged(&self, argv: &Argv, file: &str, append: bool) -> i32 {
        match self.open_log(file, append) {
            Ok(f) => run::run(argv, &[], Sink::File(&f)),
            Err(code) => code,
        }
    }

    fn make(&self) -> Argv {
        Argv::new().words(self.v("make"))
    }

    /// The make wrapper: runner, `${make} <targets> BATCH=1
    /// DEPENDS_TARGET=/nonexistent ${MAKE_FLAGS} WRKLOG=<log dir>/work.log`.
    fn make_wrapper(&self, runner: Runner, targets: &[&str]) -> Argv {
        let argv = match runner {
            Runner::Direct => Argv::new(),
            Runner::Su => Argv::new()
                .arg("su")
                .words(self.v("unprivileged_user"))
                .args(["-c", "\"$@\"", "make"]),
        };
        argv.words(self.v("make"))
            .args(targets)
            .args(["BATCH=1", "DEPENDS_TARGET=/nonexistent"])
            .words(&self.info.make_flags)
            .words(cat(&[b"WRKLOG=", self.logdir.as_bytes(), b"/work.log"]).as_bytes())
    }

    fn steps(&self) -> Step {
        let cc = Argv::new().arg(paths::libexec("client-clean"));
        unguarded(run::run(&cc, &self.conf_env(), Sink::Inherit))?;
        self.prepare_logdir()?;

        let dir = cat(&[self.v("pkgsrc").as_bytes(), b"/", &self.info.pkgdir]);
        std::env::set_current_dir(&dir)
            .map_err(|_| fail(2, format_args!("cd: can't cd to {}", dir.to_string_lossy())))?;

        unguarded(self.logged(&self.make().arg("clean"), "pre-clean.log", false))?;
        if !self.info.dependencies.is_empty() {
            let deps = run::split_bytes(&self.info.dependencies);
            guarded(self.pkg_add_logged(&deps, "depends.log", false))?;
        }
        let r = self.runners;
        guarded(self.logged(
            &self.make_wrapper(r.checksum, &["checksum"]),
            "checksum.log",
            false,
        ))?;
        self.usergroup_and_make(
            UsergroupStep::Configure,
            r.build,
            "configure",
            "configure.log",
        )?;
        self.usergroup_and_make(UsergroupStep::Build, r.build, "all", "build.log")?;
        self.usergroup_and_make(
            UsergroupStep::Install,
            r.install,
            "stage-install",
            "install.log",
        )?;
        let create = self.make_wrapper(Runner::Direct, &["stage-package-create"]);
        guarded(self.logged(&create, "package.log", false))?;

        let query = self.make_wrapper(Runner::Direct, &["show-var", "VARNAME=STAGE_PKGFILE"]);
        let (pkgfile, st) = run::command_subst(&query);
        unguarded(st)?;
        let pkgfile_words = run::split_bytes(&pkgfile);

        if !self.info.is_bootstrap() {
            guarded(self.pkg_add_logged(&pkgfile_words, "package.log", true))?;
        }
        if self.v("cross_compile") == "no" && !self.info.is_bootstrap() {
            let del = Argv::new()
                .words(self.v("pkg_delete"))
                .arg("-K")
                .words(self.cur_pkgdb.as_bytes())
                .words(&self.info.pkgname);
            guarded(self.logged(&del, "deinstall.log", false))?;
        }
        let hook_args = Argv(pkgfile_words)
            .words(&self.info.pkgname)
            .arg(OsStr::from_bytes(&self.info.categories));
        guarded(self.sync_package(&hook_args))?;

        // A failing final clean does not fail the build.
        let _ = self.logged(&self.make().arg("clean"), "clean.log", false);
        std::fs::remove_dir_all(&self.logdir).map_err(|e| {
            fail(
                1,
                format_args!(
                    "rm: {}: {}",
                    self.logdir.to_string_lossy(),
                    cli::strerror(&e)
                ),
            )
        })
    }

    /// `mkdir -p`, `rm -f <dir>/*`, `touch work.log`, `chown` it to the
    /// unprivileged user so make running as that user can append.
    fn prepare_logdir(&self) -> Step {
        let dir = Path::new(&self.logdir);
        std::fs::create_dir_all(dir).map_err(|e| {
            self.note_host(format_args!("cannot create {}", dir.display()), &e);
            fail(
                1,
                format_args!("mkdir: {}: {}", dir.display(), cli::strerror(&e)),
            )
        })?;
        let mut failed = false;
        let entries = std::fs::read_dir(dir).map_err(|e| {
            fail(
                1,
                format_args!("rm: {}: {}", dir.display(), cli::strerror(&e)),
            )
        })?;
        for entry in entries.flatten() {
            // The glob `*` skips dot files; rm -f refuses directories.
            if entry.file_name().as_bytes().starts_with(b".") {
                continue;
            }
            let p = entry.path();
            let res = if entry.file_type().is_ok_and(|t| t.is_dir()) {
                Err(io::Error::from_raw_os_error(libc::EISDIR))
            } else {
                std::fs::remove_file(&p)
            };
            if let Err(e) = res {
                if e.kind() != io::ErrorKind::NotFound {
                    eprintln!("pkg-build: rm: {}: {}", p.display(), cli::strerror(&e));
                    failed = true;
                }
            }
        }
        if failed {
            return Err(Stop::Exit(1));
        }
        let work = self.log("work.log");
        touch(&work).map_err(|e| {
            self.note_host(format_args!("cannot create {}", work.display()), &e);
            fail(
                1,
                format_args!("touch: {}: {}", work.display(), cli::strerror(&e)),
            )
        })?;
        chown(self.v("unprivileged_user"), &work)
            .map_err(|msg| fail(1, format_args!("chown: {msg}")))
    }

    /// The user/group helper into `log` (truncated), then the make wrapper
    /// for `target` appended to it.
    fn usergroup_and_make(
        &self,
        step: UsergroupStep,
        runner: Runner,
        target: &str,
        log: &str,
    ) -> Step {
        let st = match self.open_log(log, false) {
            Ok(f) => match usergroup_targets(&self.info.usergroup_phase, step) {
                Some(targets) => run::run(&self.make().args(targets), &[], Sink::File(&f)),
                None => 0,
            },
            Err(code) => code,
        };
        guarded(st)?;
        guarded(self.logged(&self.make_wrapper(runner, &[target]), log, true))
    }

    /// Add packages (normal or cross), output into `log`; the status is
    /// what the original's add function returns.
    fn pkg_add_logged(&self, pkgs: &[OsString], log: &str, append: bool) -> i32 {
        let f = match self.open_log(log, append) {
            Ok(f) => f,
            Err(code) => return code,
        };
        let path = cat(&[self.v("packages").as_bytes(), b"/All"]);
        let env = [("PKG_PATH", path.as_os_str())];
        let mut argv = Argv::new()
            .words(self.v("pkg_add"))
            .arg("-K")
            .words(self.cur_pkgdb.as_bytes());
        if !self.cross {
            return run::run(&argv.args(pkgs), &env, Sink::File(&f));
        }
        let dest_prefix = cat(&[
            self.v("target_destdir").as_bytes(),
            self.v("prefix").as_bytes(),
        ]);
        argv = argv
            .arg("-m")
            .words(self.v("target_arch"))
            .args(["-I", "-p"])
            .words(dest_prefix.as_bytes())
            .args(pkgs);
        // In the original's function the pkg_add status is overwritten by
        // the @cwd fix-up loop that follows it.
        let _ = run::run(&argv, &env, Sink::File(&f));
        let _ = (&f).write_all(b"Fixing recorded cwd...\n");
        self.fix_recorded_cwd(&f)
    }

    /// Rewrite `@cwd <target_destdir>` to `@cwd ` in the `+CONTENTS` of
    /// every package of the target pkgdb, with `${sed}` as the original.
    fn fix_recorded_cwd(&self, log: &File) -> i32 {
        let pkgdb = cat(&[
            self.v("target_destdir").as_bytes(),
            self.v("pkgdb").as_bytes(),
        ]);
        let list = Argv::new()
            .words(self.v("pkg_info"))
            .arg("-K")
            .words(pkgdb.as_bytes());
        let (out, _) = run::capture(&list, Sink::File(log));
        let expr = format!("s|@cwd {}|@cwd |", self.v("target_destdir"));
        let mut status = 0;
        let mut lines = super::shread::ShRead::new(&out[..]);
        while let Ok(Some(fields)) = lines.read(2) {
            let dir = cat(&[self.cur_pkgdb.as_bytes(), b"/", &fields[0]]);
            let contents = PathBuf::from(cat(&[dir.as_bytes(), b"/+CONTENTS"]));
            let tmp = PathBuf::from(cat(&[dir.as_bytes(), b"/+CONTENTS.tmp"]));
            let sed = Argv::new()
                .words(self.v("sed"))
                .args(["-e", &expr])
                .arg(&contents);
            match File::create(&tmp) {
                Ok(t) => {
                    run::run_io(&sed, &[], Sink::File(&t), Sink::File(log));
                }
                Err(e) => {
                    let _ = writeln!(
                        &*log,
                        "pkg-build: cannot create {}: {}",
                        tmp.display(),
                        cli::strerror(&e)
                    );
                }
            }
            status = match std::fs::rename(&tmp, &contents) {
                Ok(()) => 0,
                Err(e) => {
                    let _ = writeln!(
                        &*log,
                        "pkg-build: mv: {}: {}",
                        tmp.display(),
                        cli::strerror(&e)
                    );
                    1
                }
            };
        }
        status
    }

    /// `${sync_package} ${pkgfile} ${pkgname} "${categories}"`.
    fn sync_package(&self, args: &Argv) -> i32 {
        let words = run::split_bytes(self.v("sync_package").as_bytes());
        if words.first().is_some_and(|w| w == "default_sync_package") {
            let all: Vec<&OsString> = words[1..].iter().chain(args.0.iter()).collect();
            let src = all.first().map(|s| s.as_os_str()).unwrap_or_default();
            return self.default_sync_package(Path::new(src));
        }
        self.hook("sync_package", args)
    }

    /// The built-in publisher: copy the package into `${packages}/All`
    /// under a temporary name and rename it, so `All/` never holds half a
    /// package.
    fn default_sync_package(&self, src: &Path) -> i32 {
        let all = PathBuf::from(cat(&[self.v("packages").as_bytes(), b"/All"]));
        if let Err(e) = std::fs::create_dir_all(&all) {
            eprintln!("pkg-build: mkdir: {}: {}", all.display(), cli::strerror(&e));
        }
        let name = cat(&[&self.info.pkgname, self.cfg.pkg_sufx().as_bytes()]);
        if let Err(e) = std::fs::metadata(src) {
            // No package file to copy: the package's own build went wrong.
            eprintln!("pkg-build: cp: {}: {}", src.display(), cli::strerror(&e));
            return 1;
        }
        match crate::pkgbuild::copy_atomic(src, &all.join(&name)) {
            Ok(()) => 0,
            Err(e) => {
                // The package is there: failing to publish it is the host's.
                self.host_fault.borrow_mut().get_or_insert(format!(
                    "cannot copy the package into {}: {}",
                    all.display(),
                    cli::strerror(&e)
                ));
                1
            }
        }
    }

    /// Run a config hook through sh, in the original's context: the config
    /// sourced (functions it defines are callable), the record's variables
    /// set and `default_sync_package` defined.
    fn hook(&self, var: &str, args: &Argv) -> i32 {
        if run::split_bytes(self.v(var).as_bytes()) == [":"] {
            return 0;
        }
        let script = format!(
            ". \"${conf}\"\n\
             pkgname=$1 pkgdir=$2 dependencies=$3 categories=$4 MAKE_FLAGS=$5 \
             use_destdir=$6 is_bootstrap=$7 usergroup_phase=$8\n\
             shift 8\n\
             default_sync_package() {{\n\
             \tmkdir -p ${{packages}}/All\n\
             \tcp \"$1\" \"${{packages}}/All/${{pkgname}}${{pkg_sufx}}\"\n\
             }}\n\
             ${{{var}}} \"$@\"\n",
            conf = paths::CONF_ENV
        );
        let i = &self.info;
        let vars = [
            &i.pkgname,
            &i.pkgdir,
            &i.dependencies,
            &i.categories,
            &i.make_flags,
            &i.use_destdir,
            &i.is_bootstrap,
            &i.usergroup_phase,
        ];
        let argv = Argv::new()
            .args(["/bin/sh", "-c", &script, "sh"])
            .args(vars.iter().map(|v| OsStr::from_bytes(v)))
            .args(&args.0);
        run::run(&argv, &self.conf_env(), Sink::Inherit)
    }

    /// The failure handler; returns the exit status.
    fn failure_handler(&self) -> i32 {
        if self.v("keep_wrkdir") == "yes" {
            let into = cat(&[b"INTO=", self.logdir.as_bytes(), b"/wrkdir.tar.gz"]);
            let tar = cat(&[b"TAR=", self.v("tar").as_bytes()]);
            let argv = self
                .make()
                .arg("pbulk-save-wrkdir")
                .words(into.as_bytes())
                .arg(tar);
            let st = run::run(&argv, &[], Sink::Inherit);
            if st != 0 {
                return st;
            }
        }
        if self.v("keep_prefix") == "yes" && self.log("install.log").is_file() {
            let dest = if self.cross {
                self.v("target_destdir")
            } else {
                ""
            };
            let prefix = format!("{dest}{}", self.v("prefix"));
            let argv = Argv::new()
                .words(self.v("tar"))
                .arg("-czf")
                .words(self.log("prefix.tar.gz").as_os_str().as_bytes())
                .words(prefix);
            let st = run::run(&argv, &[], Sink::Inherit);
            if st != 0 {
                return st;
            }
        }
        if let Ok(null) = run::null() {
            let _ = run::run(&self.make().arg("clean"), &[], Sink::File(&null));
        }
        let args = Argv::new()
            .words(self.v("bulklog"))
            .words(&self.info.pkgname);
        match self.hook("sync_buildlog", &args) {
            0 => 1,
            st => st,
        }
    }
}

/// `touch`: create if missing, set both times to now.
fn touch(path: &Path) -> io::Result<()> {
    std::fs::OpenOptions::new()
        .append(true)
        .create(true)
        .open(path)?;
    let now = filetime::FileTime::now();
    filetime::set_file_times(path, now, now)
}

/// `chown <owner> <path>` with owner `user[:group]`, names or numbers.
fn chown(owner: &str, path: &Path) -> std::result::Result<(), String> {
    use nix::unistd::{Gid, Group, Uid, User};
    let words = crate::config::split_words(owner);
    let [spec] = words.as_slice() else {
        return Err(format!("invalid owner: '{owner}'"));
    };
    let (user, group) = match spec.split_once(':') {
        Some((u, g)) => (u, Some(g)),
        None => (spec.as_str(), None),
    };
    let uid = match User::from_name(user) {
        Ok(Some(u)) => u.uid,
        _ => Uid::from_raw(
            user.parse()
                .map_err(|_| format!("invalid user: '{user}'"))?,
        ),
    };
    let gid = match group.filter(|g| !g.is_empty()) {
        None => None,
        Some(g) => Some(match Group::from_name(g) {
            Ok(Some(gr)) => gr.gid,
            _ => Gid::from_raw(g.parse().map_err(|_| format!("invalid group: '{g}'"))?),
        }),
    };
    nix::unistd::chown(path, Some(uid), gid)
        .map_err(|e| format!("changing ownership of '{}': {}", path.display(), e.desc()))
}
