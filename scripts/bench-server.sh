#!/usr/bin/env bash
# Server benchmark: ours and Debian's pure-ftpd measured in the same run, on the same
# tree, with the same .pdb and the same client (ftpd/examples/ftpbench.rs):
#   RETR and STOR of a 1 GiB file (binary, passive, loopback), next to a bare sendfile;
#   logins per second with 4 clients (SHA-512-crypt and argon2id hashes); memory (PSS) per idle logged-in session;
#   NLST, LIST and MLSD of a directory of 50,000 names;
#   FTPS (AUTH TLS, PROT P, TLS 1.3): RETR and STOR of 1 GiB, full handshakes per second
#   with 4 clients, and handshakes that resume a session an earlier connection got.
# Both servers run side by side for the whole run; every figure is measured [runs] times
# alternating between them (Debian's first in odd rounds, ours first in even ones), and
# the table shows each server's median and the ratio of the medians, ours / Debian's.
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
  local run=$1
  [ "$1" = "$theirs" ] && run=bench_theirs_on_tmpfs  # scoreboards on tmpfs: bench-common.sh
  PURE_FTPD_SCOREBOARD=$boards/board-$2 "$run" -l "puredb:$PURE_DBFILE" -S "127.0.0.1,$2" -H -4 -c 200 -C 200 \
    -Y 1 -2 "$work/tls.pem" -g "$work/pid-$2" >/dev/null 2>&1 &
  pids+=($!)
  bench_wait_listening "$2"
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

ftps_stor_once() { # port
  rm -f "$work"/home/upload-*.bin
  sync
  "$bench" ftps-stor "$1" bench pw "upload-$1.bin" 1024 2>/dev/null
}

# The figures, each a function of the server's port and its master's pid printing one
# number (lower is better for the PSS and the LIST time, higher for the rest).
retr() { "$bench" retr "$1" bench pw big.bin; }
stor() { stor_once "$1"; }
logins_cheap() { "$bench" logins "$1" cheap pw 4 10; }
logins_argon() { "$bench" logins "$1" bench pw 4 10; }
logins_own() { # ours: its own pure-pw's hash is the argon2id of `bench`
  if [ "$1" = "$port_ours" ]; then "$bench" logins "$1" bench pw 4 10; else "$bench" logins "$1" legacy pw 4 10; fi
}
pss() { pss_per_session "$2" "$1" 50; }
list() { "$bench" list "$1" bench pw many | cut -d' ' -f1; }
nlst() { "$bench" nlst "$1" bench pw many | cut -d' ' -f1; }
mlsd() { "$bench" mlsd "$1" bench pw many | cut -d' ' -f1; }
tls_retr() { "$bench" ftps-retr "$1" bench pw big.bin 2>/dev/null; }
tls_stor() { ftps_stor_once "$1"; }
handshakes() { "$bench" handshakes "$1" 4 10; }
resumed() { # a server whose sessions cannot open each other's tickets never resumes a
  # new control connection: the client says so and stops.
  if "$bench" resumed-handshakes "$1" 1 1 >/dev/null 2>&1; then
    "$bench" resumed-handshakes "$1" 4 10
  else
    echo "-"
  fi
}

median() { # numbers: their median ("-" if any is "-")
  case " $* " in *" - "*) echo "-"; return ;; esac
  printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END {m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2; print m}'
}
ratio() { # ours theirs
  if [ "$1" = "-" ] || [ "$2" = "-" ]; then echo "-"; else echo "scale=2; $1 / $2" | bc -l | sed 's/^\./0./'; fi
}

# figure: runs it $runs times on each server, alternating; sets $ours_median and
# $theirs_median.
alternate() {
  local theirs_values=() ours_values=() round
  for round in $(seq "$runs"); do
    if [ $((round % 2)) = 1 ] && [ -n "$port_theirs" ]; then
      theirs_values+=("$("$1" "$port_theirs" "$master_theirs")")
      ours_values+=("$("$1" "$port_ours" "$master_ours")")
    else
      ours_values+=("$("$1" "$port_ours" "$master_ours")")
      [ -z "$port_theirs" ] || theirs_values+=("$("$1" "$port_theirs" "$master_theirs")")
    fi
  done
  ours_median=$(median "${ours_values[@]}")
  theirs_median=$([ -n "$port_theirs" ] && median "${theirs_values[@]}" || echo "-")
  echo "$1: ours ${ours_values[*]}; Debian's ${theirs_values[*]:-}" >&2
}

baseline_values=()
for _ in $(seq "$runs"); do baseline_values+=("$("$bench" sendfile "$work/home/big.bin")"); done
echo "bare sendfile over loopback, median of $runs: $(median "${baseline_values[@]}") MB/s"
echo
# Ports below the ephemeral range (32768-60999): thousands of client sockets are left in
# TIME-WAIT by the login figures, and a server could not bind there.
port_ours=21302 port_theirs="" master_theirs=""
start "$ours" "$port_ours"
master_ours=$(cat "$work/pid-$port_ours")
if [ -x "$theirs" ]; then
  port_theirs=21301
  start "$theirs" "$port_theirs"
  master_theirs=$(cat "$work/pid-$port_theirs")
fi

plain=(retr stor logins_cheap logins_argon logins_own pss)
listings=(nlst list mlsd)
tls=(tls_retr tls_stor handshakes resumed)
declare -A theirs_of ours_of
for figure in "${plain[@]}" "${listings[@]}" "${tls[@]}"; do
  alternate "$figure"
  ours_of[$figure]=$ours_median theirs_of[$figure]=$theirs_median
done

row() { # name array-name figures...
  local name=$1; local -n values=$2; shift 2
  local line="| $name |" f
  for f in "$@"; do line+=" ${values[$f]} |"; done
  echo "$line"
}
ratios() { # figures...
  local line="| ours / Debian |" f
  for f in "$@"; do line+=" $(ratio "${ours_of[$f]}" "${theirs_of[$f]}") |"; done
  echo "$line"
}
echo "Medians of $runs alternating runs each:"
echo
echo "| server | RETR 1 GiB (MB/s) | STOR 1 GiB (MB/s) | logins/s, same .pdb, SHA-512-crypt (4 clients) | logins/s, same .pdb, argon2id (4 clients) | logins/s, hash of its own pure-pw | PSS per idle session (KiB) |"
echo "|---|---|---|---|---|---|---|"
row "Debian pure-ftpd 1.0.50" theirs_of "${plain[@]}"
row "pureftpd-rs" ours_of "${plain[@]}"
ratios "${plain[@]}"
echo
echo "| server | NLST of a 50,000-name directory (s) | LIST (s) | MLSD (s) |"
echo "|---|---|---|---|"
row "Debian pure-ftpd 1.0.50" theirs_of "${listings[@]}"
row "pureftpd-rs" ours_of "${listings[@]}"
ratios "${listings[@]}"
echo
echo "| server | FTPS RETR 1 GiB (MB/s) | FTPS STOR 1 GiB (MB/s) | full TLS handshakes/s (AUTH TLS + QUIT, 4 clients) | resumed TLS 1.3 handshakes/s, new control connections |"
echo "|---|---|---|---|---|"
row "Debian pure-ftpd 1.0.50" theirs_of "${tls[@]}"
row "pureftpd-rs" ours_of "${tls[@]}"
ratios "${tls[@]}"
