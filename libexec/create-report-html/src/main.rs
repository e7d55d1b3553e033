fn main() {
    pbulk::cli::main("create-report-html", |_| {
        Err(pbulk::cli::Error::not_yet("create-report-html"))
    });
}
