#!/usr/bin/env bash
# Builds the Debian package of pureftpd-rs and prints its path as the last line.
#
#   scripts/package.sh [output directory]      (default: target/debian)
#
# The binaries go where Debian's pure-ftpd package puts them (/usr/sbin/pure-ftpd,
# /usr/bin/pure-pw, ...); it replaces pure-ftpd (and its -mysql, -postgresql, -ldap
# builds: one binary of ours serves every backend) and depends on pure-ftpd-common,
# which keeps /etc/pure-ftpd, pure-ftpd-wrapper and the PAM file. Also: the man pages
# (pure-ftpd-common's are diverted while it is installed), bash and zsh completions,
# the systemd units. PACKAGE_VERSION overrides the version (for upgrade tests);
# PACKAGE_PROFILE=debug packs the debug build (the package test, which has it built).
# Needs cargo, python3, gzip and dpkg-deb; no root.
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-target/debian}
version=${PACKAGE_VERSION:-$(sed -n 's/^version = "\(.*\)"/\1/p' Cargo.toml | head -1)-1}
arch=$(dpkg --print-architecture)

profile=${PACKAGE_PROFILE:-release}
if [ "$profile" = release ]; then
  cargo build --release --workspace --bins -q
else
  cargo build --workspace --bins -q
fi
bin=${CARGO_TARGET_DIR:-target}/$profile
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
root=$stage/root
install -d "$root/DEBIAN" "$root/usr/sbin" "$root/usr/bin" "$root/usr/share/man/man8" \
  "$root/usr/share/man/man5" "$root/usr/share/doc/pureftpd-rs" "$root/lib/systemd/system" \
  "$root/usr/share/bash-completion/completions" "$root/usr/share/zsh/vendor-completions"

# The same paths as Debian's pure-ftpd package.
for tool in pure-ftpd pure-sftpd pure-authd pure-certd pure-ftpwho pure-mrtginfo pure-quotacheck pure-uploadscript; do
  install -m 0755 -s "$bin/$tool" "$root/usr/sbin/$tool"
done
for tool in pure-pw pure-pwconvert pure-statsdecode; do
  install -m 0755 -s "$bin/$tool" "$root/usr/bin/$tool"
done

pages=()
for page in packaging/man/*.8; do
  name=$(basename "$page" .8)
  gzip -9n <"$page" >"$root/usr/share/man/man8/$name.8.gz"
  pages+=("$name")
done
gzip -9n <packaging/man/pure-ftpd.conf.5 >"$root/usr/share/man/man5/pure-ftpd.conf.5.gz"
chmod 0644 "$root"/usr/share/man/man*/*.gz

python3 packaging/completions/generate.py "$stage/completions"
install -m 0644 "$stage"/completions/bash/* "$root/usr/share/bash-completion/completions/"
install -m 0644 "$stage"/completions/zsh/* "$root/usr/share/zsh/vendor-completions/"
install -m 0644 packaging/systemd/* "$root/lib/systemd/system/"
install -m 0644 packaging/debian/copyright "$root/usr/share/doc/pureftpd-rs/copyright"
printf 'pureftpd-rs (%s) unstable; urgency=medium\n\n  * Built from %s.\n\n -- pureftpd-rs developers <pureftpd-rs@localhost>  %s\n' \
  "$version" "$(git rev-parse --short HEAD 2>/dev/null || echo source)" "$(date -R)" |
  gzip -9n >"$root/usr/share/doc/pureftpd-rs/changelog.Debian.gz"
chmod 0644 "$root/usr/share/doc/pureftpd-rs/changelog.Debian.gz"

# Only the pages pure-ftpd-common also has are diverted.
diverted=()
for name in "${pages[@]}"; do
  case $name in pure-ftpd|pure-pw|pure-pwconvert|pure-authd|pure-certd|pure-uploadscript|pure-ftpwho|pure-quotacheck|pure-mrtginfo|pure-statsdecode) diverted+=("$name") ;; esac
done
for script in preinst postinst prerm postrm; do
  sed "s|@PAGES@|${diverted[*]}|" "packaging/debian/$script" >"$root/DEBIAN/$script"
  chmod 0755 "$root/DEBIAN/$script"
done
size=$(du -sk --exclude=DEBIAN "$root" | cut -f1)
sed -e "s/@VERSION@/$version/" -e "s/@ARCH@/$arch/" -e "s/@SIZE@/$size/" \
  packaging/debian/control.in >"$root/DEBIAN/control"

mkdir -p "$out"
deb=$(realpath "$out")/pureftpd-rs_${version}_${arch}.deb
dpkg-deb --root-owner-group -Zxz --build "$root" "$deb" >/dev/null
echo "$deb"
