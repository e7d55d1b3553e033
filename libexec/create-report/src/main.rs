fn main() {
    pbulk::programs::main("create-report");
}
