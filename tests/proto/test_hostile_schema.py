"""agora.db belongs to the account the workers run as, but the auth process
and the `agora` tool read and write it as root. A worker taken over by an
attacker could plant schema objects in it that run when a root process
touches a table: a view in place of a table, or a trigger. Agora's schema
has neither views nor triggers, and every connection it opens refuses both
(and functions with side effects in any schema object, and the SQL ways to
corrupt a file)."""
import os
import sqlite3

import pytest


def agora_db(s):
    return os.path.join(s.tmp, "conf", "agora.db")


def plant(s, sql):
    conn = sqlite3.connect(agora_db(s))
    try:
        conn.executescript(sql)
    finally:
        conn.close()


def mailbox_names(s):
    conn = sqlite3.connect(agora_db(s))
    try:
        return sorted(r[0] for r in conn.execute("SELECT name FROM mailboxes"))
    finally:
        conn.close()


def test_view_in_place_of_users_is_not_read(server):
    server.imap("bob").logout()
    # As a taken-over worker could: a view with the same columns.
    plant(server, "ALTER TABLE users RENAME TO users_real;"
                  "CREATE VIEW users AS SELECT * FROM users_real;")
    # The view answers a plain connection with bob's row (so without the
    # guard the login would go through it and succeed).
    conn = sqlite3.connect(agora_db(server))
    assert conn.execute("SELECT name FROM users WHERE name = 'bob'").fetchall() == [("bob",)]
    conn.close()
    r = server.raw()
    reply = r.cmd("a", "LOGIN bob bobpw")[-1]
    assert reply.startswith("a NO [UNAVAILABLE]"), reply
    # the connection stays usable and the server keeps serving
    assert r.cmd("b", "NOOP")[-1].startswith("b OK")
    r.close()
    assert 'access to view "users" prohibited' in server.log_text()
    # the root tool refuses it too, with a message and without writing
    res = server.agora("user", "list", check=False)
    assert res.returncode != 0
    assert "agora.db" in res.stderr and "view" in res.stderr, res.stderr


def test_trigger_does_not_run_in_root_tool(server):
    server.imap("bob").logout()
    before = mailbox_names(server)
    assert "user.bob" in before
    plant(server, "CREATE TRIGGER wipe AFTER INSERT ON users BEGIN DELETE FROM mailboxes; END;")
    server.agora("user", "add", "carol", input="carolpw\n")
    assert mailbox_names(server) == before
    m = server.imap("carol", "carolpw")
    m.select("INBOX")
    m.logout()
    assert "user.bob" in mailbox_names(server)


def test_check_reports_and_reconstruct_drops_planted_objects(server):
    server.imap("bob").logout()
    plant(server, "CREATE TRIGGER wipe AFTER INSERT ON users BEGIN DELETE FROM mailboxes; END;"
                  "CREATE VIEW peek AS SELECT name FROM mailboxes;")
    server.stop()
    r = server.agora("check", check=False)
    assert r.returncode == 1, (r.returncode, r.stdout, r.stderr)
    lines = [ln for ln in r.stdout.splitlines() if ln]
    assert lines == ["agora.db: trigger wipe on users is not part of Agora's schema",
                     "agora.db: view peek is not part of Agora's schema"], lines
    r = server.agora("reconstruct")
    assert [ln for ln in r.stdout.splitlines() if ln] == [
        "agora.db: trigger wipe dropped (not part of Agora's schema)",
        "agora.db: view peek dropped (not part of Agora's schema)"], r.stdout
    conn = sqlite3.connect(agora_db(server))
    assert conn.execute("SELECT count(*) FROM sqlite_schema WHERE type IN ('view', 'trigger')").fetchone() == (0,)
    conn.close()
    r = server.agora("check", check=False)
    assert (r.returncode, r.stdout.strip()) == (0, "")
    assert [ln for ln in server.agora("reconstruct").stdout.splitlines() if ln] == ["nothing to do"]
