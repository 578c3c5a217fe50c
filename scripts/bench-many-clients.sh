#!/usr/bin/env bash
# Many clients on one server, ours and Debian's pure-ftpd with the same flags, the same
# .pdb (a SHA-512-crypt hash) and the same client (ftpd/examples/ftpbench.rs):
#   the time for 300 logins started at the same moment, both servers running, bursts
#   alternating between them (median and range of 5 each; a burst starts once the
#   sessions of the one before have ended, not timing their exits too), and the same
#   with an account whose hash is MD5-crypt (a tenth of SHA-512-crypt's cost: what
#   a login costs besides its hash); a third server in the bursts is ours started as
#   the account's uid, which has no privilege to separate: one process a login, no
#   pre-login process, no chroot, no id switch (what privilege separation costs);
#   then, one server at a time, the memory (PSS) of the master and all its sessions
#   with 1,000 and with 10,000 logged-in idle sessions held (10,000 only where the
#   machine has the processes and descriptors for it).
# Needs root and Debian's pure-ftpd package.
#
#   scripts/bench-many-clients.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. scripts/bench-common.sh
bench_setup many
bench_account
bench_another_account md5
bench_cheap_hash md5 -1
bench_cheap_hash
# Both ends need a descriptor per session; the client holds them all in one process.
ulimit -n "$(ulimit -Hn)"
sync

start() { # binary port: the server's pid in $server
  local run=$1
  [ "$1" = "$theirs" ] && run=bench_theirs_on_tmpfs  # see bench-common.sh
  PURE_FTPD_SCOREBOARD=$boards/board-$2 "$run" -l "puredb:$PURE_DBFILE" -S "127.0.0.1,$2" -A -H -4 \
    -c 11000 -C 11000 -p 20000:44000 -g "$work/pid-$2" >/dev/null 2>&1 &
  server=$!
  pids+=("$server")
  bench_wait_listening "$2"
}
stop() { # pid
  kill "$1"; wait "$1" 2>/dev/null || true
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
settle() { # pid baseline: waits (at most 20 s) until the server has no more processes
  # than it had at start
  for _ in $(seq 200); do
    [ "$(children "$1")" -le "$2" ] && break
    sleep 0.1
  done
  sleep 1
}
summary() { # numbers: "median s (lowest-highest s)"
  printf '%s\n' "$@" | sort -n | awk '{v[NR]=$1} END{m=(NR%2)?v[(NR+1)/2]:(v[NR/2]+v[NR/2+1])/2;
    printf "%.3f s (%s-%s s)\n", m, v[1], v[NR]}'
}

start_unprivileged() { # port: ours as the account's uid (it reads the .pdb, writes its
  # scoreboard in a directory of its own); the server's pid in $server
  chmod 644 "$PURE_DBFILE"
  chmod 711 "$boards"
  mkdir -p "$boards/unprivileged"
  chown 4242:4242 "$boards/unprivileged"
  PURE_FTPD_SCOREBOARD=$boards/unprivileged setpriv --reuid 4242 --regid 4242 --clear-groups \
    "$ours" -l "puredb:$PURE_DBFILE" -S "127.0.0.1,$1" -H -4 -c 11000 -C 11000 -p 20000:44000 \
    >/dev/null 2>&1 &
  server=$!
  pids+=("$server")
  bench_wait_listening "$1"
}

# The servers up side by side, bursts alternating: the machine's drift from minute to
# minute is in every column alike.
declare -A server_of idle_of times
start "$theirs" 21701; server_of[debian]=$server
start "$ours" 21702; server_of[rs]=$server
start_unprivileged 21705; server_of[unprivileged]=$server
for who in debian rs unprivileged; do idle_of[$who]=$(children "${server_of[$who]}"); done
for account in bench md5; do
  for round in 0 1 2 3 4 5; do  # round 0 warms them up and is not counted
    for side in debian:21701 rs:21702 unprivileged:21705; do
      IFS=: read -r who port <<<"$side"
      t=$("$bench" burst "$port" "$account" pw 300)
      settle "${server_of[$who]}" "${idle_of[$who]}"
      [ "$round" = 0 ] || times[$who-$account]+="$t "
    done
  done
done
for who in debian rs unprivileged; do stop "${server_of[$who]}"; done

room=$(( $(cat /proc/sys/kernel/pid_max) - $(ls /proc | grep -c '^[0-9]') ))
rows=""
for server_name in "Debian pure-ftpd 1.0.50:$theirs:21703:debian" "pureftpd-rs:$ours:21704:rs"; do
  IFS=: read -r name binary port who <<<"$server_name"
  start "$binary" "$port"
  thousand=$(hold "$port" 1000)
  if [ "$room" -gt 25000 ]; then
    tenthousand=$(hold "$port" 10000)
  else
    tenthousand="not measured: room for $room processes"
  fi
  stop "$server"
  # shellcheck disable=SC2086
  rows+="| $name | $(summary ${times[$who-bench]}) | $(summary ${times[$who-md5]}) | $thousand | $tenthousand |"$'\n'
done
echo "| server | 300 logins at once | the same, MD5-crypt | 1,000 idle sessions, PSS | 10,000 idle sessions, PSS |"
echo "|---|---|---|---|---|"
printf '%s' "$rows"
# shellcheck disable=SC2086
echo "| pureftpd-rs not started as root (no pre-login process) | $(summary ${times[unprivileged-bench]}) | $(summary ${times[unprivileged-md5]}) | | |"
# shellcheck disable=SC2086
for who in debian rs unprivileged; do echo "$who: SHA-512-crypt ${times[$who-bench]}; MD5-crypt ${times[$who-md5]}"; done
