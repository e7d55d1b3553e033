fn main() {
    pbulk::cli::main("build", |_| Err(pbulk::cli::Error::not_yet("build")));
}
