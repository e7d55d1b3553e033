fn main() {
    pbulk::cli::main("pbulk-scan", pbulk::scan::main);
}
