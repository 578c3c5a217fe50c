fn main() {
    pureftpd_cli::answer_version("pure-pwconvert");
    std::process::exit(pure_pw::pwconvert::main());
}
