//! Directory listings as Pure-FTPd writes them: `ls -l` lines for LIST and STAT, bare
//! names for NLST, facts for MLSD and MLST, and LIST's options and glob patterns.

use std::collections::HashMap;
use std::io;
use std::os::fd::OwnedFd;

use jiff::Timestamp;
use jiff::tz::TimeZone;
use nix::sys::stat::{FileStat, SFlag};

use super::Vfs;

/// LIST's options (`-a -C -d -F -l -r -R -S -t`, and `-1`).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[allow(clippy::struct_excessive_bools)]
pub struct ListOptions {
    /// `-a`: dot files, `.` and `..` too.
    pub all: bool,
    /// `-C`: names in columns.
    pub columns: bool,
    /// `-d`: a directory itself, not its contents.
    pub directory: bool,
    /// `-F`: `/`, `@`, `*` after names.
    pub classify: bool,
    /// `-l`: long lines (LIST's default).
    pub long: bool,
    /// `-r`: reverse order.
    pub reverse: bool,
    /// `-R`: recursive.
    pub recursive: bool,
    /// `-S`: by size, largest first.
    pub by_size: bool,
    /// `-t`: by time, newest first.
    pub by_time: bool,
}

impl ListOptions {
    /// The `226-Options: ...` text, or `None` when no option is in effect.
    #[must_use]
    pub fn summary(&self) -> Option<String> {
        let flags = [
            (self.all, "-a "),
            (self.columns, "-C "),
            (self.directory, "-d "),
            (self.classify, "-F "),
            (self.long, "-l "),
            (self.reverse, "-r "),
            (self.recursive, "-R "),
            (self.by_size, "-S "),
            (self.by_time, "-t"),
        ];
        let text: String = flags
            .iter()
            .filter(|(on, _)| *on)
            .map(|(_, f)| *f)
            .collect();
        (!text.is_empty()).then(|| format!("Options: {text}"))
    }
}

/// Splits LIST's argument into options and patterns: words starting with `-` are
/// options; other words are patterns, where `\` escapes a space, `\` or a brace.
#[must_use]
pub fn parse_list_args(arg: &[u8], mut options: ListOptions) -> (ListOptions, Vec<Vec<u8>>) {
    let mut patterns = Vec::new();
    for word in split_words(arg) {
        if word.starts_with(b"-") && word.len() > 1 {
            for &flag in &word[1..] {
                match flag {
                    b'a' => options.all = true,
                    b'C' => {
                        options.columns = true;
                        options.long = false;
                    }
                    b'd' => options.directory = true,
                    b'F' => options.classify = true,
                    b'l' => {
                        options.long = true;
                        options.columns = false;
                    }
                    b'1' => {
                        options.long = false;
                        options.columns = false;
                    }
                    b'r' => options.reverse = true,
                    b'R' => options.recursive = true,
                    b'S' => options.by_size = true,
                    b't' => options.by_time = true,
                    _ => {}
                }
            }
        } else {
            patterns.push(word);
        }
    }
    (options, patterns)
}

fn split_words(arg: &[u8]) -> Vec<Vec<u8>> {
    let mut words = Vec::new();
    let mut word = Vec::new();
    let mut bytes = arg.iter().copied();
    while let Some(b) = bytes.next() {
        match b {
            b'\\' => match bytes.next() {
                Some(escaped @ (b' ' | b'\\' | b'{' | b'}')) => word.push(escaped),
                Some(other) => {
                    word.push(b'\\');
                    word.push(other);
                }
                None => word.push(b'\\'),
            },
            b' ' => {
                if !word.is_empty() {
                    words.push(std::mem::take(&mut word));
                }
            }
            _ => word.push(b),
        }
    }
    if !word.is_empty() {
        words.push(word);
    }
    words
}

/// What a listing needs besides the file system.
#[derive(Debug, Clone)]
pub struct Context {
    /// Server local time zone (loaded before any chroot).
    pub tz: TimeZone,
    /// The time now, to choose between `HH:MM` and the year.
    pub now: Timestamp,
    /// User names by uid, when they may be shown.
    pub user_names: HashMap<u32, String>,
    /// Group names by gid.
    pub group_names: HashMap<u32, String>,
    /// Whether MLSx facts include `UNIX.uid` and `UNIX.gid` (not for anonymous users).
    pub show_ids: bool,
}

