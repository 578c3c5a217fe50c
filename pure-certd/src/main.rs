//! pure-certd: see `pureftpd_bridge::daemon`.

fn main() {
    pureftpd_cli::answer_version("pure-certd");
    let args = std::env::args_os();
    std::process::exit(pureftpd_bridge::daemon::main(
        &pureftpd_bridge::daemon::CERTD,
        args,
    ));
}
