fn main() {
    pbulk::cli::main("pbulk-resolve", |_| {
        Err(pbulk::cli::Error::not_yet("pbulk-resolve"))
    });
}
