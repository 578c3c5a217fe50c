fn main() {
    std::process::exit(pure_pw::main(std::env::args_os()));
}
