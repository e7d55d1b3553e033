fn main() {
    pbulk::cli::main("client-clean", |_| {
        Err(pbulk::cli::Error::not_yet("client-clean"))
    });
}
