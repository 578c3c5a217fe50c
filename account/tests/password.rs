//! Hash verification against vectors made by the C libraries Pure-FTPd uses.

use pureftpd_account::Password;
use pureftpd_account::password::{HashError, HashPolicy, Scheme, create, verify};

const PW: &str = "pure-ftpd-test";

/// Made by libsodium 1.0.18 (crypto_pwhash_str, crypto_pwhash_scryptsalsa208sha256_str)
/// and libxcrypt 4.4.33 (crypt(3)) for the password "pure-ftpd-test".
const VECTORS: [(&str, Scheme); 11] = [
    (
        "$argon2id$v=19$m=8192,t=2,p=1$XejeyDuTfWeUlPjmuJk1CA$ZPkyC3VRZ1uWyhsrSENcDSd4EaMPrza4+E4pDeqJ9b8",
        Scheme::Argon2,
    ),
    (
        "$argon2i$v=19$m=8192,t=3,p=1$THIFJmFJmKhAF31cQkA9bQ$4ISFf8K9zHAaJ6w2ISFbMqcoqLhyKhPpy8xoCbeWwus",
        Scheme::Argon2,
    ),
    (
        "$7$86..../....SPIqhx1TSMnuRS82dKtlNhxeXLPAD9FXL88EUXpczmD$kUuLUPd8zZezhAmxHiZWWsFIKWPRaigD6bjLpvpZvZ9",
        Scheme::Scrypt,
    ),
    (
        "$7$CU..../....saltsalt$cBjvj/aogszduylN3GJoksZawik8gool80g/2s3gyf/",
        Scheme::Scrypt,
    ),
    (
        "$2b$05$abcdefghijklmnopqrstuuNMx.cIGcghOCHwldLqTW2XSs/o7gqty",
        Scheme::Bcrypt,
    ),
    (
        "$2y$05$abcdefghijklmnopqrstuuNMx.cIGcghOCHwldLqTW2XSs/o7gqty",
        Scheme::Bcrypt,
    ),
    (
        "$y$j9T$saltsaltsaltsalt$AOa5jCbCzpblqvLS2OxCG8p70uvUNddsnceuVB9Ynq0",
        Scheme::Yescrypt,
    ),
    (
        "$6$saltsaltsaltsalt$fV122JbuLKpBFPXDfMFWQmK5UzqKupptSuFPEk20xBdOuWwAW3R3BTi39H./72683VCocjbIMgPY1NKNC2ncI0",
        Scheme::Sha512Crypt,
    ),
    (
        "$5$rounds=1000$saltsalt$.GFCfP933zXMOsoipaw6fkDSSf0fdRg2VPsgZnNa4CA",
        Scheme::Sha256Crypt,
    ),
    ("$1$saltsalt$T2nUxrkg/I1j0bLwLZb/r1", Scheme::Md5Crypt),
    ("abxGBtUGTw1u2", Scheme::DesCrypt),
];

#[test]
fn every_format_pure_ftpd_accepts_verifies() {
    for (hash, scheme) in VECTORS {
        assert_eq!(Scheme::detect(hash), Some(scheme), "{hash}");
        assert_eq!(
            verify(&Password::from(PW), hash.as_bytes()),
            Ok(true),
            "{hash}"
        );
        assert_eq!(
            verify(&Password::from("wrong"), hash.as_bytes()),
            Ok(false),
            "{hash}"
        );
        assert_eq!(
            verify(&Password::from(""), hash.as_bytes()),
            Ok(false),
            "{hash}"
        );
    }
    let sha256_default_rounds = "$5$saltsaltsaltsalt$Jc.lUgnlo5CcKH9FXQsRVtoM7eB7Eg5eYPQ.gsTdlO1";
    assert_eq!(
        verify(&Password::from(PW), sha256_default_rounds.as_bytes()),
        Ok(true)
    );
}

#[test]
fn a_hash_written_by_debian_pure_pw_verifies() {
    // `printf 'pw\npw\n' | pure-pw useradd alice -u 1001 -g 1001 -d /srv/ftp/alice -C 64`
    let hash = "$argon2id$v=19$m=1024,t=1023,p=1$PSbYgFABCMgOuIPftxEH9g$mPMn0sXp9VAKtUPhfKTuK1t7EYpIkztva3+E6UDnsm4";
    assert_eq!(verify(&Password::from("pw"), hash.as_bytes()), Ok(true));
    assert_eq!(verify(&Password::from("pw "), hash.as_bytes()), Ok(false));
}

