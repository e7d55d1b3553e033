fn main() {
    pbulk::cli::main(
        "create-broken-graph",
        pbulk::report::create_broken_graph_main,
    );
}
