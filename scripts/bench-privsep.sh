#!/usr/bin/env bash
# What privilege separation before login costs: ours with it (this tree), ours before
# it (a revision without it, built in a temporary worktree) and Debian's pure-ftpd, in
# the same run, alternating, with the same .pdb (a cheap SHA-512-crypt hash, so that
# what a login costs besides its hash shows) and the same client
# (ftpd/examples/ftpbench.rs):
#   logins per second, 4 clients, in clear and under AUTH TLS (full handshakes);
#   control-reply latency: NOOP round trips on one logged-in session, p50 and p99 in µs,
#   in clear and under TLS (where the pre-login process relays).
# Medians of the runs. Needs root and Debian's pure-ftpd package.
#
#   scripts/bench-privsep.sh [runs] [revision without privilege separation]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
before_rev=${2:-c5d37a7}
. scripts/bench-common.sh
bench_setup privsep
bench_account
bench_cheap_hash
bench_certificate
git worktree add -q --detach "$work/before" "$before_rev"
(cd "$work/before" && CARGO_TARGET_DIR=$work/before-target cargo build --release -q -p ftpd --bin pure-ftpd)
before=$work/before-target/release/pure-ftpd
cleanup_worktree() { git worktree remove --force "$work/before" 2>/dev/null || true; bench_cleanup; }
trap cleanup_worktree EXIT
sync

start() { # binary port
  local run=$1
  [ "$1" = "$theirs" ] && run=bench_theirs_on_tmpfs  # scoreboards on tmpfs: bench-common.sh
  PURE_FTPD_SCOREBOARD=$boards/board-$2 "$run" -l "puredb:$PURE_DBFILE" -S "127.0.0.1,$2" -H -4 -c 200 -C 200 \
    -Y 1 -2 "$work/tls.pem" >/dev/null 2>&1 &
  pids+=($!)
  bench_wait_listening "$2"
}
declare -A port=([after]=21741 [before]=21742 [debian]=21743)
start "$ours" "${port[after]}"
start "$before" "${port[before]}"
start "$theirs" "${port[debian]}"

median() { sort -n | awk '{v[NR]=$1} END {print (NR%2 ? v[(NR+1)/2] : (v[NR/2]+v[NR/2+1])/2)}'; }
declare -A results
for run in $(seq "$runs"); do
  # Alternate the order from run to run.
  if [ $((run % 2)) = 1 ]; then order="after before debian"; else order="debian before after"; fi
  for who in $order; do
    p=${port[$who]}
    results[$who,logins]+="$("$bench" logins "$p" bench pw 4 3) "
    results[$who,ftps-logins]+="$("$bench" ftps-logins "$p" bench pw 4 3) "
    read -r p50 p99 < <("$bench" noop "$p" bench pw clear 2000)
    results[$who,noop-p50]+="$p50 "; results[$who,noop-p99]+="$p99 "
    read -r p50 p99 < <("$bench" noop "$p" bench pw tls 2000)
    results[$who,tls-noop-p50]+="$p50 "; results[$who,tls-noop-p99]+="$p99 "
  done
done

printf '%-34s %10s %10s %10s %14s %14s\n' figure after before debian after/before after/debian
for figure in logins ftps-logins noop-p50 noop-p99 tls-noop-p50 tls-noop-p99; do
  declare -A m
  for who in after before debian; do
    m[$who]=$(tr ' ' '\n' <<<"${results[$who,$figure]}" | grep . | median)
  done
  case $figure in
    logins) label="logins/s, clear, 4 clients" ;;
    ftps-logins) label="logins/s, AUTH TLS, 4 clients" ;;
    noop-p50) label="NOOP round trip p50 (µs), clear" ;;
    noop-p99) label="NOOP round trip p99 (µs), clear" ;;
    tls-noop-p50) label="NOOP round trip p50 (µs), TLS" ;;
    tls-noop-p99) label="NOOP round trip p99 (µs), TLS" ;;
  esac
  printf '%-34s %10s %10s %10s %14.2f %14.2f\n' "$label" "${m[after]}" "${m[before]}" "${m[debian]}" \
    "$(echo "${m[after]} / ${m[before]}" | bc -l)" "$(echo "${m[after]} / ${m[debian]}" | bc -l)"
done
echo "($runs runs, medians; $(nproc) CPUs, $(uname -r), $(date -u +%Y-%m-%d))"
