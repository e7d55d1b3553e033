fn main() {
    pbulk::programs::main("client-prepare");
}
