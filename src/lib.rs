//! pbulk-rs: the logic behind every installed program of a drop-in
//! replacement for pkgsrc's pbulk bulk-build framework.
//!
//! Data flows one way: [`config`] -> [`scan`] -> [`resolve`] -> [`build`] ->
//! [`report`] -> upload, with [`phase`] holding the phase programs that
//! string them together. Lower modules never reach up that line;
//! [`programs`], which names every installed program, stands above all.

pub mod bulklock;
pub mod cli;
pub mod config;
pub mod fsutil;
pub mod paths;
pub mod record;

pub mod build;
pub mod net;
pub mod netaddr;
pub mod pattern;
pub mod phase;
pub mod pkgbuild;
pub mod programs;
pub mod report;
pub mod resolve;
pub mod scan;
pub mod wire;
