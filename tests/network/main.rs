//! Master/client modes over TCP, the start scripts and the chroot dialect.

#[path = "../support/mod.rs"]
mod support;

mod build_host_failure;
mod build_net;
mod bulk_master;
mod cluster_ssh;
mod dialect;
mod names_scan_master;
mod pre_build_clients;
mod scan_net;
mod scan_net_e2e;
