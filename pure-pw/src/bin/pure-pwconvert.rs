fn main() {
    std::process::exit(pure_pw::pwconvert::main());
}
