//! The phase programs and the drivers that chain them.

pub mod bulkbuild;
pub mod client;
pub mod pre_build;
pub mod scan;
pub mod build;
pub mod report;
pub mod upload;
