fn main() {
    pbulk::programs::main("pkg-build");
}
