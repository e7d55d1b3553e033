fn main() {
    pbulk::cli::main("scan", |_| Err(pbulk::cli::Error::not_yet("scan")));
}
