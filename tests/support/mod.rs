//! Helpers shared by the test binaries. Each binary (`tests/<name>/main.rs`)
//! includes this module set; a binary uses only part of it.
#![allow(dead_code, unused_imports)]

pub mod build_net;
pub mod bulk;
pub mod common;
pub mod example_tree;
pub mod net;
pub mod pattern_ref;
pub mod pkgbuild;
pub mod realpkgsrc;
pub mod report;
pub mod scan_fake;
pub mod scan_net;
