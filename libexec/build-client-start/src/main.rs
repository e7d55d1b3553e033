fn main() {
    pbulk::programs::main("build-client-start");
}
