fn main() {
    pbulk::programs::main("pbulk-scan");
}
