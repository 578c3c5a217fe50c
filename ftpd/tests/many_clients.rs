//! A thousand clients logged in at once on one server (`-c`/`-C` raised for it), as a
//! busy site has: every one gets its 230 and then an answer to a command, no idle
//! session keeps a process below it (its pre-login process is reaped, not left a
//! zombie), the server still takes a new login meanwhile, and when they leave every
//! session process is gone.
//! The memory of the master and all sessions (PSS) is printed, not asserted (numbers
//! beside Debian's: `scripts/bench-server.sh`); what an idle session keeps of its own
//! is checked on one: the stack and the heap its login used, the program's static data
//! it shares with the master (and the master's running without malloc's thread cache,
//! which lets the heap go).

mod common;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Write};
use std::net::TcpStream;
use std::process::Command;
use std::time::{Duration, Instant};

use common::Site;
use nix::sys::resource::{Resource, getrlimit, setrlimit};
use pureftpd_account::Record;

const SESSIONS: usize = 1000;
/// Client threads, each holding SESSIONS / THREADS sessions.
const THREADS: usize = 40;

/// Room for this many open descriptors here, or why not.
fn enough_descriptors(needed: u64) -> Result<(), String> {
    let (soft, hard) = getrlimit(Resource::RLIMIT_NOFILE).map_err(|e| e.to_string())?;
    if soft >= needed {
        return Ok(());
    }
    if hard < needed {
        return Err(format!(
            "the descriptor limit is {hard}, {needed} are needed"
        ));
    }
    setrlimit(Resource::RLIMIT_NOFILE, needed, hard).map_err(|e| e.to_string())
}

/// Room for this many more processes, or why not.
fn enough_processes(needed: u64) -> Result<(), String> {
    let read = |path: &str| -> u64 {
        std::fs::read_to_string(path)
            .ok()
            .and_then(|t| t.trim().parse().ok())
            .unwrap_or(0)
    };
    let running = std::fs::read_dir("/proc")
        .map(|d| {
            d.filter(|e| {
                e.as_ref().is_ok_and(|e| {
                    e.file_name()
                        .to_string_lossy()
                        .bytes()
                        .all(|b| b.is_ascii_digit())
                })
            })
            .count() as u64
        })
        .unwrap_or(0);
    let room = read("/proc/sys/kernel/pid_max")
        .min(read("/proc/sys/kernel/threads-max"))
        .saturating_sub(running);
    if room < needed {
        return Err(format!(
            "room for {room} more processes, {needed} are needed"
        ));
    }
    let (soft, _) = getrlimit(Resource::RLIMIT_NPROC).map_err(|e| e.to_string())?;
    if !pureftpd_tests::is_root() && soft < needed + running {
        return Err(format!("RLIMIT_NPROC is {soft}"));
    }
    Ok(())
}

/// The site's `.pdb` replaced by one account with a SHA-512-crypt hash: logins cost
/// a few milliseconds of CPU, not argon2id's fifty.
fn cheap_account(site: &Site) {
    let out = Command::new("openssl")
        .args(["passwd", "-6", "many pw"])
        .output()
        .unwrap();
    assert!(out.status.success(), "openssl passwd");
    let hash = String::from_utf8(out.stdout).unwrap();
    let line = format!(
        "many:{}:{}:{}::{}/./",
        hash.trim(),
        site.uid,
        site.gid,
        site.home.display()
    );
    let text = Record::parse(line.as_bytes()).unwrap().to_line();
    let colon = text.iter().position(|&b| b == b':').unwrap();
    let mut builder = puredb::Builder::new();
    builder.add(&text[..colon], &text[colon + 1..]).unwrap();
    builder.write_file(&site.pdb).unwrap();
}

struct Client {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
}

impl Client {
    fn reply(&mut self) -> std::io::Result<String> {
        loop {
            let mut line = String::new();
            if self.reader.read_line(&mut line)? == 0 {
                return Err(std::io::ErrorKind::UnexpectedEof.into());
            }
            let b = line.as_bytes();
            if b.len() >= 4 && b[..3].iter().all(u8::is_ascii_digit) && b[3] == b' ' {
                return Ok(line);
            }
        }
    }

    fn cmd(&mut self, line: &str) -> std::io::Result<String> {
        self.writer.write_all(format!("{line}\r\n").as_bytes())?;
        self.reply()
    }

