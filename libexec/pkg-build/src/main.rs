fn main() {
    pbulk::cli::main("pkg-build", pbulk::pkgbuild::pkg_build::main);
}
