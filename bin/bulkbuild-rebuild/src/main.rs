fn main() {
    pbulk::cli::main("bulkbuild-rebuild", |_| {
        Err(pbulk::cli::Error::not_yet("bulkbuild-rebuild"))
    });
}
