"""The disaster test: a store of 1,000 messages in 30 mailboxes, with ACLs
(some shared), flags, copies and expunges, loses its database (agorad
stopped, agora.db and its -wal/-shm deleted). `agora reconstruct` brings
back every mailbox with its messages (same contents, UIDs, UIDVALIDITY and
flags, from mailbox.meta and mailbox.journal), the ACLs and the sharing
index. Then the store is damaged in other ways, each found and mended, and
a second run changes nothing."""
import os
import re
import sqlite3
import time

from conftest import message
from quotalib import Session, tagged
from recon_lib import db_path, execute, mbox_dir, message_row, snapshot, spool

USERS = ("bob", "alice", "carol")
FOLDERS = ["INBOX"] + [f"INBOX.F{i}" for i in range(9)]  # 10 per user, 30 in all
FLAGS = ["", "\\Seen", "\\Flagged", "\\Seen \\Answered $Work", "\\Draft"]


def reconstruct(server, *args):
    r = server.agora("reconstruct", *args)
    return [ln for ln in r.stdout.splitlines() if ln]


def populate(server):
    n = 0
    sessions = {u: Session(server, u) for u in USERS}
    for u, s in sessions.items():
        for f in FOLDERS[1:]:
            s.ok(f"CREATE {f}")
    # 1,000 messages spread over the 30 mailboxes, a few connections at once
    i = 0
    while n < 1000:
        for u, s in sessions.items():
            if n >= 1000:
                break
            f = FOLDERS[i % len(FOLDERS)]
            fl = FLAGS[n % len(FLAGS)]
            data = message(f"{u} {f} {n}", body=f"body {n}\r\n" + "x" * (n % 300) + "\r\n")
            assert tagged(s.append(f, data, fl))[0] == "OK"
            n += 1
        i += 1
    b = sessions["bob"]
    # flags changed after delivery, an expunge, a copy: the journal follows
    b.ok("SELECT INBOX")
    b.ok("UID STORE 1:5 +FLAGS (\\Flagged $Later)")
    b.ok("UID STORE 6:8 +FLAGS (\\Deleted)")
    b.ok("EXPUNGE")
    b.ok("UID COPY 9:12 INBOX.F0")
    b.ok("SETACL INBOX.F1 alice lrs")
    b.ok("SETACL INBOX.F2 anyone lr")
    b.ok("SETACL INBOX.F3 carol lrswi")
    a = sessions["alice"]
    a.ok("SETACL INBOX.F4 bob lr")
    a.ok("SETACL INBOX.F5 -bob l")
    for s in sessions.values():
        s.close()
    adm = Session(server, "admin")
    adm.ok("SETQUOTA user.bob (STORAGE 100000)")
    adm.close()


def quotas(server):
    with sqlite3.connect(db_path(server)) as db:
        return {r[0]: r[1:] for r in db.execute(
            "SELECT root, storage_limit, message_limit, storage_used, message_used FROM quota_roots")}


def listed(server, user):
    s = Session(server, user)
    lines = s.ok('LIST "" "*"')
    s.close()
    return sorted(re.sub(r"^\* LIST \([^)]*\) \S+ ", "", ln).strip('"') for ln in lines
                  if ln.startswith("* LIST"))


def test_database_lost_and_rebuilt(make_server):
    t0 = time.time()
    server = make_server(users=("admin",) + USERS)
    populate(server)
    seen_by = {u: listed(server, u) for u in USERS}
    assert "user.bob.F1" in seen_by["alice"] and "user.bob.F2" in seen_by["carol"]
    server.stop()
    before, shares_before = snapshot(server)
    quotas_before = quotas(server)
    assert quotas_before["user.bob"][2] > 0
    assert len(before) == 30
    assert sum(len(m["messages"]) for m in before.values()) == 1000 - 3 + 4
    assert server.agora("check").stdout == ""

    for suffix in ("", "-wal", "-shm"):
        p = db_path(server) + suffix
        if os.path.exists(p):
            os.unlink(p)
    lines = reconstruct(server)
    assert sum("mailbox re-created" in ln for ln in lines) == 30, lines
    assert not any("UIDVALIDITY" in ln for ln in lines), lines
    after, shares_after = snapshot(server)
    assert after == before
    assert shares_after == shares_before
    with sqlite3.connect(db_path(server)) as db:
        n_msgs, n_search = db.execute(
            "SELECT (SELECT count(*) FROM messages), (SELECT count(*) FROM message_search)").fetchone()
    assert n_search == n_msgs, "every rebuilt message gets the fields header searches use"
    # the quota root named by user.bob, with usage recomputed from the messages
    assert any(ln.startswith("user.bob: quota root re-created (STORAGE 100000") for ln in lines), lines
    assert quotas(server) == quotas_before
    # Users live only in the database: the administrator adds them again.
    for u in USERS:
        server.agora("user", "add", u, input=f"{u}pw\n")
    assert server.agora("check").stdout == ""
    assert reconstruct(server) == ["nothing to do"]

    server.start()
    assert {u: listed(server, u) for u in USERS} == seen_by
    s = Session(server, "bob")
    lines = s.ok("SELECT INBOX")
    assert any(f"[UIDVALIDITY {before['user.bob']['uidvalidity']}]" in ln for ln in lines), lines
    lines = s.ok("UID FETCH 1:5 (FLAGS ENVELOPE)")
    assert sum("$Later" in ln and "\\Flagged" in ln for ln in lines) == 5, lines
    s.close()
    server.stop()
    assert time.time() - t0 < 60


