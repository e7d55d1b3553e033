fn main() {
    pbulk::cli::main("client-prepare", pbulk::phase::client::prepare_main);
}
