fn main() {
    pbulk::cli::main("client-prepare", |_| {
        Err(pbulk::cli::Error::not_yet("client-prepare"))
    });
}
