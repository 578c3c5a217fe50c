fn main() {
    pureftpd_cli::answer_version("pure-pw");
    std::process::exit(pure_pw::main(std::env::args_os()));
}
