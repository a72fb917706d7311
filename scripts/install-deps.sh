#!/bin/sh
# Installs what building and running Agora needs on Debian 12 (as root, or
# through sudo). With --test, also what the test suite needs.
set -eu
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
PKGS="meson ninja-build pkg-config gcc libevent-dev libsqlite3-dev libssl-dev libcrypt-dev libedit-dev"
if [ "${1:-}" = "--test" ]; then
	# pytest and the real clients the protocol tests drive; clang for the
	# fuzz targets and sanitizers; dovecot only for bench/; testssl.sh for
	# tests/proto/test_tls_floor.py.
	# postfix: tests/proto/test_postfix.py runs a private instance of its
	# own; the system one is installed unconfigured and never left running.
	# cyradm itself is in cyrus-admin (cyrus-clients has imtest and the
	# other clients), and reads its input through Term::ReadLine::Gnu
	# (recommended, so named here: without it cyradm wants a terminal);
	# python3-openssl drives TLS 1.3 exporters in test_auth_scram.py.
	PKGS="$PKGS python3 python3-pytest python3-openssl isync cyrus-clients cyrus-admin libterm-readline-gnu-perl"
	PKGS="$PKGS clang libclang-rt-14-dev"
	PKGS="$PKGS openssl postfix testssl.sh"
fi
missing=""
for p in $PKGS; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -n "$missing" ]; then
	$SUDO apt-get update -q
	case " $missing " in
	*" postfix "*)
		# "No configuration": no /etc/postfix/main.cf, so the package's
		# postinst neither configures nor starts a system MTA on port 25.
		echo "postfix postfix/main_mailer_type select No configuration" | $SUDO debconf-set-selections
		;;
	esac
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -q --no-install-recommends $missing
fi
if [ "${1:-}" = "--test" ] && [ -x /usr/sbin/postfix ]; then
	# Whatever happened at install time, no system Postfix stays running
	# (the tests start their own on a free loopback port).
	if $SUDO /usr/sbin/postfix status >/dev/null 2>&1; then
		$SUDO /usr/sbin/postfix stop || true
	fi
fi
