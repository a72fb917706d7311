#!/bin/sh
# Installs what building and running Agora needs on Debian 12 (as root, or
# through sudo). With --test, also what the test suite needs.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PKGS="meson ninja-build pkg-config gcc libevent-dev libsqlite3-dev libssl-dev libcrypt-dev libedit-dev"
if [ "${1:-}" = "--test" ]; then
	# pytest and the real clients the protocol tests drive; clang for the
	# fuzz targets and sanitizers; dovecot only for bench/.
	PKGS="$PKGS python3 python3-pytest isync cyrus-clients clang libclang-rt-14-dev openssl"
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	$SUDO apt-get update -q
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi
