fn main() {
    pbulk::cli::main("build-client-start", |_| {
        Err(pbulk::cli::Error::not_yet("build-client-start"))
    });
}
