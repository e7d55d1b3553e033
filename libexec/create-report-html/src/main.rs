fn main() {
    pbulk::cli::main("create-report-html", pbulk::report::create_report_html_main);
}
