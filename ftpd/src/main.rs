fn main() {
    pureftpd_cli::answer_version("pure-ftpd");
    std::process::exit(ftpd::main());
}
