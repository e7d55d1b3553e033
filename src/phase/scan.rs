//! The scan phase: pbulk-scan then pbulk-resolve, full or limited.
