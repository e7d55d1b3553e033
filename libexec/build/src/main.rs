fn main() {
    pbulk::cli::main("build", pbulk::phase::build::main);
}
