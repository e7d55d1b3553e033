fn main() {
    pbulk::cli::main("bulkbuild-restart", pbulk::phase::bulkbuild::restart_main);
}