def test_damage_found_and_mended(make_server):
    server = make_server(users=("admin",) + USERS)
    b = Session(server, "bob")
    b.ok("CREATE INBOX.Work")
    for i in range(6):
        assert tagged(b.append("INBOX", message(f"m{i}"), "\\Seen"))[0] == "OK"
    assert tagged(b.append("INBOX.Work", message("w")))[0] == "OK"
    b.close()
    adm = Session(server, "admin")
    adm.ok("SETQUOTA user.bob (STORAGE 100000)")
    adm.close()
    server.stop()
    assert reconstruct(server) == ["nothing to do"]

    # a truncated message file
    uniqueid, guid1, uid1, _ = message_row(server, "user.bob", 1)
    d = mbox_dir(server, uniqueid)
    os.truncate(os.path.join(d, guid1), 20)
    # a row whose file is gone
    _, guid2, uid2, _ = message_row(server, "user.bob", 2)
    os.unlink(os.path.join(d, guid2))
    # a message file no record names, and a stray non-message file
    with open(os.path.join(d, "ab" * 16), "wb") as f:
        f.write(message("found again"))
    with open(os.path.join(d, "junk.txt"), "w") as f:
        f.write("junk\n")
    # a file in tmp/
    os.makedirs(os.path.join(spool(server), "tmp"), exist_ok=True)
    with open(os.path.join(spool(server), "tmp", "cd" * 16), "w") as f:
        f.write("partial")
    # quota usage that no longer matches the messages
    execute(server, "UPDATE quota_roots SET storage_used = 1 WHERE root = 'user.bob'")

    rc = server.agora("check", check=False)
    assert rc.returncode == 1

    lines = reconstruct(server)
    text = "\n".join(lines)
    assert f"UID {uid1}: file {guid1} is 20 bytes" in text, text
    assert f"UID {uid2}: file {guid2} is gone; record removed" in text, text
    assert "message " + "ab" * 16 + " added from its file" in text, text
    assert "stray file junk.txt moved to lost+found" in text, text
    assert "removed stray file tmp/" + "cd" * 16 in text, text
    assert "quota user.bob: usage was" in text, text
    assert os.path.exists(os.path.join(spool(server), "lost+found", f"{uniqueid}-{guid1}"))
    assert server.agora("check").stdout == ""
    assert reconstruct(server) == ["nothing to do"]

    server.start()
    s = Session(server, "bob")
    assert s.status("INBOX") == 6 - 2 + 1
    s.close()


def test_unfinished_write_is_not_added_twice(make_server):
    """A crash between writing a message's file and committing it leaves a
    file no record names; its sender, never told OK, sends it again. The
    file with the bytes of a message the mailbox holds goes to lost+found
    instead of coming back as a second copy; a file with other bytes is
    still added."""
    server = make_server(users=("admin", "bob"))
    b = Session(server, "bob")
    for i in range(3):
        assert tagged(b.append("INBOX", message(f"m{i}", body=f"body {i}\r\n")))[0] == "OK"
    b.close()
    server.stop()
    uniqueid, guid2, uid2, _ = message_row(server, "user.bob", 2)
    d = mbox_dir(server, uniqueid)
    with open(os.path.join(d, guid2), "rb") as f:
        twin = f.read()
    with open(os.path.join(d, "ef" * 16), "wb") as f:
        f.write(twin)
    # same size, other bytes: a message of its own
    other = twin.replace(b"body 1", b"body X")
    assert len(other) == len(twin) and other != twin
    with open(os.path.join(d, "12" * 16), "wb") as f:
        f.write(other)

    text = "\n".join(reconstruct(server))
    assert (f"user.bob: file {'ef' * 16} has no record and the bytes of UID {uid2}: a write that "
            "did not finish, sent again; moved to lost+found") in text, text
    assert "message " + "12" * 16 + " added from its file" in text, text
    assert not os.path.exists(os.path.join(d, "ef" * 16))
    with open(os.path.join(spool(server), "lost+found", f"{uniqueid}-{'ef' * 16}"), "rb") as f:
        assert f.read() == twin
    assert server.agora("check").stdout == ""
    assert reconstruct(server) == ["nothing to do"]

    server.start()
    s = Session(server, "bob")
    assert s.status("INBOX") == 4
    s.ok("SELECT INBOX")
    joined = "\n".join(str(x) for x in s.ok("UID FETCH 1:* BODY.PEEK[TEXT]"))
    s.close()
    assert joined.count("body 1") == 1 and joined.count("body X") == 1, joined


