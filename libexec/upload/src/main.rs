fn main() {
    pbulk::cli::main("upload", pbulk::phase::upload::main);
}
