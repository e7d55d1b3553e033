fn main() {
    pbulk::cli::main("scan-client-start", |_| {
        Err(pbulk::cli::Error::not_yet("scan-client-start"))
    });
}
