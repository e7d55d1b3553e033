fn main() {
    pbulk::programs::main("create-broken-graph");
}
