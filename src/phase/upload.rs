//! The upload phase: rsync of packages and summaries.
