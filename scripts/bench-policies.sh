#!/usr/bin/env bash
# Policies benchmark, ours and Debian's pure-ftpd in the same run, same client
# (ftpd/examples/ftpbench.rs):
#   * the bandwidth limiter: RETR and STOR of 64 MiB under -T 8192:8192 (8 MiB/s), the
#     measured rate next to the setting;
#   * quota accounting: STOR of 1 GiB with a quota (-n 100000:8192) and without, so
#     the cost of counting shows.
# (That unthrottled transfers keep their speed is bench-server.sh's RETR/STOR.)
# Needs root (the servers switch to the account's uid).
#
#   scripts/bench-policies.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
. scripts/bench-common.sh
bench_setup bench-policies
dd if=/dev/zero of="$work/home/mid.bin" bs=1M count=64 status=none
chown -R 4242:4242 "$work/home"
bench_account
sync

start() { # binary port options...
  local binary=$1 port=$2; shift 2
  "$binary" -l "puredb:$PURE_DBFILE" -S "127.0.0.1,$port" -H -4 -g "$work/pid-$port" "$@" >/dev/null 2>&1 &
  pids+=($!)
  bench_wait_listening "$port"
}
stop() { kill "$(cat "$work/pid-$1")" 2>/dev/null || true; sleep 0.5; }
median() { # median of $runs runs of a command printing one number
  local values=()
  for _ in $(seq "$runs"); do values+=("$("$@")"); done
  printf '%s\n' "${values[@]}" | sort -g | sed -n "$(( (runs + 1) / 2 ))p"
}
stor_once() { # port MiB
  rm -f "$work"/home/up-*.bin "$work/home/.ftpquota"
  sync
  "$bench" stor "$1" bench pw "up-$1.bin" "$2"
}

rows=""
measure() { # name binary base-port
  local name=$1 binary=$2 port=$3
  start "$binary" "$port" -T 8192:8192
  local retr stor
  retr=$(median "$bench" retr "$port" bench pw mid.bin)
  stor=$(median stor_once "$port" 64)
  stop "$port"
  start "$binary" $((port + 1))
  local plain; plain=$(median stor_once $((port + 1)) 1024)
  stop $((port + 1))
  start "$binary" $((port + 2)) -n 100000:8192
  local counted; counted=$(median stor_once $((port + 2)) 1024)
  stop $((port + 2))
  rows+=$(printf '| %s | %s | %s | %s | %s |' "$name" "$retr" "$stor" "$plain" "$counted")$'\n'
}
# Ports below the ephemeral range (see bench-server.sh).
if [ -x "$theirs" ]; then measure "Debian pure-ftpd 1.0.50" "$theirs" 21331; fi
measure "pureftpd-rs" "$ours" 21341
echo "Setting: 8192 KiB/s = 8.00 MiB/s. Median of $runs runs, MiB/s (ftpbench divides by 2^20)."
echo
echo "| server | RETR 64 MiB at -T 8192 | STOR 64 MiB at -T 8192 | STOR 1 GiB, no quota | STOR 1 GiB, quota counted |"
echo "|---|---|---|---|---|"
printf '%s' "$rows"
