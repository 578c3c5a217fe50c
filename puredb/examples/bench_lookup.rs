//! Lookup benchmark: `bench_lookup <file.pdb> <lookups>`.
//!
//! Looks up every key of the file in turn (hits), then as many absent keys (misses),
//! `lookups` times in all, both with the in-memory [`Reader`] and with the
//! positioned-read [`FileReader`] a server uses per login. Prints one line per reader.
use std::time::Instant;

use puredb::{FileReader, Reader};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let path = args
        .next()
        .ok_or("usage: bench_lookup <file.pdb> <lookups>")?;
    let lookups: usize = args.next().map_or(Ok(1_000_000), |n| n.parse())?;
    let bytes = std::fs::read(&path)?;
    let reader = Reader::new(bytes.as_slice())?;
    let keys: Vec<Vec<u8>> = reader
        .records()
        .map(|r| r.map(|(_, key, _)| key.to_vec()))
        .collect::<Result<_, _>>()?;
    if keys.is_empty() {
        return Err("the database is empty".into());
    }
    let misses: Vec<Vec<u8>> = keys
        .iter()
        .map(|k| [k.as_slice(), b"-absent"].concat())
        .collect();
    let probe = |i: usize| -> &[u8] {
        let (set, i) = if i.is_multiple_of(2) {
            (&keys, i / 2)
        } else {
            (&misses, i / 2)
        };
        &set[i % set.len()]
    };

    let started = Instant::now();
    let mut found = 0usize;
    for i in 0..lookups {
        found += usize::from(reader.get(probe(i))?.is_some());
    }
    report("in-memory Reader", lookups, found, started);

    let file = FileReader::open(&path)?;
    let started = Instant::now();
    let mut found = 0usize;
    for i in 0..lookups {
        found += usize::from(file.get(probe(i))?.is_some());
    }
    report("FileReader (pread)", lookups, found, started);
    Ok(())
}

fn report(name: &str, lookups: usize, found: usize, started: Instant) {
    let elapsed = started.elapsed();
    println!(
        "{name}: {lookups} lookups ({found} hits) in {:.3} s, {:.0} ns per lookup",
        elapsed.as_secs_f64(),
        elapsed.as_nanos() as f64 / lookups as f64
    );
}
