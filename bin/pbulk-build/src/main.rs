fn main() {
    pbulk::cli::main("pbulk-build", pbulk::build::main)
}
