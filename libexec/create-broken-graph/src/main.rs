fn main() {
    pbulk::cli::main("create-broken-graph", |_| {
        Err(pbulk::cli::Error::not_yet("create-broken-graph"))
    });
}
