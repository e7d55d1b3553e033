//! client-clean, client-prepare, scan-client-start and build-client-start.
