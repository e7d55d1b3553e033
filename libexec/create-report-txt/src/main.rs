fn main() {
    pbulk::cli::main("create-report-txt", |_| {
        Err(pbulk::cli::Error::not_yet("create-report-txt"))
    });
}
