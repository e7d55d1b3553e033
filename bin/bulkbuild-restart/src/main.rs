fn main() {
    pbulk::cli::main("bulkbuild-restart", |_| {
        Err(pbulk::cli::Error::not_yet("bulkbuild-restart"))
    });
}
