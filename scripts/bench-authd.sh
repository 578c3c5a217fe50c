#!/usr/bin/env bash
# extauth benchmark: logins per second through pure-authd, 20 clients, for 10 s;
# Debian's pure-ftpd with Debian's pure-authd, then ours with ours, same handler script
# in the same run. Second column: the same while one more client keeps logging in as
# an account whose script takes 2 s (Pure-FTPd's daemon runs one script at a time).
# Needs root (Debian's pure-authd refuses to run otherwise; sessions switch uid).
#
#   scripts/bench-authd.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
[ "$(id -u)" = 0 ] || { echo "run as root (Debian's pure-authd needs it)" >&2; exit 1; }
cargo build --release -q -p ftpd --bin pure-ftpd --example ftpbench
cargo build --release -q -p pure-authd
bench=$PWD/target/release/examples/ftpbench
work=$(mktemp -d /tmp/pureftpd-bench-authd.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
chmod 755 "$work"
mkdir -p "$work/home"
chown 4242:4242 "$work/home"
cat >"$work/handler.sh" <<SH
#!/bin/sh
case "\$AUTHD_ACCOUNT" in
  joe) [ "\$AUTHD_PASSWORD" = pw ] && printf 'auth_ok:1\nuid:4242\ngid:4242\ndir:$work/home\nend\n' && exit 0 ;;
  slow) sleep 2 ;;
esac
printf 'auth_ok:-1\nend\n'
SH
chmod 755 "$work/handler.sh"

measure() { # name server authd port
  "$3" -s "$work/sock-$4" -r "$work/handler.sh" -p "$work/authd-$4.pid" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do [ -S "$work/sock-$4" ] && break; sleep 0.05; done
  "$2" -l "extauth:$work/sock-$4" -S "127.0.0.1,$4" -H -4 -c 200 -C 200 -g "$work/ftpd-$4.pid" >/dev/null 2>&1 &
  pids+=($!)
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$4") 2>/dev/null && break; sleep 0.05; done
  "$bench" logins "$4" joe pw 20 2 >/dev/null # warm-up
  alone=$("$bench" logins "$4" joe pw 20 "$seconds")
  "$bench" logins "$4" slow pw 1 "$seconds" >/dev/null &
  slow=$!
  sleep 0.5
  with_slow=$("$bench" logins "$4" joe pw 20 "$seconds")
  wait "$slow" || true
  printf '| %s | %s | %s |\n' "$1" "$alone" "$with_slow"
}
echo "| server + pure-authd | logins/s (20 clients) | logins/s, with one client on a 2 s script |"
echo "|---|---|---|"
if [ -x /usr/sbin/pure-authd ]; then
  measure "Debian pure-ftpd + pure-authd 1.0.50" /usr/sbin/pure-ftpd /usr/sbin/pure-authd 21311
fi
measure "pureftpd-rs" "$PWD/target/release/pure-ftpd" "$PWD/target/release/pure-authd" 21312
