#!/usr/bin/env bash
# Installs what the tests need, if missing: Debian's pure-ftpd package (the oracle the
# compatibility tests compare against), curl, lftp and bc, systemd's tools, strace, and
# cargo-fuzz, e2fsprogs. Idempotent;
# installing packages needs root (without it, it only says what is missing).
set -euo pipefail

missing=()
[ -x /usr/sbin/pure-ftpd ] && [ -x /usr/bin/pure-pw ] || missing+=(pure-ftpd)
command -v curl >/dev/null || missing+=(curl)
command -v lftp >/dev/null || missing+=(lftp)
command -v bc >/dev/null || missing+=(bc)
# Account directories (issue 11): real servers the tests start in temporary directories.
command -v mariadbd >/dev/null || missing+=(mariadb-server)
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || missing+=(postgresql)
command -v slapd >/dev/null || missing+=(slapd)
command -v ldapadd >/dev/null || missing+=(ldap-utils)
command -v haproxy >/dev/null || missing+=(haproxy)
# The systemd units' tests (systemd_units.rs): systemd-analyze, systemd-socket-activate
# (the package only: nothing is started), strace, and Debian's pure-ftpd-wrapper.
command -v systemd-analyze >/dev/null && command -v systemd-socket-activate >/dev/null || missing+=(systemd)
command -v strace >/dev/null || missing+=(strace)
[ -x /usr/sbin/pure-ftpd-wrapper ] || missing+=(pure-ftpd-common)
# The package test (debian_package.rs) installs into a minimal Debian made by debootstrap.
command -v debootstrap >/dev/null || missing+=(debootstrap)
# The man pages' and completions' tests (man_pages.rs).
command -v groff >/dev/null || missing+=(groff-base)
command -v zsh >/dev/null || missing+=(zsh)
# pure-sftpd's clients (sftp.rs): OpenSSH's sftp, ssh, scp and ssh-keygen.
command -v sftp >/dev/null && command -v ssh-keygen >/dev/null || missing+=(openssh-client)
# ... and OpenSSH's sshd with internal-sftp, the reference for SFTP semantics
# (sftp_reference.rs starts its own on a free port; the package's service is not started).
[ -x /usr/sbin/sshd ] || missing+=(openssh-server)
# rclone's sftp backend, one more real client (sftp_clients.rs).
command -v rclone >/dev/null || missing+=(rclone)
# A zone file for the time-zone test (read_at_start.rs).
[ -f /usr/share/zoneinfo/Asia/Karachi ] || missing+=(tzdata)
# Uploads onto an ext4 of the test's own (ext4_uploads.rs): mkfs.ext4 and losetup.
command -v mkfs.ext4 >/dev/null || missing+=(e2fsprogs)
command -v losetup >/dev/null || missing+=(mount)

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

# Debian's MySQL, PostgreSQL and LDAP builds of Pure-FTPd, the oracle for those backends.
# They conflict with the pure-ftpd package: unpacked, not installed.
oracle=/opt/pureftpd-rs-oracle
if [ "$(id -u)" = 0 ]; then
  for flavour in mysql postgresql ldap; do
    if [ ! -x "$oracle/usr/sbin/pure-ftpd-$flavour" ]; then
      scratch=$(mktemp -d)
      (cd "$scratch" && apt-get download -qq "pure-ftpd-$flavour" >/dev/null 2>&1) || {
        apt-get update -qq && (cd "$scratch" && apt-get download -qq "pure-ftpd-$flavour")
      }
      mkdir -p "$oracle"
      dpkg -x "$scratch"/pure-ftpd-"$flavour"_*.deb "$oracle"
      rm -rf "$scratch"
    fi
  done
  # Pure-FTPd's LDAP schema, for the slapd the tests start: in pure-ftpd-common's
  # documentation, which a system may be set to leave out.
  if [ ! -f /usr/share/doc/pure-ftpd/pureftpd.schema ] &&
    [ ! -f "$oracle/usr/share/doc/pure-ftpd/pureftpd.schema" ]; then
    scratch=$(mktemp -d)
    (cd "$scratch" && apt-get download -qq pure-ftpd-common)
    dpkg -x "$scratch"/pure-ftpd-common_*.deb "$oracle"
    rm -rf "$scratch"
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

# The metrics test (metrics.rs) parses each scrape with Prometheus' own Python client.
if ! python3 -c 'import prometheus_client' 2>/dev/null; then
  python3 -m pip install -q prometheus_client 2>/dev/null ||
    python3 -m pip install -q --break-system-packages prometheus_client
fi

# pure-sftpd's tests (sftp.rs): paramiko as a client, ssh-audit for the algorithms.
for module in paramiko ssh_audit; do
  if ! python3 -c "import $module" 2>/dev/null; then
    package=${module//_/-}
    python3 -m pip install -q "$package" 2>/dev/null ||
      python3 -m pip install -q --break-system-packages "$package"
  fi
done

if ! cargo fuzz --version >/dev/null 2>&1; then
  cargo install cargo-fuzz --locked -q
fi
