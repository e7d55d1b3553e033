fn main() {
    pbulk::cli::main("scan-client-start", pbulk::phase::client::scan_start_main);
}
