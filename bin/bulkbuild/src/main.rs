fn main() {
    pbulk::programs::main("bulkbuild");
}
