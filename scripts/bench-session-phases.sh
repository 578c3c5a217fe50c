#!/usr/bin/env bash
# Where a session's time goes, for ours and Debian's pure-ftpd with the same flags
# (-A -H), the same .pdb (a SHA-512-crypt hash) and the same client: connect, USER,
# PASS, PWD, QUIT.
#   1. Time per phase, seen by the client (median of N sessions per server, the servers
#      alternating, no tracer attached).
#   2. System calls per phase, from `strace -f` on the master during 20 sessions (the
#      tracer slows everything down, so only its counts are used): accept and fork in the
#      master, then the session up to its greeting, USER, PASS (authentication, chroot,
#      uid switch, scoreboard), PWD, QUIT up to the session's exit, and the reaping.
# Needs root and Debian's pure-ftpd package. Prints two Markdown tables.
#
#   scripts/bench-session-phases.sh [sessions per server, default 400]
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=${1:-400}
. scripts/bench-common.sh
bench_setup phases
bench_account
# A cheap SHA-512-crypt hash, so that the login's own work shows rather than argon2id's
# (about 48 ms in both servers).
bench_cheap_hash
[ -x "$theirs" ] || { echo "Debian's pure-ftpd is needed (apt-get install pure-ftpd)" >&2; exit 1; }
command -v strace >/dev/null || { echo "strace is needed (apt-get install strace)" >&2; exit 1; }
sync

start() { # binary port
  PURE_FTPD_SCOREBOARD=$work/board-$2 "$1" -l "puredb:$PURE_DBFILE" -S "127.0.0.1,$2" -A -H \
    -c 200 -C 200 -g "$work/pid-$2" >/dev/null 2>&1 &
  pids+=($!)
  bench_wait_listening "$2"
}
start "$theirs" 21401
start "$ours" 21402

# The client: one session per call of `session`, the time of each phase in seconds.
cat >"$work/client.py" <<'PY'
import socket, sys, time, statistics, json

def reply(f):
    while True:
        line = f.readline()
        if not line:
            raise SystemExit("connection closed")
        if len(line) >= 4 and line[:3].isdigit() and line[3:4] == b" ":
            return line

def session(port):
    t = [time.perf_counter()]
    s = socket.create_connection(("127.0.0.1", port))
    f = s.makefile("rb")
    reply(f); t.append(time.perf_counter())
    for cmd in (b"USER bench", b"PASS pw", b"PWD", b"QUIT"):
        s.sendall(cmd + b"\r\n"); r = reply(f); t.append(time.perf_counter())
    # QUIT ends with the server closing the connection.
    f.read(); s.close(); t.append(time.perf_counter())
    return [b - a for a, b in zip(t, t[1:])]

mode, ports, n = sys.argv[1], [int(p) for p in sys.argv[2].split(",")], int(sys.argv[3])
if mode == "trace":
    for _ in range(n):
        session(ports[0])
else:
    phases = {p: [] for p in ports}
    for _ in range(n):
        for p in ports:  # alternating servers
            phases[p].append(session(p))
    print(json.dumps({p: [statistics.median(col) * 1000 for col in zip(*v)] for p, v in phases.items()}))
PY

python3 "$work/client.py" time 21401,21402 20 >/dev/null  # warm up both
times=$(python3 "$work/client.py" time 21401,21402 "$sessions")

# One traced run of 20 sessions per server.
for port in 21401 21402; do
  master=$(cat "$work/pid-$port")
  strace -f -qq -s 48 -o "$work/trace-$port" -p "$master" &
  tracer=$!
  sleep 1
  python3 "$work/client.py" trace "$port" 20
  sleep 1
  kill -INT "$tracer"; wait "$tracer" 2>/dev/null || true
done

python3 - "$work" "$master" "$times" <<'PY'
import json, re, sys, collections
work, _, times = sys.argv[1], sys.argv[2], json.loads(sys.argv[3])
names = {"21401": "Debian pure-ftpd 1.0.50", "21402": "pureftpd-rs"}
phases = ["accept + fork (master)", "until the greeting", "USER", "PASS", "PWD", "QUIT and exit", "reaping (master)"]
line_re = re.compile(r"^(\d+)\s+(?:<\.\.\. )?(\w+)")
# A clone may be written in two lines (`<unfinished ...>`, then `<... clone resumed>`).
spawned_re = re.compile(r"^(\d+)\s+(?:<\.\.\. )?(?:clone3?|fork|vfork)(?:\(| resumed>).*\)\s+=\s+(\d+)$")
# The reply that ends each phase: after it, the session is in the next one.
ends = [('"220', 2), ('"331', 3), ('"230', 4), ('"257', 5)]
def count(port):
    master = open(f"{work}/pid-{port}").read().strip()
    per = collections.Counter()
    # A session may be several processes (ours: the monitor, its pre-login process and
    # the account's process); the phase is the session's, whichever of them writes the
    # reply that ends it.
    # A child's first calls may be written before its parent's clone returns, so the
    # family comes from a first pass over the whole trace.
    lines = open(f"{work}/trace-{port}").read().splitlines()
    parent = {}
    for line in lines:
        spawned = spawned_re.match(line)
        if spawned:
            parent[spawned.group(2)] = spawned.group(1)
    session = {}  # pid -> the session's first process (the master's child)
    for pid in parent:
        first = pid
        while parent.get(first, master) != master:
            first = parent[first]
        session[pid] = first
    stage = {}  # session -> phase index
    notable = collections.Counter()
    for line in lines:
        m = line_re.match(line)
        if not m or " resumed>" in line:
            continue
        pid, call = m.groups()
        if pid == master:
            per[6 if call in ("wait4", "waitid", "unlink", "unlinkat") else 0] += 1
            continue
        owner = session.setdefault(pid, pid)
        i = stage.setdefault(owner, 1)
        per[i] += 1
        if i == 3:
            notable[call] += 1
        if call in ("write", "sendto", "sendmsg", "writev"):
            for marker, nxt in ends:
                if f"({line.split('(', 1)[1]}".find(marker) >= 0 and nxt == i + 1:
                    stage[owner] = nxt
    return {k: v / 20 for k, v in per.items()}, notable
print("Time per phase seen by the client (median ms):")
print()
print("| server | " + " | ".join(["connect to greeting", "USER", "PASS", "PWD", "QUIT", "close"]) + " |")
print("|---" * 7 + "|")
for port in ("21401", "21402"):
    print(f"| {names[port]} | " + " | ".join(f"{v:.3f}" for v in times[port]) + " |")
print()
print("System calls per session, by phase (strace -f, 20 sessions, averaged):")
print()
print("| server | " + " | ".join(phases) + " | total |")
print("|---" * (len(phases) + 2) + "|")
for port in ("21401", "21402"):
    per, notable = count(port)
    print(f"| {names[port]} | " + " | ".join(f"{per.get(i, 0):.1f}" for i in range(len(phases))) + f" | {sum(per.values()):.1f} |")
for port in ("21401", "21402"):
    per, notable = count(port)
    print()
    print(f"{names[port]}, PASS phase, system calls per session: " + ", ".join(f"{c} {n/20:.1f}" for c, n in notable.most_common(25)))
PY
