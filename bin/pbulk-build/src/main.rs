fn main() {
    pbulk::cli::main("pbulk-build", |_| {
        Err(pbulk::cli::Error::not_yet("pbulk-build"))
    });
}