/// One entry to show.
#[derive(Debug, Clone)]
pub struct Entry {
    /// Its name as listed.
    pub name: Vec<u8>,
    /// `lstat` of it.
    pub stat: FileStat,
    /// Its target, for a symbolic link.
    pub link: Option<Vec<u8>>,
}

impl Entry {
    /// Reads an entry's metadata.
    ///
    /// # Errors
    /// The entry vanished or cannot be reached.
    pub fn load(vfs: &Vfs, path: &[u8], name: Vec<u8>) -> io::Result<Self> {
        // `.` and `..` describe directories themselves (and `/` has no parent to lstat in).
        if name == b"." || name == b".." || path == b"/" {
            return Ok(Self {
                stat: vfs.stat(path)?,
                name,
                link: None,
            });
        }
        let stat = vfs.lstat(path)?;
        let link = (kind(&stat) == SFlag::S_IFLNK)
            .then(|| vfs.readlink(path).ok())
            .flatten();
        Ok(Self { name, stat, link })
    }

    /// Reads the metadata of `name`, an entry of the open directory `dir` (whose path is
    /// `dir_path`): one `fstatat`, no path resolution. `.` and `..` are described through
    /// the root-confined path, so that `..` of the root is the root.
    ///
    /// # Errors
    /// The entry vanished.
    pub fn load_in(vfs: &Vfs, dir: &OwnedFd, dir_path: &[u8], name: Vec<u8>) -> io::Result<Self> {
        if name == b"." || name == b".." {
            let path = super::normalize(dir_path, b"/", &name);
            return Self::load(vfs, &path, name);
        }
        let stat = nix::sys::stat::fstatat(
            dir,
            name.as_slice(),
            nix::fcntl::AtFlags::AT_SYMLINK_NOFOLLOW,
        )
        .map_err(|e| io::Error::from_raw_os_error(e as i32))?;
        let link = (kind(&stat) == SFlag::S_IFLNK)
            .then(|| nix::fcntl::readlinkat(dir, name.as_slice()).ok())
            .flatten()
            .map(|target| std::os::unix::ffi::OsStrExt::as_bytes(target.as_os_str()).to_vec());
        Ok(Self { name, stat, link })
    }

    /// Only regular files, directories and symbolic links are listed, and only under a
    /// name without control characters (which could forge listing lines).
    #[must_use]
    pub fn listable(&self) -> bool {
        matches!(
            kind(&self.stat),
            SFlag::S_IFREG | SFlag::S_IFDIR | SFlag::S_IFLNK
        ) && printable_name(&self.name)
    }

    /// Whether it is a directory (not following links).
    #[must_use]
    pub fn is_dir(&self) -> bool {
        kind(&self.stat) == SFlag::S_IFDIR
    }

    /// Whether it is a symbolic link.
    #[must_use]
    pub fn is_link(&self) -> bool {
        kind(&self.stat) == SFlag::S_IFLNK
    }

    /// `-b` (Pure-FTPd's compatibility with broken clients, `follow`): a link that
    /// leads to a file or a directory inside the root is shown as what it leads to; one
    /// that leads nowhere stays a link. `path` gives the link's own path from its name,
    /// made only for a link that is followed (big listings have no path to spare).
    #[must_use]
    pub fn through_link(
        self,
        follow: bool,
        vfs: &Vfs,
        path: impl FnOnce(&[u8]) -> Vec<u8>,
    ) -> Self {
        if !follow || !self.is_link() {
            return self;
        }
        match vfs.stat(&path(&self.name)) {
            Ok(target) if kind(&target) != SFlag::S_IFLNK => Self {
                stat: target,
                link: None,
                ..self
            },
            _ => self,
        }
    }
}

fn kind(stat: &FileStat) -> SFlag {
    SFlag::from_bits_truncate(stat.st_mode & SFlag::S_IFMT.bits())
}

