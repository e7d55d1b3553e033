//! Package patterns and versions: pkg_install's `pkg_match` and dewey order.
