fn main() {
    pbulk::cli::main("pkg-build", |_| {
        Err(pbulk::cli::Error::not_yet("pkg-build"))
    });
}
