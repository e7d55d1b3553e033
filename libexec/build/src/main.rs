fn main() {
    pbulk::programs::main("build");
}
