#!/bin/sh
# Builds Agora and runs it with the demo configuration: a SQLite store in
# ./demo, demo users, loopback ports. Ctrl-C stops it.
set -eu
cd "$(dirname "$0")/.."
sh scripts/install-deps.sh
[ -f build/build.ninja ] || meson setup build
meson compile -C build
mkdir -p demo
DEMO="$(pwd)/demo"
cat > demo/agora.conf <<CONF
# Agora demo configuration (written by scripts/demo.sh)
configdirectory: $DEMO/conf
partition-default: $DEMO/spool
imap_listen: 127.0.0.1:1143 [::1]:1143
lmtp_listen: 127.0.0.1:1024
admins: admin
altnamespace: no
unixhierarchysep: no
autocreate_quota: 0
autocreate_post: yes
autocreate_inbox_folders: Sent | Drafts | Trash | Junk
autocreate_subscribe_folders: INBOX | Sent | Drafts | Trash | Junk
workers: 2
CONF
for u in admin alice bob carol; do
	if ! ./build/agora -C demo/agora.conf user list 2>/dev/null | grep -qx "$u"; then
		echo "$u" | ./build/agora -C demo/agora.conf user add "$u" >/dev/null
	fi
done
cat <<MSG

Agora demo: users admin, alice, bob, carol; each one's password is the user name.
  IMAP: 127.0.0.1 port 1143 (no TLS), e.g.  python3 -c 'import imaplib; m=imaplib.IMAP4("127.0.0.1",1143); print(m.login("alice","alice"))'
  LMTP: 127.0.0.1 port 1024, e.g.  swaks --server 127.0.0.1:1024 --protocol LMTP --to bob@example.test
  cyradm: cyradm --notls --user admin --password admin --auth PLAIN --server 127.0.0.1 --port 1143
  Store: $DEMO   Stop: Ctrl-C

MSG
exec ./build/agorad -C demo/agora.conf
