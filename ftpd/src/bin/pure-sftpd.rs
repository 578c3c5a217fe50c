//! `pure-sftpd`: SFTP for the accounts `pure-ftpd` serves (see `ftpd::sftp`).

fn main() {
    pureftpd_cli::answer_version("pure-sftpd");
    std::process::exit(ftpd::sftp::main());
}
