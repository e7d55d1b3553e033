//! Every installed program by the name it is installed under, above all
//! other modules and used by none of them.
//!
//! The thin program crates each run one entry of [`PROGRAMS`] by name; the
//! installed programs are one executable, `pbulk-rs`, linked under all
//! these names, which runs the entry its argv[0] names. One executable
//! instead of 23 keeps the installed prefix at a tenth of the size: each
//! separate program carried its own copy of the standard library and of
//! the code the others share.

use std::ffi::OsString;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

use crate::cli;

/// An installed program: its name in `bin/` or `libexec/pbulk/` and what
/// it runs with the arguments after argv[0].
pub struct Program {
    pub name: &'static str,
    pub body: fn(Vec<OsString>) -> cli::Result<i32>,
}

const fn program(name: &'static str, body: fn(Vec<OsString>) -> cli::Result<i32>) -> Program {
    Program { name, body }
}

/// The programs of `bin/`, then those of `libexec/pbulk/`.
pub static PROGRAMS: &[Program] = &[
    program("bulkbuild", crate::phase::bulkbuild::main),
    program("bulkbuild-rebuild", crate::phase::bulkbuild::rebuild_main),
    program("bulkbuild-restart", crate::phase::bulkbuild::restart_main),
    program("pbulk-build", crate::build::main),
    program("pbulk-check", crate::phase::check::main),
    program("pbulk-resolve", crate::resolve::main),
    program("pbulk-scan", crate::scan::main),
    program("build", crate::phase::build::main),
    program("build-client-start", crate::phase::client::build_start_main),
    program("client-clean", crate::phase::client::clean_main),
    program("client-prepare", crate::phase::client::prepare_main),
    program("compute-packages", crate::report::compute_packages_main),
    program(
        "create-broken-graph",
        crate::report::create_broken_graph_main,
    ),
    program("create-report", crate::report::create_report_main),
    program("create-report-html", crate::report::create_report_html_main),
    program("create-report-txt", crate::report::create_report_txt_main),
    program("pkg-build", crate::pkgbuild::pkg_build::main),
    program("pkg-up-to-date", crate::pkgbuild::up_to_date::main),
    program("pre-build", crate::phase::pre_build::main),
    program("report", crate::phase::report::main),
    program("scan", crate::phase::scan::main),
    program("scan-client-start", crate::phase::client::scan_start_main),
    program("upload", crate::phase::upload::main),
];

/// The name cargo builds the phase program `build` under (it reserves
/// `build`); the same program when argv[0] says so.
const CARGO_BUILD_NAME: &str = "pbulk-phase-build";

/// The program installed as `name`.
pub fn find(name: &str) -> Option<&'static Program> {
    let name = if name == CARGO_BUILD_NAME {
        "build"
    } else {
        name
    };
    PROGRAMS.iter().find(|p| p.name == name)
}

/// Entry point of a thin program crate: run the program named `name`.
pub fn main(name: &str) -> ! {
    match find(name) {
        Some(p) => cli::main(p.name, p.body),
        None => unreachable!("{name} is in PROGRAMS"),
    }
}

/// Entry point of `pbulk-rs`: run the program its argv[0] names. Under
/// any other name it does nothing and says which names it answers to.
pub fn multicall() -> ! {
    let arg0 = std::env::args_os().next().unwrap_or_default();
    let base = Path::new(&arg0).file_name().unwrap_or_default();
    if let Some(p) = std::str::from_utf8(base.as_bytes()).ok().and_then(find) {
        cli::main(p.name, p.body)
    }
    let names: Vec<_> = PROGRAMS.iter().map(|p| p.name).collect();
    cli::report(
        "pbulk-rs",
        &cli::Error::errx(format!(
            "called as {:?}: this executable is installed under the name of each \
             program it runs, one of: {}",
            base.to_string_lossy(),
            names.join(" ")
        )),
    );
    std::process::exit(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_unique_and_found() {
        for (i, p) in PROGRAMS.iter().enumerate() {
            assert!(
                PROGRAMS[..i].iter().all(|q| q.name != p.name),
                "{} twice",
                p.name
            );
            assert!(std::ptr::eq(find(p.name).unwrap(), p));
        }
        assert_eq!(find("pbulk-phase-build").unwrap().name, "build");
        assert!(find("pbulk-rs").is_none());
        assert!(find("").is_none());
    }
}
