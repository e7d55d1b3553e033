fn main() {
    pbulk::programs::main("client-clean");
}
