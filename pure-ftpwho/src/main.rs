fn main() {
    std::process::exit(pure_ftpwho::main(std::env::args_os().skip(1)));
}
