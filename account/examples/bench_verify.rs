//! How long one login's password check takes: `bench_verify <password> <hash>...`.
//! Prints the median of 5 verifications per hash.
use std::time::Instant;

use pureftpd_account::{Password, password};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let clear = Password::from(
        args.next()
            .ok_or("usage: bench_verify <password> <hash>...")?
            .as_str(),
    );
    for hash in args {
        let mut times: Vec<f64> = (0..5)
            .map(|_| {
                let started = Instant::now();
                let ok = password::verify(&clear, hash.as_bytes());
                assert_eq!(ok, Ok(true), "{hash} does not match");
                started.elapsed().as_secs_f64() * 1000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let params = hash.split('$').nth(3).unwrap_or("?");
        println!("verify {params}: {:.1} ms", times[2]);
    }
    Ok(())
}
