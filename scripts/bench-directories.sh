#!/usr/bin/env bash
# Account-directory benchmark: logins per second and the latency of one login (p50, p99)
# through -l mysql:, -l pgsql:, -l ldap: and -l pam, 20 clients for a few seconds, with
# Debian's builds (pure-ftpd-mysql, pure-ftpd-ldap, pure-ftpd -l pam) and ours on the
# same database, configuration and account, alternating, two rounds each. The account's
# password is stored in clear (the cheapest check), so the figures measure the backends,
# not a hash. Debian's PostgreSQL build cannot log in at all (1.0.50's bug), so its row
# has ours only. Starts its own MariaDB, PostgreSQL and slapd in a temporary directory.
# Needs root (the servers switch uids; PAM reads /etc/shadow).
#
#   scripts/bench-directories.sh [seconds]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-5}
. scripts/bench-common.sh
bench_setup bench-directories
oracle=/opt/pureftpd-rs-oracle/usr/sbin
chown nobody:nogroup "$work"

# MariaDB.
mariadb-install-db --no-defaults --datadir="$work/mysql" --user=nobody \
  --auth-root-authentication-method=normal --skip-test-db >/dev/null 2>&1
mariadbd --no-defaults --datadir="$work/mysql" --socket="$work/mysqld.sock" --skip-networking \
  --user=nobody --skip-log-bin --max-connections=500 --pid-file="$work/mysqld.pid" \
  >"$work/mysqld.log" 2>&1 &
pids+=($!)
# PostgreSQL (as nobody: it refuses root).
pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort | tail -1)
setpriv --reuid nobody --regid nogroup --clear-groups -- "$pgbin/initdb" -D "$work/pg" \
  -U postgres --auth=trust --no-sync >/dev/null
setpriv --reuid nobody --regid nogroup --clear-groups -- "$pgbin/postgres" -D "$work/pg" \
  -k "$work" -c listen_addresses= -c fsync=off -c max_connections=300 >"$work/pg.log" 2>&1 &
pids+=($!)
# slapd with Pure-FTPd's schema (pure-ftpd-common's documentation, or the copy
# install-test-deps.sh unpacks).
schema=/usr/share/doc/pure-ftpd/pureftpd.schema
[ -f "$schema" ] || schema=$oracle/../share/doc/pure-ftpd/pureftpd.schema
mkdir "$work/ldap"
cat >"$work/slapd.conf" <<EOF
include /etc/ldap/schema/core.schema
include /etc/ldap/schema/cosine.schema
include /etc/ldap/schema/nis.schema
include $schema
pidfile $work/slapd.pid
modulepath /usr/lib/ldap
moduleload back_mdb
database mdb
suffix "dc=example,dc=com"
rootdn "cn=admin,dc=example,dc=com"
rootpw adminpw
directory $work/ldap
EOF
slapd -f "$work/slapd.conf" -h "ldap://127.0.0.1:21399/" -d 0 >"$work/slapd.log" 2>&1 &
pids+=($!)
for _ in $(seq 200); do
  [ -S "$work/mysqld.sock" ] && [ -S "$work/.s.PGSQL.5432" ] &&
    (exec 3<>/dev/tcp/127.0.0.1/21399) 2>/dev/null && break
  sleep 0.1
done
sleep 1

table="CREATE TABLE users (login VARCHAR(64) PRIMARY KEY, password VARCHAR(255), uid INT, gid INT, dir VARCHAR(255))"
row="INSERT INTO users VALUES ('bench', 'pw', 4242, 4242, '$work/home')"
mariadb --no-defaults -S "$work/mysqld.sock" -uroot -e "CREATE DATABASE ftp; USE ftp; $table; $row;"
psql -X -q -h "$work" -U postgres -d postgres -c "CREATE DATABASE ftp" >/dev/null
psql -X -q -h "$work" -U postgres -d ftp -c "$table; $row;" >/dev/null
ldapadd -x -H ldap://127.0.0.1:21399 -D cn=admin,dc=example,dc=com -w adminpw >/dev/null <<EOF
dn: dc=example,dc=com
objectClass: dcObject
objectClass: organization
o: Example
dc: example

