//! The build phase: pbulk-build, pkg_summary and SHA512.
