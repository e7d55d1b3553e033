//! pbulk-resolve: turn ALL_DEPENDS patterns into concrete DEPENDS lines.
