fn main() {
    pbulk::cli::main("pre-build", |_| {
        Err(pbulk::cli::Error::not_yet("pre-build"))
    });
}