    fn login(port: u16) -> std::io::Result<Self> {
        let stream = TcpStream::connect(("127.0.0.1", port))?;
        stream.set_read_timeout(Some(Duration::from_secs(120)))?;
        let mut client = Self {
            reader: BufReader::new(stream.try_clone()?),
            writer: stream,
        };
        let greeting = client.reply()?;
        let user = client.cmd("USER many")?;
        let pass = client.cmd("PASS many pw")?;
        if !greeting.starts_with("220") || !user.starts_with("331") || !pass.starts_with("230") {
            return Err(std::io::Error::other(format!("{greeting}{user}{pass}")));
        }
        Ok(client)
    }
}

/// Every process's children, read from /proc once.
fn process_tree() -> HashMap<u32, Vec<u32>> {
    let mut tree: HashMap<u32, Vec<u32>> = HashMap::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return tree;
    };
    for pid in entries.filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok()) {
        let parent = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                s.rsplit_once(')')?
                    .1
                    .split_whitespace()
                    .nth(1)?
                    .parse()
                    .ok()
            });
        if let Some(parent) = parent {
            tree.entry(parent).or_default().push(pid);
        }
    }
    tree
}

/// The processes whose parent is `parent`.
fn children(parent: u32) -> Vec<u32> {
    process_tree().remove(&parent).unwrap_or_default()
}

/// PSS in KiB of `pid` and all its descendants.
fn pss_of_tree(pid: u32, tree: &HashMap<u32, Vec<u32>>) -> u64 {
    let own = std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
        .ok()
        .and_then(|t| {
            t.lines()
                .find_map(|l| l.strip_prefix("Pss:"))
                .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        })
        .unwrap_or(0);
    let below = tree.get(&pid).map_or(0, |kids| {
        kids.iter().map(|&kid| pss_of_tree(kid, tree)).sum::<u64>()
    });
    own + below
}

