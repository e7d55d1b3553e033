fn main() {
    pbulk::programs::main("pre-build");
}
