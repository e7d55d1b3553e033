fn main() {
    pbulk::cli::main("report", pbulk::phase::report::main);
}
