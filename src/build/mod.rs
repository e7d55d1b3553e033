//! pbulk-build: the build scheduler, its job states and logs.
