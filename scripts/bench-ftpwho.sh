#!/usr/bin/env bash
# pure-ftpwho with 1,000 sessions: ours and Debian's, each reading 1,000 records of its
# own server's format (written here, all naming this script's live process, half of
# them downloading), best of 5 runs, in each output format.
# Needs root (Debian's pure-ftpwho reads /var/run/pure-ftpd, root-owned records).
#
#   scripts/bench-ftpwho.sh [sessions]
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=${1:-1000}
[ "$(id -u)" = 0 ] || { echo "run as root (Debian's pure-ftpwho needs it)" >&2; exit 1; }
cargo build --release -q -p pure-ftpwho
ours=$PWD/target/release/pure-ftpwho
theirs=/usr/sbin/pure-ftpwho
board=$(mktemp -d /tmp/pureftpd-bench-ftpwho.XXXXXX)
system=/var/run/pure-ftpd
mkdir -p "$system"; chmod 700 "$system"
cleanup() { rm -rf "$board"; rm -f "$system"/client-9*; }
trap cleanup EXIT
python3 - "$board" "$system" "$sessions" "$$" <<'PY'
import os, struct, sys, time
board, system, n, pid = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
now = int(time.time())
def sockaddr(port):
    raw = struct.pack("<H", 2) + struct.pack(">H", port) + bytes([127, 0, 0, 1])
    return raw.ljust(128, b"\0")
for i in range(n):
    downloading = i % 2 == 0
    name = b"dir/file-%05d.bin" % i if downloading else b""
    size, current = (1 << 30, (i + 1) << 20) if downloading else (0, 0)
    state = "DOWNLOAD" if downloading else "IDLE"
    text = ("pureftpd-rs-scoreboard 1\npid=%d\nstate=%s\naccount=user%d\npeer=127.0.0.1\n"
            "peer_port=%d\nlocal=127.0.0.1\nlocal_port=21\nconnected=%d\ntransfer_started=%d\n"
            "file=%s\nrestart=0\nsize=%d\ncurrent=%d\nencrypted=0\n" %
            (pid, state, i, 40000 + i, now - 100, now - 10, name.decode(), size, current)).encode()
    with open(os.path.join(board, "session-%d" % (900000 + i)), "wb") as f:
        f.write(text.ljust(4096, b"\0"))
    entry = struct.pack("<II", 2 if downloading else 1, pid) + sockaddr(40000 + i) + sockaddr(21)
    entry += struct.pack("<qqqqq", now - 100, now - 10, 0, size, current)
    entry += (b"user%d" % i).ljust(129, b"\0") + name.ljust(1024, b"\0")
    entry = entry.ljust(1464, b"\0")
    path = os.path.join(system, "client-%08d" % (90000000 + i))
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    os.write(fd, entry); os.close(fd)
PY
best() { # command...: lowest wall time of 5 runs, in ms
  local low=""
  for _ in 1 2 3 4 5; do
    s=$(date +%s%N); "$@" >/dev/null; e=$(date +%s%N)
    t=$(( (e - s) / 1000000 )); if [ -z "$low" ] || [ "$t" -lt "$low" ]; then low=$t; fi
  done
  echo "$low"
}
echo "| pure-ftpwho, $sessions sessions (ms, best of 5) | text | -s | -x | -w |"
echo "|---|---|---|---|---|"
if [ -x "$theirs" ]; then
  lines=$("$theirs" -s -H | grep -c '|user' || true)
  [ "$lines" -ge "$sessions" ] || echo "warning: Debian's pure-ftpwho listed $lines of $sessions" >&2
  printf '| Debian 1.0.50 | %s | %s | %s | %s |\n' "$(best "$theirs" -H)" "$(best "$theirs" -s -H)" \
    "$(best "$theirs" -x -H)" "$(best "$theirs" -w -H)"
fi
export PURE_FTPD_SCOREBOARD=$board
lines=$("$ours" -s -H | grep -c '|user' || true)
[ "$lines" -eq "$sessions" ] || echo "warning: ours listed $lines of $sessions" >&2
printf '| pureftpd-rs | %s | %s | %s | %s |\n' "$(best "$ours" -H)" "$(best "$ours" -s -H)" \
  "$(best "$ours" -x -H)" "$(best "$ours" -w -H)"
