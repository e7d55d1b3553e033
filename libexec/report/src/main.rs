fn main() {
    pbulk::cli::main("report", |_| Err(pbulk::cli::Error::not_yet("report")));
}
