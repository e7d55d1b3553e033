fn main() {
    pbulk::cli::main("create-report", pbulk::report::create_report_main);
}
