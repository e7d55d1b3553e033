fn main() {
    pbulk::cli::main("client-clean", pbulk::phase::client::clean_main);
}
