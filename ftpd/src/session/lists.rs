//! LIST, NLST, MLSD, MLST and STAT.

use std::ops::ControlFlow;

use pureftpd_proto::Reply;

use super::transfer::Job;
use super::{LoggedIn, Outcome, Session};
use crate::messages as msg;
use crate::vfs::glob::{self, Budget, OverBudget};
use crate::vfs::listing::{self, Context, Entry, ListOptions, Role};
use crate::vfs::{DirEntries, Vfs, normalize};

/// A listing in the making, with the `-L` caps.
struct Lister<'a> {
    vfs: &'a Vfs,
    ctx: &'a Context,
    options: ListOptions,
    show_dots: bool,
    /// `.` and `..` under `-a` when dot files are hidden: under `-X` an account still
    /// sees them, as in Pure-FTPd (anonymous sessions without `-z` see none).
    show_dot_dirs: bool,
    max_entries: usize,
    max_depth: u32,
    /// `-b`: links shown as what they lead to.
    through_links: bool,
    count: usize,
    truncated: bool,
    out: Vec<u8>,
    /// Lines for the final reply (patterns over the globbing budget).
    notes: Vec<Vec<u8>>,
}

impl Lister<'_> {
    fn full(&mut self) -> bool {
        if self.count >= self.max_entries {
            self.truncated = true;
        }
        self.truncated
    }

    /// The entries of a directory to show, sorted as the options say. Sorted by name
    /// (the default), only the entries that fit under the `-L` cap are examined.
    fn entries(&self, dir: &[u8]) -> Vec<Entry> {
        let Ok((fd, mut names)) = self.vfs.read_dir(dir) else {
            return Vec::new();
        };
        names.retain(|name| {
            let dot_dir = self.show_dot_dirs && (name == b"." || name == b"..");
            !name.starts_with(b".") || (self.options.all && (self.show_dots || dot_dir))
        });
        let load = |name| {
            Entry::load_in(self.vfs, &fd, dir, name)
                .ok()
                .filter(Entry::listable)
        };
        // -b: links are shown as what they lead to, once sorted as the links they are
        // (Pure-FTPd sorts on `lstat`).
        let shown =
            |entry: Entry| entry.through_link(self.through_links, self.vfs, |name| join(dir, name));
        if self.options.by_time || self.options.by_size {
            let mut entries: Vec<Entry> = names.into_iter().filter_map(load).collect();
            self.sort_by_time_or_size(&mut entries);
            return entries.into_iter().map(shown).collect();
        }
        names.sort();
        if self.options.reverse {
            names.reverse();
        }
        // One more than fits, so that the truncation is noticed.
        let wanted = self
            .max_entries
            .saturating_sub(self.count)
            .saturating_add(1);
        names
            .into_iter()
            .filter_map(load)
            .take(wanted)
            .map(shown)
            .collect()
    }

    /// `-t` (newest first) or `-S` (largest first), `-r` reversing the comparison.
    /// Entries that tie keep the directory's order, `-r` or not, as in Pure-FTPd (whose
    /// `qsort` is glibc's merge sort, a stable one).
    fn sort_by_time_or_size(&self, entries: &mut [Entry]) {
        let key = |entry: &Entry| {
            if self.options.by_time {
                entry.stat.st_mtime
            } else {
                entry.stat.st_size
            }
        };
        if self.options.reverse {
            entries.sort_by_key(key);
        } else {
            entries.sort_by_key(|entry| std::cmp::Reverse(key(entry)));
        }
    }

    fn emit(&mut self, entries: &[Entry], named: Named) {
        if self.options.columns {
            self.emit_columns(entries);
            return;
        }
        for entry in entries {
            if self.full() {
                return;
            }
            if self.options.long {
                let mut line = listing::long_line(entry, self.ctx);
                if self.options.classify {
                    // Before the line's CRLF: after the name, or for a symbolic link
                    // after `-> target`, the suffix of what it leads to (`link -> sub/`),
                    // nothing when it leads nowhere, as Pure-FTPd's long lines do.
                    let suffix = if entry.is_link() {
                        let path = named.path(self.vfs, &entry.name);
                        self.vfs
                            .stat(&path)
                            .map_or("", |target| listing::classify_mode(target.st_mode))
                    } else {
                        listing::classify_suffix(entry)
                    };
                    let end = line.len() - 2;
                    line.splice(end..end, suffix.bytes());
                }
                self.out.extend_from_slice(&line);
            } else {
                self.out.extend_from_slice(&entry.name);
                if self.options.classify {
                    self.out
                        .extend_from_slice(listing::classify_suffix(entry).as_bytes());
                }
                self.out.extend_from_slice(b"\r\n");
            }
            self.count += 1;
        }
    }

    /// `-C`: names in tab-padded columns, 75 characters wide.
    fn emit_columns(&mut self, entries: &[Entry]) {
        let names: Vec<Vec<u8>> = entries
            .iter()
            .take(self.max_entries.saturating_sub(self.count))
            .map(|e| {
                let mut name = e.name.clone();
                if self.options.classify {
                    name.extend_from_slice(listing::classify_suffix(e).as_bytes());
                }
                name
            })
            .collect();
        // Pure-FTPd's column: the longest name rounded up past the next multiple of 8
        // (7 -> 8, 8 -> 16, 9 -> 16).
        let width = (names.iter().map(Vec::len).max().unwrap_or(0) | 7) + 1;
        let per_line = (75 / width).max(1);
        let rows = names.len().div_ceil(per_line);
        for row in 0..rows {
            let mut column = row;
            while column < names.len() {
                let name = &names[column];
                self.out.extend_from_slice(name);
                column += rows;
                if column < names.len() {
                    let pad = (width - name.len()).div_ceil(8);
                    self.out.extend(std::iter::repeat_n(b'\t', pad));
                }
            }
            self.out.extend_from_slice(b"\r\n");
        }
        self.count += names.len();
        if names.len() < entries.len() {
            self.truncated = true;
        }
    }

    /// Lists a directory's contents, and with `-R` those of its subdirectories.
    fn directory(&mut self, dir: &[u8], shown_as: &[u8], depth: u32) {
        let entries = self.entries(dir);
        self.emit(&entries, Named::In(dir));
        if !self.options.recursive || depth >= self.max_depth {
            return;
        }
        for entry in entries
            .iter()
            .filter(|e| e.is_dir() && e.name != b"." && e.name != b"..")
        {
            if self.full() {
                return;
            }
            let sub = join(dir, &entry.name);
            // Pure-FTPd's heading: what the client named, `/`, the name, even when what
            // it named ends with `/` (`sub//deep:`, `//sub:`), and `./` for the current
            // directory.
            let sub_shown = [shown_as, b"/", &entry.name].concat();
            self.out.extend_from_slice(b"\r\n\r\n");
            self.out.extend_from_slice(&sub_shown);
            self.out.extend_from_slice(b":\r\n\r\n");
            self.directory(&sub, &sub_shown, depth + 1);
        }
    }

    /// LIST's arguments, each a path or a glob pattern, one after the other as Pure-FTPd
    /// takes them: an argument's files in the order matched, then its directories'
    /// contents, then the next argument.
    fn patterns(&mut self, patterns: &[Vec<u8>]) {
        // Directories get a heading once the listing holds more than one thing: as soon
        // as there is a second argument, or an argument matched several names.
        let mut several = patterns.len() > 1;
        for pattern in patterns {
            let targets = if glob::has_wildcards(pattern) {
                match self.glob(pattern) {
                    Ok(found) => found,
                    Err(OverBudget) => {
                        self.notes.extend(msg::glob_no_memory(pattern));
                        continue;
                    }
                }
            } else {
                let literal = glob::unescape(pattern);
                vec![(self.vfs.resolve(&literal), literal)]
            };
            several |= targets.len() > 1;
            self.argument(targets, several);
            if self.full() {
                return;
            }
        }
    }

    /// What one argument named or matched.
    fn argument(&mut self, targets: Vec<Found>, several: bool) {
        let mut files = Vec::new();
        let mut dirs = Vec::new();
        for (path, shown) in targets {
            // As Pure-FTPd's: a name is listed only if what it leads to exists inside
            // the root (a dangling link, or one out of the root, is left out), and a
            // link to a directory lists the directory.
            let Ok(stat) = self.vfs.stat(&path) else {
                continue;
            };
            let is_dir = stat.st_mode & 0o170_000 == 0o040_000;
            if is_dir && !self.options.directory {
                dirs.push((path, shown));
            } else if let Ok(entry) = Entry::load(self.vfs, &path, shown) {
                files.push(entry.through_link(self.through_links, self.vfs, |_| path.clone()));
            }
        }
        self.emit(&files, Named::ByClient);
        for (path, shown) in &dirs {
            if self.full() {
                return;
            }
            // Pure-FTPd's framing: a blank line before and after each directory's name.
            if several {
                self.out.extend_from_slice(b"\r\n\r\n");
                self.out.extend_from_slice(shown);
                self.out.extend_from_slice(b":\r\n\r\n");
            }
            self.directory(path, shown, 0);
        }
    }

    /// Paths matching a pattern whose components may have wildcards, sorted; over the
    /// budget (see [`glob`]), nothing.
    fn glob(&self, pattern: &[u8]) -> Result<Vec<Found>, OverBudget> {
        let mut budget = Budget::for_pattern(pattern, self.max_entries, self.max_depth)?;
        let absolute = pattern.starts_with(b"/");
        let mut found: Vec<Found> = vec![(
            if absolute {
                b"/".to_vec()
            } else {
                self.vfs.cwd().to_vec()
            },
            if absolute { b"/".to_vec() } else { Vec::new() },
        )];
        let mut expanded = false;
        for part in pattern.split(|&b| b == b'/').filter(|p| !p.is_empty()) {
            let wild = glob::has_wildcards(part);
            let literal = if wild {
                part.to_vec()
            } else {
                glob::unescape(part)
            };
            if expanded && (literal == b"." || literal == b"..") {
                return Ok(Vec::new());
            }
            if wild {
                budget.descend()?;
                expanded = true;
            }
            let mut next = Vec::new();
            for (dir, shown) in &found {
                if !wild {
                    next.push((normalize(dir, b"/", &literal), join_shown(shown, &literal)));
                    continue;
                }
                let Ok((_, mut names)) = self.vfs.read_dir(dir) else {
                    continue;
                };
                budget.read_entries(names.len())?;
                names.sort();
                let matching = names
                    .into_iter()
                    .filter(|n| listing::printable_name(n) && glob::glob_match(part, n));
                for name in matching {
                    next.push((join(dir, &name), join_shown(shown, &name)));
                }
            }
            found = next;
        }
        let mut existing = Vec::with_capacity(found.len());
        for (path, shown) in found {
            budget.matched(path.len() + shown.len())?;
            if self.vfs.lstat(&path).is_ok() {
                existing.push((path, shown));
            }
        }
        Ok(existing)
    }
}

