#!/usr/bin/env bash
# Runs the whole test suite: formatting and lints, every crate's unit, integration and
# compatibility tests, and a short run of every fuzz target. On a fresh Debian machine,
# run it as root: it installs what the tests need first (scripts/install-test-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-test-deps.sh
cargo fmt --all -- --check
cargo clippy --workspace --all-targets -q -- -D warnings
# Doc links that point nowhere (or at private items) are mistakes too.
RUSTDOCFLAGS="-D warnings" cargo doc --workspace --no-deps -q
# Every tool the tests start is built before any test runs, so that no test waits on a
# build (tests/src/lib.rs builds a missing one on first use, which on a fresh machine
# happens while other tests already run).
cargo build --workspace --bins -q
# Temporary directories (tempfile's /tmp/.tmp*) the tests leave behind are listed and
# fail the run: they held scoreboards, home trees and private host keys.
temporaries() { find "${TMPDIR:-/tmp}" -maxdepth 1 -name '.tmp*' 2>/dev/null | sort; }
# Nor records in the machine's scoreboard, where Debian's pure-ftpd always writes (and
# ours by default): the harness gives ours its own and removes what Debian's sessions
# leave (tests/src/server.rs). What was there before the run is not the tests'.
records() { { ls -A /var/run/pure-ftpd 2>/dev/null | grep -E '^(client|session|spare)-' | sort; } || true; }
before=$(temporaries)
records_before=$(records)
cargo test --workspace
left=$(comm -13 <(echo "$before") <(temporaries))
if [ -n "$left" ]; then
  for dir in $left; do
    echo "tests left $dir behind: $(ls -A "$dir" 2>/dev/null | head -5 | paste -sd' ')" >&2
  done
  exit 1
fi
# A warning for now, not a failure: its last full run still found one record a
# Debian session left, from a test not yet found (the closing note of 2026-12-05).
left=$(comm -13 <(echo "$records_before") <(records) | paste -sd' ')
if [ -n "$left" ]; then
  echo "warning: tests left records in /var/run/pure-ftpd: $left" >&2
fi
# The tests mount small file systems of their own (ftpd/tests/common/mounts.rs: tmpfs, and
# ext4 images on loop devices) and must leave none behind.
left=$( { grep '^pureftpd-test ' /proc/mounts; losetup -ln -O BACK-FILE 2>/dev/null | grep 'pureftpd-test'; } || true)
if [ -n "$left" ]; then
  echo "tests left file systems mounted: $left" >&2
  exit 1
fi
scripts/fuzz.sh "${FUZZ_SECONDS:-10}"
