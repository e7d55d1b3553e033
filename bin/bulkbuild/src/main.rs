fn main() {
    pbulk::cli::main("bulkbuild", pbulk::phase::bulkbuild::main);
}
