fn main() {
    pbulk::cli::main("pre-build", pbulk::phase::pre_build::main);
}
