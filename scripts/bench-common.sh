# Sourced by the server benchmarks (bench-server.sh, bench-policies.sh,
# bench-ftps-stor.sh): the set-up they share. After `bench_setup <name> [tmp root]`:
#   $bench  the client (ftpd/examples/ftpbench.rs), $ours and $theirs the two servers,
#   $work   a fresh directory (mode 0755) with home/ owned by 4242, removed at exit,
#   pids    the array whose processes are killed at exit.
# bench_account adds the account `bench` (password `pw`, uid 4242) with our pure-pw and
# exports PURE_PASSWDFILE/PURE_DBFILE; bench_cheap_hash gives it a SHA-512-crypt hash;
# bench_certificate writes $work/tls.pem.

bench_setup() { # name [directory to work in]
  [ "$(id -u)" = 0 ] || { echo "run as root: the servers switch to the account's uid" >&2; exit 1; }
  cargo build --release -q -p ftpd --bin pure-ftpd --example ftpbench
  cargo build --release -q -p pure-pw
  bench=$PWD/target/release/examples/ftpbench
  ours=$PWD/target/release/pure-ftpd
  theirs=/usr/sbin/pure-ftpd
  work=$(mktemp -d "${2:-/tmp}/pureftpd-$1.XXXXXX")
  pids=()
  trap bench_cleanup EXIT
  chmod 755 "$work"
  mkdir -p "$work/home"
  chown 4242:4242 "$work/home"
}

bench_cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  rm -rf "$work"
}

bench_account() {
  export PURE_PASSWDFILE=$work/passwd PURE_DBFILE=$work/pureftpd.pdb
  printf 'pw\npw\n' | target/release/pure-pw useradd bench -u 4242 -g 4242 -d "$work/home" -m >/dev/null
}

# An account's hash (`bench` unless named) replaced by a SHA-512-crypt one (a few ms a
# login, where argon2id costs ~48 ms), so that what a login costs besides its hash shows.
bench_cheap_hash() { # [account]
  local hash; hash=$(openssl passwd -6 pw)
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
