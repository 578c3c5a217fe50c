//! The command line, as Pure-FTPd's pure-quotacheck reads it (`getopt "d:g:u:h"`):
//! a mistake prints getopt's message and the help, status 0; then its checks in its
//! order and with its statuses (255 for the path, 254 for the ids).

use std::ffi::OsString;
use std::path::PathBuf;

use nix::unistd::{Group, Uid, User};
use pureftpd_cli::{Exit, Getopt, Item, Opt};

const HELP: &str = "\nUsage:\n\npure-quotacheck -u <user> -d <directory> [-g <group>]\n\n\
-d <directory>: start from this directory\n\
-g <group/gid>: scan the directory under this gid\n\
-h: help\n\
-u <user/uid>: scan the directory under this uid\n\n";

const TABLE: [Opt; 4] = [
    Opt::short('d', true),
    Opt::short('g', true),
    Opt::short('u', true),
    Opt::short('h', false),
];

/// Whose tree, and where.
pub(crate) struct Request {
    pub(crate) uid: u32,
    pub(crate) gid: u32,
    pub(crate) directory: PathBuf,
    /// The account's name, for its supplementary groups, when the system knows it.
    pub(crate) name: Option<String>,
}

/// Parses the arguments after the program name; `program` starts getopt's messages.
pub(crate) fn parse(
    program: &str,
    args: impl IntoIterator<Item = OsString>,
) -> Result<Request, Exit> {
    let mut getopt = Getopt::short_only(&TABLE, args);
    let (mut uid, mut gid, mut name, mut directory) = (None, None, None, None);
    let mut any = false;
    loop {
        let (letter, value) = match getopt.next() {
            Ok(Some(Item::Opt { letter, value })) => (letter, value.unwrap_or_default()),
            Ok(None) => break,
            Ok(Some(Item::Operand(_))) => continue,
            Err(problem) => return Err(Exit::help(HELP).after(problem.message(program))),
        };
        any = true;
        let value = value.to_string_lossy().into_owned();
        match letter {
            'h' => return Err(Exit::help(HELP)),
            'u' => match value.parse::<u32>() {
                Ok(number) => uid = Some(number),
                // A name also gives the group, as in Pure-FTPd.
                Err(_) => match User::from_name(&value).ok().flatten() {
                    Some(user) => {
                        uid = Some(user.uid.as_raw());
                        gid = gid.or(Some(user.gid.as_raw()));
                        name = Some(user.name);
                    }
                    None => uid = Some(0),
                },
            },
            'g' => {
                if gid.is_some() {
                    return Err(Exit::error("You already gave a gid", 255));
                }
                gid = Some(group_id(&value).unwrap_or(0));
            }
            'd' => {
                if let Some(previous) = &directory {
                    let previous: &PathBuf = previous;
                    return Err(Exit::error(
                        format!("Already one startpath: [{}]", previous.display()),
                        255,
                    ));
                }
                directory = Some(PathBuf::from(value));
            }
            _ => unreachable!("every letter of TABLE is handled"),
        }
    }
    if !any {
        return Err(Exit::help(HELP));
    }
    let Some(directory) = directory else {
        return Err(Exit::error("Missing path", 255));
    };
    let Some(uid) = uid.filter(|&uid| uid > 0) else {
        return Err(Exit::error(
            "Invalid/insecure/missing uid - must be > 0",
            254,
        ));
    };
    let Some(gid) = gid.filter(|&gid| gid > 0) else {
        return Err(Exit::error(
            "Invalid/insecure/missing gid - must be > 0",
            254,
        ));
    };
    let name = name.or_else(|| {
        User::from_uid(Uid::from_raw(uid))
            .ok()
            .flatten()
            .map(|u| u.name)
    });
    Ok(Request {
        uid,
        gid,
        directory,
        name,
    })
}

fn group_id(value: &str) -> Option<u32> {
    value.parse().ok().or_else(|| {
        Group::from_name(value)
            .ok()
            .flatten()
            .map(|g| g.gid.as_raw())
    })
}
