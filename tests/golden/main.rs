//! Byte-for-byte comparisons with the original programs' outputs on the real data (tests/data).

#[path = "../support/mod.rs"]
mod support;

mod build_golden;
mod pattern_real;
mod pre_build_golden;
mod report_awk_order;
mod report_golden;
mod resolve_fuzz;
mod resolve_golden;
mod scan_real;
