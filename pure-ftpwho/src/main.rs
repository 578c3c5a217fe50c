fn main() {
    pureftpd_cli::answer_version("pure-ftpwho");
    std::process::exit(pure_ftpwho::main(std::env::args_os().skip(1)));
}
