//! pbulk-scan: run `make pbulk-index` over a pkgsrc tree.
