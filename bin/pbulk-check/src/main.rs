fn main() {
    pbulk::cli::main("pbulk-check", pbulk::phase::check::main);
}
