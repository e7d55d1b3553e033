fn main() {
    pbulk::cli::main("bulkbuild-rebuild", pbulk::phase::bulkbuild::rebuild_main);
}