#[test]
fn what_pure_ftpd_refuses_is_refused() {
    for stored in [
        "",
        "*",
        "!",
        "!!",
        "x",
        "pure-ftpd-test",
        "d41d8cd98f00b204e9800998ecf8427e",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
        "$md5$abc",
        "$3$$abc",
        "$gy$abc",
    ] {
        let result = verify(&Password::from(PW), stored.as_bytes());
        assert_eq!(result, Err(HashError::UnknownFormat), "{stored}");
    }
    assert_eq!(
        verify(&Password::from(PW), b"\xff\xfe"),
        Err(HashError::UnknownFormat)
    );
}

#[test]
fn malformed_hashes_are_errors_not_matches() {
    for stored in [
        "$argon2id$v=19$m=8192$garbage",
        "$argon2id$",
        "$7$",
        "$7$86..",
        "$2b$xx$abc",
        "$y$",
        "$y$j9T$salt",
        "$6$rounds=abc$salt$x",
        "$2b$05$short",
    ] {
        let result = verify(&Password::from(PW), stored.as_bytes());
        assert!(
            matches!(result, Err(HashError::Malformed(_))),
            "{stored}: {result:?}"
        );
    }
}

#[test]
fn hostile_costs_are_refused_before_any_work() {
    let started = std::time::Instant::now();
    for stored in [
        // 8 GiB of memory.
        "$argon2id$v=19$m=8388608,t=1,p=1$XejeyDuTfWeUlPjmuJk1CA$ZPkyC3VRZ1uWyhsrSENcDSd4EaMPrza4+E4pDeqJ9b8",
        // A million passes.
        "$argon2id$v=19$m=8192,t=1000000,p=1$XejeyDuTfWeUlPjmuJk1CA$ZPkyC3VRZ1uWyhsrSENcDSd4EaMPrza4+E4pDeqJ9b8",
        // scrypt with N = 2^30.
        "$7$S6..../....SPIqhx1TSMnuRS82dKtlNhxeXLPAD9FXL88EUXpczmD$kUuLUPd8zZezhAmxHiZWWsFIKWPRaigD6bjLpvpZvZ9",
        // scrypt with p = 2^29.
        "$7$86........zSPIq$kUuLUPd8zZezhAmxHiZWWsFIKWPRaigD6bjLpvpZvZ9",
        "$2b$31$abcdefghijklmnopqrstuuNMx.cIGcghOCHwldLqTW2XSs/o7gqty",
        "$6$rounds=999999999$saltsalt$fV122JbuLKpBFPXDfMFWQmK5UzqKupptSuFPEk20xBdOuWwAW3R3BTi39H./72683VCocjbIMgPY1NKNC2ncI0",
        // yescrypt with N = 2^30.
        "$y$jST$saltsaltsaltsalt$AOa5jCbCzpblqvLS2OxCG8p70uvUNddsnceuVB9Ynq0",
    ] {
        let result = verify(&Password::from(PW), stored.as_bytes());
        assert!(
            matches!(result, Err(HashError::TooCostly(_))),
            "{stored}: {result:?}"
        );
        let message = result.unwrap_err().to_string();
        assert!(!message.contains(PW), "{message}");
    }
    assert!(
        started.elapsed().as_secs() < 5,
        "refusals must not do the work"
    );
}

#[test]
fn new_hashes_are_argon2id_at_owasp_minimum_and_verify() {
    let password = Password::from("s3cret: with colon");
    let hash = create(&password, &HashPolicy::DEFAULT).unwrap();
    assert!(
        hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
        "{hash}"
    );
    assert_eq!(verify(&password, hash.as_bytes()), Ok(true));
    assert_eq!(
        verify(&Password::from("s3cret"), hash.as_bytes()),
        Ok(false)
    );
    let other = create(&password, &HashPolicy::DEFAULT).unwrap();
    assert_ne!(hash, other, "salts must differ");
    assert!(!hash.contains(':'), "a hash must not break the passwd line");
}

#[test]
fn pure_pw_budget_flags_only_ever_raise_the_cost() {
    assert_eq!(HashPolicy::for_budget(64, 8), HashPolicy::DEFAULT);
    assert_eq!(HashPolicy::for_budget(64, 64), HashPolicy::DEFAULT);
    assert_eq!(HashPolicy::for_budget(256, 2).memory_kib, 128 * 1024);
    assert_eq!(HashPolicy::for_budget(1 << 20, 1).memory_kib, 256 * 1024);
}
