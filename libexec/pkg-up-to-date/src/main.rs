fn main() {
    pbulk::cli::main("pkg-up-to-date", pbulk::pkgbuild::up_to_date::main);
}