/// Whether a name may appear in a listing: no control characters.
#[must_use]
pub fn printable_name(name: &[u8]) -> bool {
    !name.iter().any(|&b| is_control(b))
}

/// A control character: C0 or DEL.
fn is_control(byte: u8) -> bool {
    byte < 0x20 || byte == 0x7f
}

/// `drwxr-xr-x`.
#[must_use]
pub fn mode_string(mode: u32) -> String {
    let kind = match SFlag::from_bits_truncate(mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFDIR => 'd',
        SFlag::S_IFLNK => 'l',
        SFlag::S_IFCHR => 'c',
        SFlag::S_IFBLK => 'b',
        SFlag::S_IFIFO => 'p',
        SFlag::S_IFSOCK => 's',
        _ => '-',
    };
    let bit = |mask: u32, c: char| if mode & mask != 0 { c } else { '-' };
    let special = |exec: u32, special: u32, set: char, unset: char| match (
        mode & exec != 0,
        mode & special != 0,
    ) {
        (true, true) => set,
        (false, true) => unset,
        (true, false) => 'x',
        (false, false) => '-',
    };
    [
        kind,
        bit(0o400, 'r'),
        bit(0o200, 'w'),
        special(0o100, 0o4000, 's', 'S'),
        bit(0o040, 'r'),
        bit(0o020, 'w'),
        special(0o010, 0o2000, 's', 'S'),
        bit(0o004, 'r'),
        bit(0o002, 'w'),
        special(0o001, 0o1000, 't', 'T'),
    ]
    .iter()
    .collect()
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const HALF_YEAR_SECS: i64 = 180 * 24 * 3600;

/// One `ls -l` line, CRLF-terminated.
#[must_use]
pub fn long_line(entry: &Entry, ctx: &Context) -> Vec<u8> {
    let st = &entry.stat;
    let name_of = |names: &HashMap<u32, String>, id: u32| {
        names.get(&id).cloned().unwrap_or_else(|| id.to_string())
    };
    let owner = name_of(&ctx.user_names, st.st_uid);
    let group = name_of(&ctx.group_names, st.st_gid);
    let size = u64::try_from(st.st_size).unwrap_or(0);
    let size = if size >= 10_000_000_000 {
        format!("{size:18}")
    } else {
        format!("{size:10}")
    };
    let mtime = Timestamp::from_second(st.st_mtime).unwrap_or(Timestamp::UNIX_EPOCH);
    let local = mtime.to_zoned(ctx.tz.clone());
    let month = MONTHS[usize::try_from(local.month() - 1).unwrap_or(0)];
    let recent = ctx.now.as_second() - st.st_mtime < HALF_YEAR_SECS;
    let when = if recent {
        format!("{:02}:{:02}", local.hour(), local.minute())
    } else {
        format!("{:5}", local.year())
    };
    let mut line = format!(
        "{} {:4} {owner:<10} {group:<10} {size} {month} {:2} {when} ",
        mode_string(st.st_mode),
        st.st_nlink,
        local.day()
    )
    .into_bytes();
    line.extend_from_slice(&entry.name);
    if let Some(target) = &entry.link {
        line.extend_from_slice(b" -> ");
        // A link holds any bytes: its control characters are shown as `_`, so that a
        // line break cannot forge listing lines, or reply lines under STAT. (Pure-FTPd
        // writes them as they are.)
        line.extend(target.iter().map(|&b| if is_control(b) { b'_' } else { b }));
    }
    line.extend_from_slice(b"\r\n");
    line
}

/// `-F`'s suffix for an entry, from its own mode (a symbolic link gets `@`).
#[must_use]
pub fn classify_suffix(entry: &Entry) -> &'static str {
    classify_mode(entry.stat.st_mode)
}

