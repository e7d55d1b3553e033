//! The per-package build scripts: pkg-build and pkg-up-to-date.
