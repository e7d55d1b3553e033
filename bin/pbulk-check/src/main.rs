fn main() {
    pbulk::programs::main("pbulk-check");
}