/// `-F`'s suffix for a mode: `/` for a directory, `@` for a symbolic link, `*` for a
/// file its owner or everyone may run. Pure-FTPd tests the mode against `010101`: the
/// owner's and the others' execute bits, not the group's (a `0710` file gets `*`, a
/// `0070` one nothing); the FIFO bit in that mask never applies, FIFOs are not listed.
#[must_use]
pub fn classify_mode(mode: u32) -> &'static str {
    match SFlag::from_bits_truncate(mode & SFlag::S_IFMT.bits()) {
        SFlag::S_IFDIR => "/",
        SFlag::S_IFLNK => "@",
        _ if mode & 0o101 != 0 => "*",
        _ => "",
    }
}

/// MLSD/MLST facts and the name: `type=file;size=6;modify=...; name`.
#[must_use]
pub fn facts(entry: &Entry, ctx: &Context, role: Role) -> Vec<u8> {
    let st = &entry.stat;
    let size = u64::try_from(st.st_size).unwrap_or(0);
    let kind_fact = match (role, kind(st)) {
        (Role::Current, _) => "type=cdir;".to_string(),
        (Role::Parent, _) => "type=pdir;".to_string(),
        (Role::Plain, SFlag::S_IFDIR) => "type=dir;".to_string(),
        (Role::Plain, SFlag::S_IFREG) => "type=file;".to_string(),
        // As Pure-FTPd: the target is shown only if it cannot end the fact or the line
        // (no `;`, and here no control character at all); else the type alone. Under
        // MLST the line is a reply line.
        (Role::Plain, SFlag::S_IFLNK) => match entry
            .link
            .as_deref()
            .filter(|target| !target.iter().any(|&b| b == b';' || is_control(b)))
        {
            Some(target) => format!("type=OS.unix=slink:{};", String::from_utf8_lossy(target)),
            None => "type=OS.unix=symlink;".to_string(),
        },
        _ => "type=unknown;".to_string(),
    };
    let size_fact = if kind(st) == SFlag::S_IFDIR {
        format!("sizd={size};")
    } else {
        format!("size={size};")
    };
    let modify = Timestamp::from_second(st.st_mtime)
        .unwrap_or(Timestamp::UNIX_EPOCH)
        .strftime("%Y%m%d%H%M%S");
    let ids = if ctx.show_ids {
        format!("UNIX.uid={};UNIX.gid={};", st.st_uid, st.st_gid)
    } else {
        String::new()
    };
    let mut line = format!(
        "{kind_fact}{size_fact}modify={modify};UNIX.mode=0{:o};{ids}unique={:x}g{:x}; ",
        st.st_mode & 0o7777,
        st.st_dev,
        st.st_ino
    )
    .into_bytes();
    line.extend_from_slice(&entry.name);
    line
}

/// Which MLSD entry type a directory entry gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `.`: `type=cdir`.
    Current,
    /// `..`: `type=pdir`.
    Parent,
    /// Any other entry.
    Plain,
}

impl Role {
    /// The role of a directory entry's name.
    #[must_use]
    pub fn of(name: &[u8]) -> Self {
        match name {
            b"." => Self::Current,
            b".." => Self::Parent,
            _ => Self::Plain,
        }
    }
}

pub use super::glob::{glob_match, has_wildcards};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_read_like_ls() {
        assert_eq!(mode_string(0o100_644), "-rw-r--r--");
        assert_eq!(mode_string(0o040_755), "drwxr-xr-x");
        assert_eq!(mode_string(0o120_777), "lrwxrwxrwx");
        assert_eq!(mode_string(0o104_755), "-rwsr-xr-x");
        assert_eq!(mode_string(0o041_777), "drwxrwxrwt");
        assert_eq!(mode_string(0o102_640), "-rw-r-S---");
    }

    #[test]
    fn list_arguments() {
        let (o, p) = parse_list_args(
            b"-la  dir\\ with\\ spaces *.txt",
            ListOptions {
                long: true,
                ..Default::default()
            },
        );
        assert!(o.all && o.long);
        assert_eq!(p, vec![b"dir with spaces".to_vec(), b"*.txt".to_vec()]);
        assert_eq!(o.summary().unwrap(), "Options: -a -l ");
        let (o, _) = parse_list_args(b"-t", ListOptions::default());
        assert_eq!(o.summary().unwrap(), "Options: -t");
    }
}
