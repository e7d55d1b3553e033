fn main() {
    pbulk::programs::main("bulkbuild-restart");
}
