fn main() {
    pbulk::cli::main("compute-packages", |_| {
        Err(pbulk::cli::Error::not_yet("compute-packages"))
    });
}
