#!/usr/bin/env bash
# Builds everything and starts a server on 127.0.0.1:2121 that serves a demo directory
# to the virtual user "demo" (password "demo"). Works as any user: not started as root,
# the session runs as you, confined to the demo directory. Ctrl-C stops it.
#
#   scripts/demo.sh            then: curl -u demo:demo ftp://127.0.0.1:2121/
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -q --bin pure-ftpd --bin pure-pw
dir=${DEMO_DIR:-$PWD/target/demo}
mkdir -p "$dir/home"
echo "Hello from pureftpd-rs" > "$dir/home/hello.txt"
if [ "$(id -u)" = 0 ]; then
  # As root the session really switches user: give the demo account to nobody.
  uid=65534 gid=65534
  chown -R "$uid:$gid" "$dir/home"
else
  uid=$(id -u) gid=$(id -g)
fi
export PURE_PASSWDFILE=$dir/pureftpd.passwd PURE_DBFILE=$dir/pureftpd.pdb
rm -f "$PURE_PASSWDFILE"
printf 'demo\ndemo\n' | target/release/pure-pw useradd demo -u "$uid" -g "$gid" -d "$dir/home" -m >/dev/null
echo "Serving $dir/home on ftp://127.0.0.1:2121/ as user demo, password demo (Ctrl-C stops)"
exec target/release/pure-ftpd -S 127.0.0.1,2121 -l "puredb:$PURE_DBFILE" -E -H
