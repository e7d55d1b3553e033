fn main() {
    pbulk::cli::main("create-report-txt", pbulk::report::create_report_txt_main);
}
