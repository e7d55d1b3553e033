fn main() {
    pbulk::programs::main("pbulk-build");
}
