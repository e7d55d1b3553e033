fn main() {
    pbulk::programs::main("upload");
}
