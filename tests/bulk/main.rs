//! Whole bulk builds of the example tree: end to end, master mode, killed and restarted.

#[path = "../support/mod.rs"]
mod support;

mod bulk_e2e;
mod bulk_restart;
mod lock_guard;
mod realpkgsrc_bulk;
mod sandbox_parallel;
