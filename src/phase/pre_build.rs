//! The pre-build phase: log tree rotation and meta/status.
