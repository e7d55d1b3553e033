fn main() {
    pbulk::cli::main("upload", |_| Err(pbulk::cli::Error::not_yet("upload")));
}
