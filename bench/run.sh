#!/bin/sh
# One command: install Dovecot if missing, build Agora (release), run every
# benchmark against both servers, print the table. Extra arguments go to
# bench/bench.py (e.g. --duration 5 --idle 1000).
set -eu
cd "$(dirname "$0")/.."

if ! command -v dovecot >/dev/null 2>&1 || [ ! -x /usr/lib/dovecot/lmtp ]; then
	apt-get install -y dovecot-imapd dovecot-lmtpd
fi
# The bench runs its own private instance; the packaged service must not.
service dovecot stop >/dev/null 2>&1 || true

[ -d build-release ] || meson setup build-release -Dbuildtype=release
meson compile -C build-release

# 10,000 IDLE connections need ~10,000 descriptors in the client and in the
# servers (which inherit this limit): raise the soft limit to the hard one.
ulimit -n "$(ulimit -Hn)"
exec /usr/bin/python3 bench/bench.py "$@"
