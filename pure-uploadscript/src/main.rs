//! pure-uploadscript: reads the upload pipe the server writes with `-o` and runs
//! `program <absolute path>` for each uploaded file, one at a time, with Pure-FTPd's
//! `UPLOAD_*` environment. Options as Pure-FTPd's: `-r program` (required), `-B`,
//! `-p pidfile`, `-u uid`, `-g gid`, `-h`, and their long forms.
//!
//! Differences: the pipe is created if the server has not made it yet (Pure-FTPd's
//! waits up to 30 s for it); it is opened read-write, so a server restart never ends
//! the loop; it runs without root when neither `-u` nor `-g` is given.

mod options;
mod run;

use std::fs::OpenOptions;
use std::os::unix::fs::OpenOptionsExt;

use pureftpd_bridge::daemon::log::Log;
use pureftpd_bridge::daemon::setup;
use pureftpd_bridge::upload;

fn main() {
    pureftpd_cli::answer_version("pure-uploadscript");
    let mut args = std::env::args_os();
    let program = args.next().map_or_else(
        || "pure-uploadscript".to_string(),
        |p| p.to_string_lossy().into_owned(),
    );
    std::process::exit(serve(&program, args));
}

fn serve(program: &str, args: impl IntoIterator<Item = std::ffi::OsString>) -> i32 {
    let options = match options::parse(program, args) {
        Ok(options) => options,
        Err(exit) => return exit.report(),
    };
    if (options.uid.is_some() || options.gid.is_some()) && !nix::unistd::geteuid().is_root() {
        eprintln!("Sorry, but you have to be root to run this program with -u or -g");
        return 255;
    }
    if options.daemonize && !setup::daemonize() {
        return 0;
    }
    // The program gets stdin, stdout and stderr, nothing this process inherited.
    pureftpd_os::close_on_exec_above_stderr();
    let log = Log::new("pure-uploadscript", !options.daemonize);
    let path = upload::pipe_path();
    if !path.exists()
        && let Err(e) = upload::prepare_pipe(&path)
    {
        log.error(&format!("Unable to create {}: {e}", path.display()));
        return 1;
    }
    let pipe = match OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nix::fcntl::OFlag::O_NOFOLLOW.bits())
        .open(&path)
    {
        Ok(pipe) => pipe,
        Err(e) => {
            log.error(&format!("Unable to open {}: {e}", path.display()));
            return 1;
        }
    };
    if let Err(message) = upload::check_opened(&pipe, &path) {
        log.error(&message);
        return 1;
    }
    setup::write_pid_file(&options.pid_file, &log);
    if let Err(e) = setup::drop_privileges(options.uid, options.gid) {
        log.error(&format!("Unable to drop privileges: {e}"));
        let _ = std::fs::remove_file(&options.pid_file);
        return 1;
    }
    let _ = std::env::set_current_dir("/");
    if let Err(e) = setup::stop_on_signals(vec![options.pid_file.clone()]) {
        log.error(&format!("Unable to handle signals: {e}"));
        return 1;
    }
    run::forever(pipe, &options.program, &log);
    let _ = std::fs::remove_file(&options.pid_file);
    1
}