/// How the names of the entries a listing shows lead back to their paths.
#[derive(Clone, Copy)]
enum Named<'d> {
    /// Names of entries of this directory.
    In(&'d [u8]),
    /// Names as the client gave them, or as a pattern of the client's matched them.
    ByClient,
}

impl Named<'_> {
    fn path(self, vfs: &Vfs, name: &[u8]) -> Vec<u8> {
        match self {
            Self::In(dir) => join(dir, name),
            Self::ByClient => vfs.resolve(name),
        }
    }
}

/// A path a pattern matched, and the name the listing shows for it.
type Found = (Vec<u8>, Vec<u8>);

/// `dir/name` as a path.
fn join(dir: &[u8], name: &[u8]) -> Vec<u8> {
    normalize(dir, b"/", name)
}

/// `shown/name` as the client will read it.
/// The directory NLST or MLSD lists, as Pure-FTPd finds it: the argument whole (a name
/// may hold spaces or start with `-`), or, when that is no directory and starts with
/// `-`, what follows its first word and the blanks after it (`NLST -a`, `MLSD -l dir`:
/// `ls` options, skipped, one word of them). Its path, its entries, and the name as
/// given (NLST puts it before each entry). Pure-FTPd drops the first byte of a name
/// after options (`NLST -a sub` lists `ub`, a pointer incremented once too often); ours
/// reads it whole.
fn listed_directory<'a>(vfs: &Vfs, arg: &'a [u8]) -> Option<(Vec<u8>, DirEntries, &'a [u8])> {
    let open = |shown: &'a [u8]| {
        let dir = vfs.resolve(if shown.is_empty() { b"." } else { shown });
        let entries = vfs.dir_entries(&dir).ok()?;
        Some((dir, entries, shown))
    };
    open(arg).or_else(|| {
        let options = arg.strip_prefix(b"-")?;
        let after = options
            .iter()
            .position(u8::is_ascii_whitespace)
            .map_or(&[][..], |end| options[end..].trim_ascii_start());
        open(after)
    })
}

