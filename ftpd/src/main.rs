fn main() {
    std::process::exit(ftpd::main());
}
