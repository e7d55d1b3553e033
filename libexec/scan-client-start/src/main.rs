fn main() {
    pbulk::programs::main("scan-client-start");
}
