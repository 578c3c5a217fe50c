fn main() {
    pureftpd_cli::answer_version("pure-mrtginfo");
    let args: Vec<_> = std::env::args_os().skip(1).collect();
    std::process::exit(pure_helpers::mrtginfo::main(&args));
}
