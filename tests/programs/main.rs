//! One program or phase at a time: options, messages, files, and the example tree with real bmake.

#[path = "../support/mod.rs"]
mod support;

mod build_cli;
mod build_crash;
mod build_phase;
mod build_status;
mod bulkbuild;
mod config;
mod example_tree;
mod example_tree_build;
mod guide_check;
mod install;
mod manpages_pages;
mod names_guards;
mod pkgbuild;
mod pkgbuild_example;
mod pkgbuild_uptodate;
mod pkgsrc_pkg_install;
mod pre_build;
mod realpkgsrc_tools;
mod report_errors;
mod report_phase;
mod report_timeline;
mod resolve_cli;
mod scan;
mod scan_example;
mod scan_kill;
mod scan_phase;
mod scan_phase_example;
mod scan_reuse;
mod upload_phase;
