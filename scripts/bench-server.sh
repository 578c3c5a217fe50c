#!/usr/bin/env bash
# Server benchmark: ours and Debian's pure-ftpd measured in the same run, on the same
# tree, with the same .pdb and the same client (ftpd/examples/ftpbench.rs):
#   RETR and STOR of a 1 GiB file (binary, passive, loopback), next to a bare sendfile;
#   logins per second with 4 clients (SHA-512-crypt and argon2id hashes); memory (PSS) per idle logged-in session;
#   LIST of a directory of 50,000 names;
#   FTPS (AUTH TLS, PROT P, TLS 1.3): RETR and STOR of 1 GiB, full handshakes per second
#   with 4 clients, and handshakes that resume a session an earlier connection got.
# Needs root (both servers switch to the account's uid) and Debian's pure-ftpd package.
#
#   scripts/bench-server.sh [runs]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
. scripts/bench-common.sh
bench_setup bench
mkdir -p "$work/home/many"
dd if=/dev/zero of="$work/home/big.bin" bs=1M count=1024 status=none
python3 -c "
import os, sys
d = sys.argv[1]
for i in range(50000):
    open(os.path.join(d, 'file-%05d.txt' % i), 'w').close()
" "$work/home/many"
chown -R 4242:4242 "$work/home"
bench_account
# The same account with a cheap SHA-512-crypt hash: what a login costs besides argon2id.
printf 'pw\npw\n' | target/release/pure-pw useradd cheap -u 4242 -g 4242 -d "$work/home" -m >/dev/null
bench_cheap_hash cheap
# A second account hashed by Debian's pure-pw with its defaults (about a second per login),
# as an admin's existing database would be.
if [ -x /usr/bin/pure-pw ]; then
  printf 'pw\npw\n' | /usr/bin/pure-pw useradd legacy -u 4242 -g 4242 -d "$work/home" -m >/dev/null
fi
bench_certificate
# Freshly written binaries and files are dirty page cache, which would count as the
# sessions' private memory.
sync

start() { # binary port
  PURE_FTPD_SCOREBOARD=$work/board-$2 "$1" -l "puredb:$PURE_DBFILE" -S "127.0.0.1,$2" -H -4 -c 200 -C 200 \
    -Y 1 -2 "$work/tls.pem" -g "$work/pid-$2" >/dev/null 2>&1 &
  pids+=($!)
  bench_wait_listening "$2"
}
best() { # highest of $runs runs of a command printing one number
  local top=""
  for _ in $(seq "$runs"); do
    v=$("$@"); if [ -z "$top" ] || [ "$(echo "$v > $top" | bc -l)" = 1 ]; then top=$v; fi
  done
  echo "$top"
}
fastest() { # lowest first field of $runs runs
  local low=""
  for _ in $(seq "$runs"); do
    v=$("$@" | cut -d' ' -f1); if [ -z "$low" ] || [ "$(echo "$v < $low" | bc -l)" = 1 ]; then low=$v; fi
  done
  echo "$low"
}
pss_per_session() { # master-pid port sessions: average PSS (KiB) of all session processes
  local master=$1 port=$2 n=$3
  coproc IDLE { "$bench" idle "$port" bench pw "$n"; }
  read -r ready <&"${IDLE[0]}"
  sleep 1
  echo $(( $(bench_tree_pss "$master" below) / n ))
  exec {IDLE[1]}>&-
  wait "$IDLE_PID" 2>/dev/null || true
}

stor_once() { # port: one STOR after the previous uploads reached the disk
  rm -f "$work"/home/upload-*.bin
  sync
  "$bench" stor "$1" bench pw "upload-$1.bin" 1024
}

measure() { # name binary port
  local name=$1 port=$3
  start "$2" "$port"
  local master; master=$(cat "$work/pid-$port")
  retr=$(best "$bench" retr "$port" bench pw big.bin)
  stor=$(best stor_once "$port")
  logins=$(best "$bench" logins "$port" bench pw 4 10)
  cheap=$(best "$bench" logins "$port" cheap pw 4 10)
  if [ "$name" = "pureftpd-rs" ]; then own=$logins; else own=$(best "$bench" logins "$port" legacy pw 4 10); fi
  mem=$(pss_per_session "$master" "$port" 50)
  list=$(fastest "$bench" list "$port" bench pw many)
  plain_rows+=$(printf '| %s | %s | %s | %s | %s | %s | %s | %s |' "$name" "$retr" "$stor" "$cheap" "$logins" "$own" "$mem" "$list")$'\n'
  tls_retr=$(best "$bench" ftps-retr "$port" bench pw big.bin 2>/dev/null)
  tls_stor=$(best ftps_stor_once "$port")
  handshakes=$(best "$bench" handshakes "$port" 4 10)
  # A server whose sessions cannot open each other's tickets never resumes a new
  # control connection: the client says so and stops.
  if "$bench" resumed-handshakes "$port" 1 1 >/dev/null 2>&1; then
    resumed=$(best "$bench" resumed-handshakes "$port" 4 10)
  else
    resumed="no resumption"
  fi
  tls_rows+=$(printf '| %s | %s | %s | %s | %s |' "$name" "$tls_retr" "$tls_stor" "$handshakes" "$resumed")$'\n'
}
ftps_stor_once() { # port
  rm -f "$work"/home/upload-*.bin
  sync
  "$bench" ftps-stor "$1" bench pw "upload-$1.bin" 1024 2>/dev/null
}
plain_rows=""
tls_rows=""

baseline=$(best "$bench" sendfile "$work/home/big.bin")
echo "bare sendfile over loopback, best of $runs: $baseline MB/s"
echo
# Ports below the ephemeral range (32768-60999): the first server's run leaves
# thousands of client sockets in TIME-WAIT there, and the second could not bind.
if [ -x "$theirs" ]; then measure "Debian pure-ftpd 1.0.50" "$theirs" 21301; fi
measure "pureftpd-rs" "$ours" 21302
echo "| server | RETR 1 GiB (MB/s) | STOR 1 GiB (MB/s) | logins/s, same .pdb, SHA-512-crypt (4 clients) | logins/s, same .pdb, argon2id (4 clients) | logins/s, hash of its own pure-pw | PSS per idle session (KiB) | LIST of a 50,000-name directory (s) |"
echo "|---|---|---|---|---|---|---|---|"
printf '%s' "$plain_rows"
echo
echo "| server | FTPS RETR 1 GiB (MB/s) | FTPS STOR 1 GiB (MB/s) | full TLS handshakes/s (AUTH TLS + QUIT, 4 clients) | resumed TLS 1.3 handshakes/s, new control connections |"
echo "|---|---|---|---|---|"
printf '%s' "$tls_rows"
