fn main() {
    pbulk::cli::main("pkg-up-to-date", |_| {
        Err(pbulk::cli::Error::not_yet("pkg-up-to-date"))
    });
}
