fn main() {
    pbulk::cli::main("bulkbuild", |_| {
        Err(pbulk::cli::Error::not_yet("bulkbuild"))
    });
}
