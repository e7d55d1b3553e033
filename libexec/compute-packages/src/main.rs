fn main() {
    pbulk::cli::main("compute-packages", pbulk::report::compute_packages_main);
}
