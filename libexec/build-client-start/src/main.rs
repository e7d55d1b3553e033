fn main() {
    pbulk::cli::main("build-client-start", pbulk::phase::client::build_start_main);
}