fn join_shown(shown: &[u8], name: &[u8]) -> Vec<u8> {
    if shown.is_empty() {
        name.to_vec()
    } else if shown.ends_with(b"/") {
        [shown, name].concat()
    } else {
        [shown, b"/", name].concat()
    }
}

/// The lines of an NLST or MLSD, up to the `-L` cap. As Pure-FTPd's (and our LIST), the
/// reply says "Output truncated" once the count reaches the cap, for a directory of
/// exactly that many entries too: nothing past the cap is read to tell.
struct Capped {
    max: usize,
    bytes: Vec<u8>,
    count: usize,
}

impl Capped {
    fn new(max: usize) -> Self {
        Self {
            max,
            bytes: Vec::new(),
            count: 0,
        }
    }

    /// One more line, written by `line`; `Break` once the cap is reached.
    fn take(&mut self, line: impl FnOnce(&mut Vec<u8>)) -> ControlFlow<()> {
        if self.count >= self.max {
            return ControlFlow::Break(());
        }
        line(&mut self.bytes);
        self.count += 1;
        if self.count >= self.max {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    }

    fn into_job(self) -> Outcome {
        let summary = if self.count >= self.max {
            msg::output_truncated(self.count)
        } else {
            msg::matches_total(self.count)
        };
        Outcome::Transfer(Box::new(Job::Listing {
            bytes: self.bytes,
            done: Reply::new(226, summary),
        }))
    }
}

impl Session<'_> {
    /// Whether this session may see dot files.
    fn sees_dots(&self, logged: &LoggedIn) -> bool {
        if logged.anonymous() {
            self.config.allow_dot_files
        } else {
            !self.config.prohibit_dot_read
        }
    }