dn: uid=bench,dc=example,dc=com
objectClass: account
objectClass: posixAccount
uid: bench
cn: bench
uidNumber: 4242
gidNumber: 4242
homeDirectory: $work/home
userPassword: pw
EOF

queries() { # prefix
  echo "$1Crypt cleartext"
  echo "$1GetPW SELECT password FROM users WHERE login='\\L'"
  echo "$1GetUID SELECT uid FROM users WHERE login='\\L'"
  echo "$1GetGID SELECT gid FROM users WHERE login='\\L'"
  echo "$1GetDir SELECT dir FROM users WHERE login='\\L'"
}
{ echo "MYSQLSocket $work/mysqld.sock"; echo "MYSQLUser root"; echo "MYSQLDatabase ftp"; queries MYSQL; } >"$work/mysql.conf"
{ echo "PGSQLServer $work"; echo "PGSQLPort 5432"; echo "PGSQLUser postgres"; echo "PGSQLDatabase ftp"; queries PGSQL; } >"$work/pgsql.conf"
printf 'LDAPServer 127.0.0.1\nLDAPPort 21399\nLDAPBaseDN dc=example,dc=com\nLDAPBindDN cn=admin,dc=example,dc=com\nLDAPBindPW adminpw\nLDAPAuthMethod PASSWORD\n' >"$work/ldap.conf"

port=21400
run() { # server login-method user password -> "rate p50 p99"
  port=$((port + 1))
  "$1" -l "$2" -S "127.0.0.1,$port" -H -4 -c 200 -C 200 -E >/dev/null 2>&1 &
  local pid=$!
  for _ in $(seq 100); do (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null && break; sleep 0.05; done
  "$bench" login-latency "$port" "$3" "$4" 20 1 >/dev/null 2>&1 || true # warm-up
  "$bench" login-latency "$port" "$3" "$4" 20 "$seconds"
  kill "$pid"
  wait "$pid" 2>/dev/null || true
}
# Means of the rounds, as table cells: logins/s | p50 / p99 ms
mean() { awk '{ r += $1; p += $2; q += $3; n++ } END { printf "%.1f | %.1f / %.1f", r/n, p/n, q/n }'; }

echo "| backend | Debian 1.0.50 logins/s | p50 / p99 (ms) | pureftpd-rs logins/s | p50 / p99 (ms) | ratio (logins/s) |"
echo "|---|---|---|---|---|---|"
row() { # name debian-binary method user password
  local debian="" ours="" r
  for _ in 1 2; do
    if [ -n "$2" ]; then debian+="$(run "$2" "$3" "$4" "$5")"$'\n'; fi
    ours+="$(run "$PWD/target/release/pure-ftpd" "$3" "$4" "$5")"$'\n'
  done
  ours=$(printf '%s' "$ours" | mean)
  if [ -n "$debian" ]; then
    debian=$(printf '%s' "$debian" | mean)
    r=$(awk -v a="${ours%% *}" -v b="${debian%% *}" 'BEGIN { printf "%.2f", a / b }')
    printf '| %s | %s | %s | %s |\n' "$1" "$debian" "$ours" "$r"
  else
    printf '| %s | (cannot log in) | | %s | |\n' "$1" "$ours"
  fi
}
row "MySQL (MariaDB, Unix socket)" "$oracle/pure-ftpd-mysql" "mysql:$work/mysql.conf" bench pw
row "PostgreSQL (Unix socket)" "" "pgsql:$work/pgsql.conf" bench pw
row "LDAP (slapd, PASSWORD)" "$oracle/pure-ftpd-ldap" "ldap:$work/ldap.conf" bench pw
if id pureftpd-tester >/dev/null 2>&1; then
  row "PAM (pam_unix)" /usr/sbin/pure-ftpd pam pureftpd-tester 'Tester pw 1'
fi
