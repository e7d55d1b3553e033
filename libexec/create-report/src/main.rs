fn main() {
    pbulk::cli::main("create-report", |_| {
        Err(pbulk::cli::Error::not_yet("create-report"))
    });
}
