fn main() {
    pbulk::programs::main("report");
}
