fn main() {
    pbulk::cli::main("pbulk-resolve", pbulk::resolve::main);
}
