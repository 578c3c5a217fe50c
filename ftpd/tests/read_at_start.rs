//! What the master reads once at start and its sessions inherit, as Pure-FTPd's do: the
//! time zone. A session never reads it again (it could not inside a chroot, and it costs
//! every login a file read): with the zone file gone after the start, listings still
//! show local time in that zone, for Debian's pure-ftpd and ours.

mod common;

use std::time::{Duration, SystemTime};

use common::{Ftp, PASSWORD, Server, Site, USER, ours_and_debians};

/// The hour a listing shows for `when` in a zone five hours east of UTC.
fn hour_at_utc_plus_5(when: SystemTime) -> String {
    let seconds = when
        .duration_since(SystemTime::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    format!("{:02}:", (seconds / 3600 + 5) % 24)
}

#[test]
fn the_time_zone_is_read_once_by_the_master() {
    let zone = std::path::Path::new("/usr/share/zoneinfo/Asia/Karachi");
    if !zone.exists() {
        let required = std::env::var_os("PUREFTPD_REQUIRE_ORACLE").is_some_and(|v| v == "1");
        assert!(!required, "tzdata is required (apt-get install tzdata)");
        eprintln!("SKIP: no tzdata (apt-get install tzdata)");
        return;
    }
    for binary in ours_and_debians() {
        let site = Site::new();
        let copy = site.dir.path().join("zone");
        std::fs::copy(zone, &copy).unwrap();
        // Yesterday at a quarter past a whole hour, so the listing shows the time.
        let now = SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap()
            .as_secs();
        let when = SystemTime::UNIX_EPOCH + Duration::from_secs((now - 86_400) / 3600 * 3600 + 900);
        site.put("stamped.txt", b"x");
        std::fs::File::options()
            .write(true)
            .open(site.home.join("stamped.txt"))
            .unwrap()
            .set_modified(when)
            .unwrap();
        let login = format!("puredb:{}", site.pdb.display());
        let server = Server::start_with_env(
            &binary,
            &["-l", &login, "-H", "-4"],
            &[("TZ", copy.as_path())],
        );
        // The master has started (it listens): the file goes away.
        std::fs::remove_file(&copy).unwrap();
        let mut ftp = Ftp::login(server.port, USER, PASSWORD);
        let (first, listing, _) = ftp.download("LIST stamped.txt");
        assert_eq!(first.code, 150, "{first:?}");
        let listing = String::from_utf8_lossy(&listing).to_string();
        let expected = format!("{}15 stamped.txt", hour_at_utc_plus_5(when));
        assert!(
            listing.contains(&expected),
            "{}: {listing:?}, expected {expected:?}",
            binary.display()
        );
    }
}
