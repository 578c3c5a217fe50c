#!/usr/bin/env bash
# Installs what the tests need, if missing: Debian's pure-ftpd package (the oracle the
# compatibility tests compare against), curl, lftp and bc, and cargo-fuzz. Idempotent;
# installing packages needs root (without it, it only says what is missing).
set -euo pipefail

missing=()
[ -x /usr/sbin/pure-ftpd ] && [ -x /usr/bin/pure-pw ] || missing+=(pure-ftpd)
command -v curl >/dev/null || missing+=(curl)
command -v lftp >/dev/null || missing+=(lftp)
command -v bc >/dev/null || missing+=(bc)

if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "missing Debian packages: ${missing[*]} (run as root to install them)" >&2
  else
    # Keep the package from starting its own daemon: tests start their servers.
    created_policy=0
    if [ ! -e /usr/sbin/policy-rc.d ]; then
      printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
      chmod 755 /usr/sbin/policy-rc.d
      created_policy=1
    fi
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d
  fi
fi

# System accounts the server tests log in with: anonymous FTP needs `ftp` (Debian's
# convention: home /srv/ftp), and the unix backend a user with a real shadow hash.
if [ "$(id -u)" = 0 ]; then
  if ! id ftp >/dev/null 2>&1; then
    useradd --system --home-dir /srv/ftp --shell /usr/sbin/nologin ftp
  fi
  mkdir -p /srv/ftp
  if ! id pureftpd-tester >/dev/null 2>&1; then
    useradd --create-home --shell /bin/bash pureftpd-tester
    echo 'pureftpd-tester:Tester pw 1' | chpasswd
  fi
fi

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked -q
fi
