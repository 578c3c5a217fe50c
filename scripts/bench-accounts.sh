#!/usr/bin/env bash
# Account toolkit benchmark: `pure-pw mkdb` of 100,000 users, ours and Debian's on the
# same file in the same run, then 1,000,000 lookups in the resulting database.
#
#   scripts/bench-accounts.sh [users] [lookups] [runs]
#
# Needs Debian's pure-ftpd package for the comparison (apt-get install pure-ftpd).
set -euo pipefail
cd "$(dirname "$0")/.."
users=${1:-100000}
lookups=${2:-1000000}
runs=${3:-5}

cargo build --release -q -p pure-pw
cargo build --release -q -p puredb --example bench_lookup
cargo build --release -q -p pureftpd-account --example bench_verify
ours=$PWD/target/release/pure-pw
theirs=/usr/bin/pure-pw
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# Login cost: verifying a hash made by each pure-pw with its defaults.
printf 'pw\npw\n' | PURE_PASSWDFILE=$work/ours.passwd "$ours" useradd u -u 1 -g 1 -d /u >/dev/null
if [ -x "$theirs" ]; then
  printf 'pw\npw\n' | PURE_PASSWDFILE=$work/theirs.passwd "$theirs" useradd u -u 1 -g 1 -d /u >/dev/null
fi
echo "login cost (password check, median of 5; ours first, then Debian's default):"
cat "$work"/ours.passwd "$work"/theirs.passwd 2>/dev/null | cut -d: -f2 |
  xargs "$PWD/target/release/examples/bench_verify" pw | sed 's/^/  /'

# Realistic lines: an argon2id hash, ids, a chrooted home, some limits.
python3 - "$work/pureftpd.passwd" "$users" <<'PY'
import sys
path, n = sys.argv[1], int(sys.argv[2])
h = "$argon2id$v=19$m=19456,t=2,p=1$PSbYgFABCMgOuIPftxEH9g$mPMn0sXp9VAKtUPhfKTuK1t7EYpIkztva3+E6UDnsm4"
with open(path, "w") as f:
    for i in range(n):
        f.write(f"user{i}:{h}:{1000 + i % 60000}:{1000 + i % 60000}:User {i}:/srv/ftp/user{i}/./:51200:102400:::3:1000:20971520:::::\n")
PY
echo "passwd file: $users users, $(du -h "$work/pureftpd.passwd" | cut -f1)"

best() { # best wall time of $runs runs of a command, in seconds
  local best="" t0 t1 t
  for _ in $(seq "$runs"); do
    t0=$(date +%s.%N); "$@" >/dev/null || { echo "failed: $*" >&2; exit 1; }; t1=$(date +%s.%N)
    t=$(echo "$t1 - $t0" | bc -l)
    if [ -z "$best" ] || [ "$(echo "$t < $best" | bc -l)" = 1 ]; then best=$t; fi
  done
  printf '%.3f' "$best"
}

export PURE_PASSWDFILE=$work/pureftpd.passwd
o=$(best "$ours" mkdb "$work/ours.pdb")
if [ -x "$theirs" ]; then
  t=$(best "$theirs" mkdb "$work/theirs.pdb")
  same=$(cmp -s "$work/ours.pdb" "$work/theirs.pdb" && echo "byte-identical" || echo "DIFFERENT")
  echo "mkdb, best of $runs: ours ${o} s, Debian's ${t} s ($same output)"
else
  echo "mkdb, best of $runs: ours ${o} s (Debian's pure-pw not installed)"
fi
"$PWD/target/release/examples/bench_lookup" "$work/ours.pdb" "$lookups"
