//! The phase programs and the drivers that chain them.

pub mod build;
pub mod bulkbuild;
pub mod check;
pub mod chroot;
pub mod client;
pub mod group;
pub mod host;
pub mod kit;
pub mod pre_build;
pub mod report;
pub mod sandbox;
pub mod scan;
pub mod sys;
pub mod upload;
