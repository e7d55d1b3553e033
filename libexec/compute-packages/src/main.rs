fn main() {
    pbulk::programs::main("compute-packages");
}
