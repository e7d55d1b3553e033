fn main() {
    pbulk::cli::main("pbulk-scan", |_| {
        Err(pbulk::cli::Error::not_yet("pbulk-scan"))
    });
}
