#!/usr/bin/env bash
# FTPS transfer benchmark: 1 GiB STOR (AUTH TLS, PROT P, TLS 1.3 AES-256-GCM) alternating
# between Debian's pure-ftpd and ours, so that both meet the same page-cache writeback;
# prints each run, the medians, and the CPU time (user, system) each server spent on all
# of its uploads. The home is on the disk, or on tmpfs with `--tmpfs` (no writeback: the
# CPU cost shows alone). With `--clear`, the same for plain STOR (no TLS). With `--retr`,
# downloads of one 1 GiB file instead (read from the page cache, so the disk plays no
# part: what is measured is the server's sending and the client's receiving). With
# `--curl`, uploads are sent by curl from a 1 GiB file in the page cache (the client the
# performance issue names) instead of ftpbench's memory.
# Needs root (the servers switch to the account's uid) and Debian's pure-ftpd package.
#
#   scripts/bench-ftps-stor.sh [runs] [--tmpfs] [--clear] [--retr] [--curl]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-6}
root=/tmp clear=no direction=stor client=ftpbench
for option in "${@:2}"; do
  case $option in
    --tmpfs) root=/dev/shm ;;
    --clear) clear=yes ;;
    --retr) direction=retr ;;
    --curl) client=curl ;;
    *) echo "unknown option $option" >&2; exit 2 ;;
  esac
done
[ -x /usr/sbin/pure-ftpd ] || { echo "Debian's pure-ftpd is needed (apt-get install pure-ftpd)" >&2; exit 1; }
. scripts/bench-common.sh
bench_setup ftps-stor "$root"
bench_account
bench_certificate
mode=$direction tls=()
[ "$clear" = no ] && mode=ftps-$direction tls=(-Y 1 -2 "$work/tls.pem")
if [ "$direction" = retr ]; then
  dd if=/dev/zero of="$work/home/down.bin" bs=1M count=1024 status=none
  chown 4242:4242 "$work/home/down.bin"
fi
curl_tls=()
[ "$clear" = no ] && curl_tls=(--ssl-reqd --insecure)
if [ "$client" = curl ]; then
  [ "$direction" = stor ] || { echo "--curl is for uploads" >&2; exit 2; }
  dd if=/dev/zero of="$work/source.bin" bs=1M count=1024 status=none
  cat "$work/source.bin" >/dev/null
fi
# The servers run under /usr/bin/time: stop them, not only their timer, on any exit.
trap 'for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null || true; done; bench_cleanup' EXIT
timer=()
[ -x /usr/bin/time ] && timer=(/usr/bin/time -f "%U %S")
declare -A port=([debian]=21361 [ours]=21362) binary=([debian]=$theirs [ours]=$ours)
for name in debian ours; do
  "${timer[@]}" "${binary[$name]}" -l "puredb:$PURE_DBFILE" -S "127.0.0.1,${port[$name]}" -H -4 \
    ${tls[@]+"${tls[@]}"} >/dev/null 2>"$work/time-$name" &
  pids+=($!)
done
sleep 1
declare -A rates=([debian]="" [ours]="")
for i in $(seq "$runs"); do
  for name in debian ours; do
    if [ "$direction" = retr ]; then
      rate=$("$bench" "$mode" "${port[$name]}" bench pw down.bin 2>/dev/null)
    else
      rm -f "$work"/home/up-*.bin
      sync
      if [ "$client" = curl ]; then
        rate=$(curl -s -o /dev/null -w '%{speed_upload}' ${curl_tls[@]+"${curl_tls[@]}"} \
          -T "$work/source.bin" "ftp://bench:pw@127.0.0.1:${port[$name]}/up-$name.bin" |
          awk '{printf "%.0f", $1 / 1048576}')
      else
        rate=$("$bench" "$mode" "${port[$name]}" bench pw "up-$name.bin" 1024 2>/dev/null)
      fi
    fi
    rates[$name]+="$rate "
    echo "run $i $name: $rate MB/s"
  done
done
median() { tr ' ' '\n' | grep . | sort -n | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
for p in "${pids[@]}"; do pkill -TERM -P "$p" 2>/dev/null || kill "$p"; done
wait "${pids[@]}" 2>/dev/null || true
pids=()
for name in debian ours; do
  cpu=$(tail -1 "$work/time-$name" 2>/dev/null || true)
  echo "$name: median $(echo "${rates[$name]}" | median) MB/s over $runs runs (${rates[$name]% }); CPU user/system for all its transfers: ${cpu:-n/a} s"
done
