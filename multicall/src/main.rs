fn main() {
    pbulk::programs::multicall();
}