#[test]
fn a_thousand_sessions_logged_in_at_once() {
    // Per session: a socket here; there a process with a few descriptors, and one
    // socket in the server's port-20 helper.
    let room = enough_descriptors(SESSIONS as u64 * 2 + 200)
        .and_then(|()| enough_processes(SESSIONS as u64 * 2 + 100));
    if let Err(why) = room {
        let required = std::env::var_os("PUREFTPD_REQUIRE_ROOT").is_some_and(|v| v == "1");
        assert!(
            !required,
            "this machine cannot hold {SESSIONS} sessions: {why}"
        );
        eprintln!("SKIP: this machine cannot hold {SESSIONS} sessions: {why}");
        return;
    }
    let site = Site::new();
    cheap_account(&site);
    let limit = (SESSIONS + 50).to_string();
    // -c is capped at half the passive range, as in Pure-FTPd: give it room.
    let server = site.ours(&["-c", &limit, "-C", &limit, "-p", "30000:33000"]);
    let started = Instant::now();
    let workers: Vec<_> = (0..THREADS)
        .map(|_| {
            let port = server.port;
            std::thread::spawn(move || -> Result<Vec<Client>, String> {
                (0..SESSIONS / THREADS)
                    .map(|_| Client::login(port).map_err(|e| e.to_string()))
                    .collect()
            })
        })
        .collect();
    let mut clients: Vec<Client> = Vec::with_capacity(SESSIONS);
    let mut failures = Vec::new();
    for worker in workers {
        match worker.join().unwrap() {
            Ok(held) => clients.extend(held),
            Err(e) => failures.push(e),
        }
    }
    let logged_in = started.elapsed();
    assert!(
        failures.is_empty(),
        "{} threads failed: {failures:?}",
        failures.len()
    );
    assert_eq!(clients.len(), SESSIONS);
    let master = server.pid();
    // As root, the server's port-20 helper is one more child (one for all sessions).
    let helper = usize::from(common::is_root());
    assert_eq!(
        children(master).len(),
        SESSIONS + helper,
        "one process per session"
    );
    // Nothing is left below the sessions once their pre-login processes have exited:
    // not a thousand zombies waiting for each client's next command.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let tree = process_tree();
        let below: Vec<u32> = tree
            .get(&master)
            .into_iter()
            .flatten()
            .filter_map(|session| tree.get(session))
            .flatten()
            .copied()
            .collect();
        if below.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "{} processes still below idle sessions (zombies of pre-login processes?), \
             the first: {:?}",
            below.len(),
            std::fs::read_to_string(format!("/proc/{}/stat", below[0]))
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let pss = pss_of_tree(master, &process_tree());
    eprintln!(
        "{SESSIONS} sessions logged in with {THREADS} clients in {logged_in:.2?}; \
         PSS of the master and all sessions: {pss} KiB ({} KiB per session)",
        pss / SESSIONS as u64
    );
    // Every one of them is served, and a new client still gets in.
    for (i, client) in clients.iter_mut().enumerate() {
        let noop = client.cmd("NOOP").unwrap_or_else(|e| format!("{e}"));
        assert!(noop.starts_with("200"), "session {i}: {noop}");
    }
    let mut late = Client::login(server.port).expect("a login while a thousand are held");
    assert!(late.cmd("QUIT").unwrap().starts_with("221"));
    for client in &mut clients {
        let _ = client.cmd("QUIT");
    }
    drop(clients);
    let deadline = Instant::now() + Duration::from_secs(60);
    while children(master).len() > helper {
        assert!(
            Instant::now() < deadline,
            "{} session processes left a minute after their clients quit",
            children(master).len() - helper
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A site with one cheap account, where a session's memory map can be read (as root: the
/// session runs as the account); `None` after saying why.
fn site_for_memory_maps() -> Option<Site> {
    if !common::require_root("reading a session's memory map (it runs as the account)") {
        return None;
    }
    let site = Site::new();
    cheap_account(&site);
    Some(site)
}

/// `binary` (ours, or a link to it) on the site, with `GLIBC_TUNABLES` set to `tunables`.
fn started_with_tunables(site: &Site, binary: &std::path::Path, tunables: &str) -> common::Server {
    let login = format!("puredb:{}", site.pdb.display());
    common::Server::start_on(
        "127.0.0.1",
        binary,
        &["-l", &login, "-H", "-4"],
        &[("GLIBC_TUNABLES", std::path::Path::new(tunables))],
    )
}

/// A client logged in on `server` that has said `PWD`, and its session's process (the one
/// new child of the master).
fn idle_session(server: &common::Server) -> (Client, u32) {
    let before = children(server.pid());
    let mut client = Client::login(server.port).unwrap();
    assert!(client.cmd("PWD").unwrap().starts_with("257"));
    let session: Vec<u32> = children(server.pid())
        .into_iter()
        .filter(|pid| !before.contains(pid))
        .collect();
    assert_eq!(session.len(), 1, "one new session process: {session:?}");
    (client, session[0])
}

/// What idle sessions are made of, a thousand times over: a logged-in session gives back
/// the stack its login went deep into (the password check, entering the account), so an
/// idle one keeps a few pages of stack of its own, not the login's depth.
#[test]
fn an_idle_session_keeps_no_more_stack_than_its_commands_use() {
    let Some(site) = site_for_memory_maps() else {
        return;
    };
    let server = site.ours(&[]);
    let (mut client, session) = idle_session(&server);
    assert!(client.cmd("NOOP").unwrap().starts_with("200"));
    // 7 pages without the release in a debug build (the tests'), 3 with it; 6 and 3
    // in a release build.
    let stack = pureftpd_tests::procfs::smaps_kib(session, "[stack]", "Private_Dirty")
        .expect("the session's stack in its smaps");
    assert!(
        stack <= 20,
        "an idle session holds {stack} KiB of stack of its own"
    );
    assert!(client.cmd("QUIT").unwrap().starts_with("221"));
}

/// The same thousand times over for the program's static data: a session forked from the
/// master shares its pages until one is written, and a write copies the whole 4 KiB page,
/// whatever other statics it holds, for the rest of the session. Only the few statics a
/// session must change (the descriptors the master handed it, which it gives up as it
/// splits and logs in) may be written; lazily filled ones are filled by the master before
/// it forks (the hashes' CPU features, the directory aliases file's name, which reading
/// the environment takes a lock for) and the SIGTERM farewell is only stored when there
/// is one.
#[test]
fn an_idle_session_writes_only_its_own_statics() {
    let Some(site) = site_for_memory_maps() else {
        return;
    };
    // With a certificate, as most servers run: the hint channel is handed over too.
    let Some(pem) = common::certificate(site.dir.path(), "server") else {
        return;
    };
    let server = site.ours(&["-Y", "1", "-2", &pem.to_string_lossy()]);
    let (mut client, session) = idle_session(&server);
    // 4 pages before (the environment's lock, the hashes' CPU features and the farewell
    // on std's two pages, the taken descriptors on ours), 1 after; 2 allowed, since
    // where the linker puts the few statics a session writes can straddle two pages.
    let written = pureftpd_tests::procfs::program_data_private_kib(session)
        .expect("the session's memory map");
    assert!(
        written <= 8,
        "an idle session copied {written} KiB of the program's static data"
    );
    assert!(client.cmd("QUIT").unwrap().starts_with("221"));
}

/// The master runs itself again, in place, with glibc's per-thread malloc cache turned
/// off (see os/src/malloc_cache.rs), keeping the tunables the admin set and its process
/// name (`pidof pure-ftpd`), and leaves the cache alone when the admin sized it, or when
/// it was started through a link of another name, which running its file again would
/// rename.
#[test]
fn the_master_runs_without_mallocs_thread_cache_keeping_the_admins_tunables() {
    let site = Site::new();
    cheap_account(&site);
    let started_as = |binary: &std::path::Path, tunables: &str| {
        let server = started_with_tunables(&site, binary, tunables);
        // The process started is the one serving: execve keeps its id.
        let environ = std::fs::read(format!("/proc/{}/environ", server.pid())).unwrap();
        let name = std::fs::read_to_string(format!("/proc/{}/comm", server.pid())).unwrap();
        let mut client = Client::login(server.port).unwrap();
        assert!(client.cmd("PWD").unwrap().starts_with("257"));
        assert!(client.cmd("QUIT").unwrap().starts_with("221"));
        (String::from_utf8_lossy(&environ).into_owned(), name)
    };
    let ours = std::path::Path::new(common::OURS);
    let environment_block = |tunables: &str| {
        let (environ, name) = started_as(ours, tunables);
        assert_eq!(name, "pure-ftpd\n");
        environ
    };
    // glibc cuts GLIBC_TUNABLES into its tunables in place (a NUL for each ':'), and
    // /proc shows that memory: the tunables are looked for one by one.
    let admins = environment_block("glibc.malloc.arena_max=2");
    assert!(
        admins.contains("GLIBC_TUNABLES=glibc.malloc.arena_max=2")
            && admins.contains("glibc.malloc.tcache_count=0"),
        "{admins:?}"
    );
    let sized = environment_block("glibc.malloc.tcache_count=3");
    assert!(
        sized.contains("GLIBC_TUNABLES=glibc.malloc.tcache_count=3")
            && !sized.contains("tcache_count=0"),
        "{sized:?}"
    );
    let link = site.dir.path().join("ftp-server");
    std::os::unix::fs::symlink(ours, &link).unwrap();
    let (through_link, name) = started_as(&link, "glibc.malloc.arena_max=2");
    assert_eq!(name, "ftp-server\n");
    assert!(!through_link.contains("tcache_count=0"), "{through_link:?}");
}

/// What an idle session keeps of the heap its login used: without malloc's per-thread
/// cache, the chunks the login freed go back to malloc's free lists and `malloc_trim`
/// gives their pages back (the cache would keep them, scattered, for good).
#[test]
fn an_idle_session_keeps_little_heap_of_its_own() {
    let Some(site) = site_for_memory_maps() else {
        return;
    };
    let heap_with = |tunables: &str| {
        let server = started_with_tunables(&site, std::path::Path::new(common::OURS), tunables);
        let (mut client, session) = idle_session(&server);
        let heap = pureftpd_tests::procfs::smaps_kib(session, "[heap]", "Private_Dirty")
            .expect("the session's heap in its smaps");
        assert!(client.cmd("QUIT").unwrap().starts_with("221"));
        heap
    };
    // The cache sized by hand as glibc's default: the master does not run again.
    let with_cache = heap_with("glibc.malloc.tcache_count=7");
    let without_cache = heap_with("glibc.malloc.arena_max=1");
    // 32 KiB with the cache, 16 without, in a debug build (the tests'); 33 and 26 on
    // average over 50 sessions in a release build.
    eprintln!("an idle session's heap: {with_cache} KiB with the cache, {without_cache} without");
    assert!(
        without_cache <= 20,
        "an idle session holds {without_cache} KiB of heap of its own ({with_cache} with malloc's cache)"
    );
}
