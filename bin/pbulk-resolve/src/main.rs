fn main() {
    pbulk::programs::main("pbulk-resolve");
}
