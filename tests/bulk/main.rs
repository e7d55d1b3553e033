//! Whole bulk builds: the example tree end to end, in private slots, killed
//! and restarted, guarded by the bulk log's lock; and the real 2014 pkgsrc.

#[path = "../support/mod.rs"]
mod support;

mod bulk_e2e;
// The longest test (about nine minutes) sorts near the front, so that it
// starts early and the others run beside it.
mod bulk_real_pkgsrc;
mod bulk_restart;
mod lock_guard;
mod sandbox_parallel;
