# Sourced by the server benchmarks (bench-server.sh, bench-policies.sh,
# bench-ftps-stor.sh): the set-up they share. After `bench_setup <name> [tmp root]`:
#   $bench  the client (ftpd/examples/ftpbench.rs), $ours and $theirs the two servers,
#   $work   a fresh directory (mode 0755) with home/ owned by 4242, removed at exit,
#   $boards a fresh directory on a tmpfs for our servers' scoreboards, removed at exit,
#   pids    the array whose processes are killed at exit.
# bench_theirs_on_tmpfs runs Debian's server with its scoreboard on a tmpfs too.
# bench_account adds the account `bench` (password `pw`, uid 4242) with our pure-pw and
# exports PURE_PASSWDFILE/PURE_DBFILE; bench_cheap_hash gives it a SHA-512-crypt hash
# (or an MD5-crypt one); bench_another_account adds one more with the same uid and home;
# bench_certificate writes $work/tls.pem.

bench_setup() { # name [directory to work in]
  [ "$(id -u)" = 0 ] || { echo "run as root: the servers switch to the account's uid" >&2; exit 1; }
  cargo build --release -q -p ftpd --bin pure-ftpd --example ftpbench
  cargo build --release -q -p pure-pw
  bench=$PWD/target/release/examples/ftpbench
  ours=$PWD/target/release/pure-ftpd
  theirs=/usr/sbin/pure-ftpd
  work=$(mktemp -d "${2:-/tmp}/pureftpd-$1.XXXXXX")
  boards=$(mktemp -d "/dev/shm/pureftpd-$1-boards.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
  chmod 755 "$work"
  mkdir -p "$work/home"
  chown 4242:4242 "$work/home"
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work" "$boards"
}

# Scoreboards on a tmpfs, as on a Debian system, where /run is one: on this VM /run is on
# ext4, where Debian's server, which creates and removes a file per session, slows down
# burst after burst (ext4 skips the inodes freed in the last seconds). Debian's server gets
# a tmpfs on /run/pure-ftpd in a mount namespace of its own: nothing outside it sees the
# mount, and the mount goes with the server. It execs: call it as the last command of a
# background subshell (`bench_theirs_on_tmpfs -S ... &`), and $! is the server.
bench_theirs_on_tmpfs() { # the server's arguments
  exec unshare -m sh -c \
    'mkdir -p /run/pure-ftpd && mount -t tmpfs -o mode=0700 tmpfs /run/pure-ftpd && exec "$0" "$@"' \
    "$theirs" "$@"
}

bench_account() {
  export PURE_PASSWDFILE=$work/passwd PURE_DBFILE=$work/pureftpd.pdb
  printf 'pw\npw\n' | target/release/pure-pw useradd bench -u 4242 -g 4242 -d "$work/home" -m >/dev/null
}

bench_another_account() { # name: password `pw`, uid 4242, the same home
  printf 'pw\npw\n' | target/release/pure-pw useradd "$1" -u 4242 -g 4242 -d "$work/home" -m >/dev/null
}

# An account's hash (`bench` unless named) replaced by a SHA-512-crypt one (a few ms a
# login, where argon2id costs ~48 ms), so that what a login costs besides its hash shows;
# `-1` as the second argument makes it an MD5-crypt one (a tenth of that again).
bench_cheap_hash() { # [account] [openssl passwd algorithm option]
  local hash; hash=$(openssl passwd "${2:--6}" pw)
  python3 - "$PURE_PASSWDFILE" "$hash" "${1:-bench}" <<'PY'
import sys
path, hash, account = sys.argv[1], sys.argv[2], sys.argv[3]
lines = open(path).read().splitlines()
for i, line in enumerate(lines):
    fields = line.split(":")
    if fields[0] == account:
        fields[1] = hash
        lines[i] = ":".join(fields)
open(path, "w").write("\n".join(lines) + "\n")
PY
  target/release/pure-pw mkdb "$PURE_DBFILE" -f "$PURE_PASSWDFILE"
}

# One ECDSA P-256 certificate for both servers (self-signed; the client accepts it).
bench_certificate() {
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
    -subj /CN=localhost -keyout "$work/key.pem" -out "$work/cert.pem" 2>/dev/null
  cat "$work/cert.pem" "$work/key.pem" >"$work/tls.pem"
  chmod 600 "$work/tls.pem"
}

# PSS (KiB) of a process's descendants, plus its own unless the second argument is
# "below".
bench_tree_pss() { # pid [below]
  python3 - "$1" "${2:-}" <<'PY'
import os, sys
root, below = int(sys.argv[1]), sys.argv[2] == "below"
children = {}
for pid in filter(str.isdigit, os.listdir("/proc")):
    try:
        ppid = int(open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()[1])
    except OSError:
        continue
    children.setdefault(ppid, []).append(int(pid))
todo, total = (list(children.get(root, [])) if below else [root]), 0
while todo:
    pid = todo.pop()
    todo += children.get(pid, [])
    try:
        for line in open(f"/proc/{pid}/smaps_rollup"):
            if line.startswith("Pss:"):
                total += int(line.split()[1])
    except OSError:
        pass
print(total)
PY
}

# Waits (at most 5 s) until something accepts on 127.0.0.1:<port>.
bench_wait_listening() { # port
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null && return 0; sleep 0.05; done
  echo "server on port $1 did not start" >&2
  exit 1
}