def test_journal_lost_changes_uidvalidity(make_server):
    """Without the database and without a mailbox's journal its UIDs cannot
    be recovered: the messages come back under a new UIDVALIDITY; a mailbox
    whose journal survived keeps its UIDs."""
    server = make_server(users=("admin", "bob"))
    b = Session(server, "bob")
    b.ok("CREATE INBOX.Work")
    for i in range(4):
        assert tagged(b.append("INBOX", message(f"m{i}")))[0] == "OK"
        assert tagged(b.append("INBOX.Work", message(f"w{i}")))[0] == "OK"
    b.close()
    server.stop()
    before, _ = snapshot(server)
    uniqueid, _, _, _ = message_row(server, "user.bob.Work")
    os.unlink(os.path.join(mbox_dir(server, uniqueid), "mailbox.journal"))
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(db_path(server) + suffix):
            os.unlink(db_path(server) + suffix)
    lines = reconstruct(server)
    changed = [ln for ln in lines if "UIDVALIDITY" in ln]
    assert len(changed) == 1 and changed[0].startswith("user.bob.Work: "), lines
    after, _ = snapshot(server)
    assert after["user.bob"] == before["user.bob"]
    work_b, work_a = before["user.bob.Work"], after["user.bob.Work"]
    assert work_a["uidvalidity"] > work_b["uidvalidity"]
    assert sorted(h for h, _, _ in work_a["messages"].values()) == \
        sorted(h for h, _, _ in work_b["messages"].values())
    assert reconstruct(server) == ["nothing to do"]
    server.agora("user", "add", "bob", input="bobpw\n")
    server.start()
    s = Session(server, "bob")
    assert s.status("INBOX.Work") == 4
    s.close()


def test_refused_while_agorad_runs(make_server):
    """agorad holds a shared lock on configdirectory/agorad.lock; reconstruct
    takes it exclusively and refuses to run beside the server."""
    server = make_server()
    r = server.agora("reconstruct", check=False)
    assert r.returncode == 1 and "agorad is running" in r.stderr, (r.returncode, r.stderr)
    s = Session(server, "bob")
    assert s.status("INBOX") == 0
    s.close()
    server.stop()
    assert reconstruct(server) == ["nothing to do"]


def test_search_fields_of_an_older_store(make_server):
    """A store from before the search fields were kept has no
    message_search rows: SEARCH answers from the headers, and one run of
    reconstruct stores the fields of every message, including one without a
    header; a second run changes nothing and SEARCH answers the same."""
    server = make_server(users=("admin", "bob"))
    b = Session(server, "bob")
    for i in range(5):
        assert tagged(b.append("INBOX", message(f"older {i}", frm=f"Sender{i} <s{i}@example.org>")))[0] == "OK"
    assert tagged(b.append("INBOX", b"\r\nno header at all\r\n"))[0] == "OK"
    b.ok("SELECT INBOX")
    queries = ("UID SEARCH SUBJECT \"older 3\"", "UID SEARCH FROM sender1", "UID SEARCH SUBJECT older",
               "UID SEARCH NOT FROM sender")

    def answers():
        return [[ln for ln in b.ok(q) if ln.startswith("* SEARCH")] for q in queries]

    before = answers()
    assert before == [["* SEARCH 4"], ["* SEARCH 2"], ["* SEARCH 1 2 3 4 5"], ["* SEARCH 6"]]
    b.close()
    server.stop()
    with sqlite3.connect(db_path(server)) as db:
        db.execute("DROP TABLE message_search")
    assert reconstruct(server) == ["user.bob: search fields stored for 6 messages stored without them"]
    with sqlite3.connect(db_path(server)) as db:
        assert db.execute("SELECT (SELECT count(*) FROM messages),"
                          " (SELECT count(*) FROM message_search)").fetchone() == (6, 6)
    assert reconstruct(server) == ["nothing to do"]
    server.start()
    b = Session(server, "bob")
    b.ok("SELECT INBOX")
    assert answers() == before
    b.close()
