fn main() {
    pbulk::programs::main("pkg-up-to-date");
}
