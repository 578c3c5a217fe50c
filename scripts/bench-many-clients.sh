#!/usr/bin/env bash
# Many clients on one server, ours and Debian's pure-ftpd with the same flags, the same
# .pdb (a SHA-512-crypt hash) and the same client (ftpd/examples/ftpbench.rs), one server
# at a time:
#   the time for 300 logins started at the same moment (median of 3, each burst once
#   the sessions of the one before have ended: not timing their exits too);
#   the memory (PSS) of the master and all its sessions with 1,000 and with 10,000
#   logged-in idle sessions held (10,000 only where the machine has the processes and
#   descriptors for it).
# Needs root and Debian's pure-ftpd package.
#
#   scripts/bench-many-clients.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh
bench_setup many
bench_account
bench_cheap_hash
# Both ends need a descriptor per session; the client holds them all in one process.
ulimit -n "$(ulimit -Hn)"
sync

start() { # binary port
  PURE_FTPD_SCOREBOARD=$work/board-$2 "$1" -l "puredb:$PURE_DBFILE" -S "127.0.0.1,$2" -A -H -4 \
    -c 11000 -C 11000 -p 20000:44000 -g "$work/pid-$2" >/dev/null 2>&1 &
  server=$!
  pids+=("$server")
  bench_wait_listening "$2"
}
stop() {
  kill "$server"; wait "$server" 2>/dev/null || true
}
hold() { # port sessions: "total PSS in MiB (KiB per session)", or why not
  local port=$1 n=$2
  coproc IDLE { "$bench" idle "$port" bench pw "$n" 2>&1; }
  local ready; read -r ready <&"${IDLE[0]}" || ready=""
  local result
  if [ "${ready%% *}" = ready ]; then
    sleep 2
    local kib; kib=$(bench_tree_pss "$(cat "$work/pid-$port")")
    result="$((kib / 1024)) MiB ($((kib / n)) KiB per session)"
  else
    result="failed: $ready"
  fi
  exec {IDLE[1]}>&-
  wait "$IDLE_PID" 2>/dev/null || true
  sleep 3  # the sessions end
  echo "$result"
}
children() { # pid: how many processes it has
  pgrep -c -P "$1" || true
}
settle() { # waits (at most 20 s) until the server has no more processes than at start
  for _ in $(seq 200); do
    [ "$(children "$server")" -le "$idle_children" ] && break
    sleep 0.1
  done
  sleep 1
}
median3() { # command printing one number: "median (lowest-highest)" of 3 runs, each
  # once the last one's sessions ended
  for _ in 1 2 3; do "$@"; settle; done | sort -n | paste -sd' ' |
    awk '{printf "%s s (%s-%s s)\n", $2, $1, $3}'
}

room=$(( $(cat /proc/sys/kernel/pid_max) - $(ls /proc | grep -c '^[0-9]') ))
rows=""
for server_name in "Debian pure-ftpd 1.0.50:$theirs:21701" "pureftpd-rs:$ours:21702"; do
  IFS=: read -r name binary port <<<"$server_name"
  start "$binary" "$port"
  idle_children=$(children "$server")
  burst=$(median3 "$bench" burst "$port" bench pw 300)
  thousand=$(hold "$port" 1000)
  if [ "$room" -gt 25000 ]; then
    tenthousand=$(hold "$port" 10000)
  else
    tenthousand="not measured: room for $room processes"
  fi
  stop
  rows+="| $name | $burst | $thousand | $tenthousand |"$'\n'
done
echo "| server | 300 logins at once | 1,000 idle sessions, PSS | 10,000 idle sessions, PSS |"
echo "|---|---|---|---|"
printf '%s' "$rows"
