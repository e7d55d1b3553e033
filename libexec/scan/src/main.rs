fn main() {
    pbulk::cli::main("scan", pbulk::phase::scan::main);
}
