#!/usr/bin/env bash
# pure-sftpd against OpenSSH's sshd (internal-sftp, ChrootDirectory) on the same machine,
# alternating run by run, with the same client (OpenSSH's sftp, its default algorithms)
# and the same password hash (the system account's yescrypt hash from /etc/shadow, copied
# into our .pdb account):
#   1 GiB put and get (files on tmpfs at both ends, so that no disk is measured), MB/s;
#   logins per second: 4 clients, each running `sftp` with a batch of `bye`.
# Medians of the runs. Needs root, openssh-server and the system account that
# scripts/install-test-deps.sh makes (pureftpd-tester, password "Tester pw 1").
#
#   scripts/bench-sftp.sh [runs] [logins per client]
# (BENCH_SFTP_MB=64 for a quick try with a smaller file.)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-3}
logins=${2:-50}
mb=${BENCH_SFTP_MB:-1024}
user=pureftpd-tester
password='Tester pw 1'
[ "$(id -u)" = 0 ] || { echo "run as root" >&2; exit 1; }
[ -x /usr/sbin/sshd ] || { echo "needs openssh-server" >&2; exit 1; }
id "$user" >/dev/null || { echo "needs the account $user (scripts/install-test-deps.sh)" >&2; exit 1; }
cargo build --release -q -p ftpd --bin pure-sftpd
cargo build --release -q -p pure-pw
# sshd refuses a chroot below a directory others may write (/tmp): /run is root's.
work=$(mktemp -d /run/pureftpd-bench-sftp.XXXXXX)
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; rm -rf "$work"; }
trap cleanup EXIT
chmod 755 "$work"
uid=$(id -u "$user"); gid=$(id -g "$user")
for side in ours theirs; do
  mkdir -p "$work/$side/w"
  chmod 755 "$work/$side"
  chown "$uid:$gid" "$work/$side/w"
done
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -f "$work/host_key"
mkdir -m 700 "$work/keys"
cp "$work/host_key" "$work/keys/ssh_host_ed25519_key"
ssh-keygen -q -t rsa -b 3072 -N '' -f "$work/keys/ssh_host_rsa_key"

# Our account: the system account's own hash, uid and a chroot like sshd's.
hash=$(getent shadow "$user" | cut -d: -f2)
export PURE_PASSWDFILE=$work/passwd PURE_DBFILE=$work/pureftpd.pdb
printf '%s:%s:%s:%s::%s/./::::::::::::\n' "$user" "$hash" "$uid" "$gid" "$work/ours" >"$PURE_PASSWDFILE"
target/release/pure-pw mkdb "$PURE_DBFILE" -f "$PURE_PASSWDFILE"

port_ours=$((20000 + RANDOM % 20000)); port_theirs=$((port_ours + 1))
cat >"$work/sshd_config" <<CONF
ListenAddress 127.0.0.1
Port $port_theirs
HostKey $work/host_key
PidFile none
UsePAM no
PasswordAuthentication yes
KbdInteractiveAuthentication no
PubkeyAuthentication no
AllowUsers $user
Subsystem sftp internal-sftp
ForceCommand internal-sftp
ChrootDirectory $work/theirs
MaxStartups 100
CONF
/usr/sbin/sshd -D -f "$work/sshd_config" & pids+=($!)
PURE_FTPD_SCOREBOARD=$work/board target/release/pure-sftpd -S "127.0.0.1,$port_ours" \
  -l "puredb:$PURE_DBFILE" -H -c 100 -C 100 --hostkeydir "$work/keys" & pids+=($!)
sleep 1

printf '#!/bin/sh\nprintf "%%s\\n" "%s"\n' "$password" >"$work/askpass"
chmod 755 "$work/askpass"
head -c $((mb * 1048576)) /dev/urandom >"$work/big.bin"
client() { # port batch-file
  SSH_ASKPASS=$work/askpass SSH_ASKPASS_REQUIRE=force sftp -q -P "$1" -o BatchMode=no \
    -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o PubkeyAuthentication=no \
    -o LogLevel=ERROR -b "$2" "$user@127.0.0.1" >/dev/null
}
echo "put $work/big.bin w/big.bin" >"$work/put"
echo "get w/big.bin $work/back.bin" >"$work/get"
echo "bye" >"$work/bye"
seconds() { local start; start=$(date +%s.%N); "$@"; echo "$(date +%s.%N) - $start" | bc -l; }
mbps() { echo "scale=1; $mb * 1.048576 / $1" | bc -l; }
login_rate() { # port
  local start; start=$(date +%s.%N)
  for _ in 1 2 3 4; do
    (for _ in $(seq "$logins"); do client "$1" "$work/bye"; done) &
  done
  wait
  echo "scale=1; 4 * $logins / ($(date +%s.%N) - $start)" | bc -l
}
declare -A put get rate
for run in $(seq "$runs"); do
  order="ours theirs"; [ $((run % 2)) = 0 ] && order="theirs ours"
  for side in $order; do
    port=$port_ours; [ "$side" = theirs ] && port=$port_theirs
    rm -f "$work/$side/w/big.bin" "$work/back.bin"
    put[$side]+="$(mbps "$(seconds client "$port" "$work/put")") "
    cmp -s "$work/big.bin" "$work/$side/w/big.bin" || { echo "$side: put damaged the file" >&2; exit 1; }
    get[$side]+="$(mbps "$(seconds client "$port" "$work/get")") "
    cmp -s "$work/big.bin" "$work/back.bin" || { echo "$side: get damaged the file" >&2; exit 1; }
    rate[$side]+="$(login_rate "$port") "
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
printf '| server | %s MiB put (MB/s) | %s MiB get (MB/s) | logins/s (4 clients) |\n|---|---|---|---|\n' "$mb" "$mb"
for side in theirs ours; do
  name="OpenSSH $(ssh -V 2>&1 | cut -d, -f1 | cut -d_ -f2) internal-sftp"
  [ "$side" = ours ] && name=pure-sftpd
  printf '| %s | %s | %s | %s |\n' "$name" "$(median <<<"${put[$side]}")" \
    "$(median <<<"${get[$side]}")" "$(median <<<"${rate[$side]}")"
done
ratio() { echo "scale=2; $(median <<<"$1") / $(median <<<"$2")" | bc -l; }
printf '| ours / OpenSSH | %s | %s | %s |\n' "$(ratio "${put[ours]}" "${put[theirs]}")" \
  "$(ratio "${get[ours]}" "${get[theirs]}")" "$(ratio "${rate[ours]}" "${rate[theirs]}")"
echo "runs: $runs; every figure: put ${put[*]}; get ${get[*]}; logins ${rate[*]}" | tr -s ' '
