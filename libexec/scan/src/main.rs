fn main() {
    pbulk::programs::main("scan");
}