    /// `-L`'s count of entries a listing shows.
    fn max_list_entries(&self) -> usize {
        usize::try_from(self.config.max_list_entries).unwrap_or(usize::MAX)
    }

    fn lister<'a>(&self, logged: &'a LoggedIn, options: ListOptions) -> Lister<'a> {
        Lister {
            vfs: &logged.vfs,
            ctx: &logged.list,
            options,
            show_dots: self.sees_dots(logged),
            show_dot_dirs: !logged.anonymous(),
            max_entries: self.max_list_entries(),
            max_depth: self.config.max_list_depth,
            through_links: self.config.broken_clients,
            count: 0,
            truncated: false,
            out: Vec::new(),
            notes: Vec::new(),
        }
    }

    /// The long listing LIST and STAT share.
    fn long_listing(&mut self, logged: &mut LoggedIn, arg: &[u8]) -> Listed {
        let defaults = ListOptions {
            long: true,
            all: self.config.display_dot_files,
            ..ListOptions::default()
        };
        let (options, patterns) = listing::parse_list_args(arg, defaults);
        let mut lister = self.lister(logged, options);
        if patterns.is_empty() {
            let cwd = logged.vfs.cwd().to_vec();
            if options.directory {
                lister.patterns(&[b".".to_vec()]);
            } else {
                lister.directory(&cwd, b".", 0);
            }
        } else {
            lister.patterns(&patterns);
        }
        Listed {
            bytes: lister.out,
            count: lister.count,
            truncated: lister.truncated,
            options,
            notes: lister.notes,
        }
    }

    pub(super) fn list(&mut self, logged: &mut LoggedIn, arg: &[u8]) -> Outcome {
        self.refresh_clock(logged);
        let listed = self.long_listing(logged, arg);
        let mut done = Reply::empty(226);
        for note in listed.notes {
            done.push(note);
        }
        if let Some(summary) = listed.options.summary() {
            done.push(summary);
        }
        done.push(if listed.truncated {
            msg::output_truncated(listed.count)
        } else {
            msg::matches_total(listed.count)
        });
        Outcome::Transfer(Box::new(Job::Listing {
            bytes: listed.bytes,
            done,
        }))
    }

    pub(super) fn stat(&mut self, logged: &mut LoggedIn, arg: &[u8]) -> Outcome {
        if arg.is_empty() {
            return Reply::new(211, msg::STAT_URL).into();
        }
        self.refresh_clock(logged);
        let listed = self.long_listing(logged, arg);
        let bytes = listed.bytes;
        let body = bytes.strip_suffix(b"\r\n").unwrap_or(&bytes);
        let mut text = b"STAT".to_vec();
        if !body.is_empty() {
            text.extend_from_slice(b"\r\n");
            text.extend_from_slice(body);
        }
        let mut reply = Reply::new(213, text);
        for note in listed.notes {
            reply.push(note);
        }
        reply.line("End.").into()
    }

    pub(super) fn nlst(&mut self, logged: &mut LoggedIn, arg: &[u8]) -> Outcome {
        let shows_dots = self.sees_dots(logged);
        let max = self.max_list_entries();
        // Only a directory is listed: a file, a link to one, a pattern or a missing name
        // gets Pure-FTPd's 550, so that a script that checks for a file with NLST finds
        // what it found there.
        let Some((_, mut entries, shown)) = listed_directory(&logged.vfs, arg) else {
            return Reply::new(550, msg::NO_SUCH_FILE).into();
        };
        let prefix = join_shown(shown, b"");
        // In directory order, unsorted, as Pure-FTPd's: the reading stops at the cap.
        let mut capped = Capped::new(max);
        entries.each_name(|_, name| {
            if !listing::printable_name(name)
                || (!shows_dots && name.starts_with(b".") && name != b"." && name != b"..")
            {
                return ControlFlow::Continue(());
            }
            capped.take(|bytes| {
                bytes.extend_from_slice(&prefix);
                bytes.extend_from_slice(name);
                bytes.extend_from_slice(b"\r\n");
            })
        });
        capped.into_job()
    }

    pub(super) fn mlsd(&mut self, logged: &mut LoggedIn, arg: &[u8]) -> Outcome {
        let shows_dots = self.sees_dots(logged);
        let max = self.max_list_entries();
        let Some((dir, mut entries, _)) = listed_directory(&logged.vfs, arg) else {
            return Reply::new(550, msg::NO_SUCH_FILE).into();
        };
        // In directory order, as Pure-FTPd's, and capped by `-L` as its is.
        let mut capped = Capped::new(max);
        let follow = self.config.broken_clients;
        entries.each_name(|fd, name| {
            let role = Role::of(name);
            if !listing::printable_name(name)
                || (role == Role::Plain && name.starts_with(b".") && !shows_dots)
            {
                return ControlFlow::Continue(());
            }
            let Ok(entry) = Entry::load_in(&logged.vfs, fd, &dir, name.to_vec()) else {
                return ControlFlow::Continue(());
            };
            capped.take(|bytes| {
                let entry = entry.through_link(follow, &logged.vfs, |name| join(&dir, name));
                bytes.extend_from_slice(&listing::facts(&entry, &logged.list, role));
                bytes.extend_from_slice(b"\r\n");
            })
        });
        capped.into_job()
    }

    pub(super) fn mlst(&mut self, logged: &mut LoggedIn, arg: &[u8]) -> Outcome {
        let name: &[u8] = if arg.is_empty() { b"." } else { arg };
        if let Some(refusal) = self.check_dot_read(logged, name) {
            return refusal;
        }
        let path = logged.vfs.resolve(name);
        // As Pure-FTPd's: the type of a directory named `.` is cdir, of one named `..` or
        // `/` pdir.
        let role = match name {
            b"." => Role::Current,
            b".." | b"/" => Role::Parent,
            _ => Role::Plain,
        };
        let follow = self.config.broken_clients;
        let entry = match role {
            Role::Plain => Entry::load(&logged.vfs, &path, name.to_vec())
                .map(|entry| entry.through_link(follow, &logged.vfs, |_| path.clone())),
            _ => logged.vfs.stat(&path).map(|stat| Entry {
                name: name.to_vec(),
                stat,
                link: None,
            }),
        };
        let Ok(entry) = entry else {
            return Reply::new(550, msg::NO_SUCH_FILE).into();
        };
        let mut text = b"Begin\r\n ".to_vec();
        text.extend_from_slice(&listing::facts(&entry, &logged.list, role));
        Reply::new(250, text).line("End.").into()
    }

    /// Listings compare times with "now".
    fn refresh_clock(&mut self, logged: &mut LoggedIn) {
        logged.list.now = jiff::Timestamp::now();
    }
}

/// A long listing, and what the final reply says of it.
struct Listed {
    bytes: Vec<u8>,
    count: usize,
    truncated: bool,
    options: ListOptions,
    /// Lines before the options summary (globbing refusals).
    notes: Vec<Vec<u8>>,
}
