//! bulkbuild, bulkbuild-restart and bulkbuild-rebuild.
