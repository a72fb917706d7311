"""Partitions: `partition-NAME` directories, `defaultpartition`, CREATE NAME
PARTITION, and RENAME OLD NEW PARTITION (Cyrus's third argument; RENAME X X
PARTITION moves X keeping its name), which moves the message files without
a moment where the mailbox cannot be read."""
import os
import re
import sqlite3
import tempfile
import threading

import pytest

from conftest import cannot_run, message
from imapsession import Session


def db(server):
    return sqlite3.connect(os.path.join(server.settings["configdirectory"], "agora.db"))


def mailbox_row(server, name):
    with db(server) as c:
        return c.execute("SELECT uniqueid, partition FROM mailboxes WHERE name = ?", (name,)).fetchone()


def mailbox_files(server, partition, uniqueid):
    """The files of one mailbox directory, or None when it does not exist."""
    d = os.path.join(server.settings[f"partition-{partition}"], uniqueid[:2], uniqueid)
    # the mailbox's own records (mailbox.meta, mailbox.journal) are not messages
    return sorted(f for f in os.listdir(d) if not f.startswith("mailbox.")) if os.path.isdir(d) else None


def guids(server, name):
    with db(server) as c:
        return sorted(r[0] for r in c.execute(
            "SELECT guid FROM messages m JOIN mailboxes b ON b.id = m.mailbox WHERE b.name = ?", (name,)))


def other_fs_dir():
    """A directory on another filesystem than the test's temporary files
    (so a move copies instead of linking), or None."""
    shm = "/dev/shm"
    if not os.path.isdir(shm) or not os.access(shm, os.W_OK):
        return None
    if os.stat(shm).st_dev == os.stat(tempfile.gettempdir()).st_dev:
        return None
    return tempfile.mkdtemp(prefix="agora-p2-", dir=shm)


@pytest.fixture(params=["same-fs", "other-fs"])
def p2_server(request, make_server, tmp_path):
    if request.param == "same-fs":
        p2 = str(tmp_path / "p2")
    else:
        p2 = other_fs_dir()
        if p2 is None:
            cannot_run("no writable directory on another filesystem than the temporary files")
        request.addfinalizer(lambda: __import__("shutil").rmtree(p2, ignore_errors=True))
    return make_server(conf={"partition-p2": p2})


def fill(server, user="bob", n=12):
    """INBOX and INBOX.Sent with messages and assorted flags."""
    b = Session(server, user)
    b.ok("CREATE INBOX.Sent")
    flags = [None, "(\\Seen)", "(\\Flagged \\Answered)", "(\\Seen $Work)"]
    for i in range(n):
        b.append("INBOX", message(subject=f"m{i}", body=f"body {i}\r\n" * (i + 1)), flags[i % 4])
    for i in range(3):
        b.append("INBOX.Sent", message(subject=f"s{i}"), "(\\Seen)")
    return b


def snapshot(sess, name):
    """Everything a client can see of a mailbox."""
    st = sess.ok(f"STATUS {name} (MESSAGES UNSEEN UIDNEXT UIDVALIDITY)")
    sess.ok(f"EXAMINE {name}")
    fetch = sess.ok("UID FETCH 1:* (FLAGS BODY.PEEK[])")
    sess.ok("CLOSE")
    return st, fetch


def test_move_keeps_every_message_and_flag(p2_server):
    s = p2_server
    b = fill(s)
    before = {n: snapshot(b, n) for n in ("INBOX", "INBOX.Sent")}
    uid_inbox, part = mailbox_row(s, "user.bob")
    uid_sent, _ = mailbox_row(s, "user.bob.Sent")
    assert part == "default"
    a = Session(s, "admin")
    a.ok("RENAME user.bob user.bob p2")
    # the mailbox and the one below it moved, files and all
    assert mailbox_row(s, "user.bob") == (uid_inbox, "p2")
    assert mailbox_row(s, "user.bob.Sent") == (uid_sent, "p2")
    assert mailbox_files(s, "p2", uid_inbox) == guids(s, "user.bob") and len(guids(s, "user.bob")) == 12
    assert mailbox_files(s, "p2", uid_sent) == guids(s, "user.bob.Sent")
    assert mailbox_files(s, "default", uid_inbox) is None
    assert mailbox_files(s, "default", uid_sent) is None
    # a session opened before the move sees exactly what it saw
    assert {n: snapshot(b, n) for n in ("INBOX", "INBOX.Sent")} == before
    b2 = Session(s, "bob")
    assert {n: snapshot(b2, n) for n in ("INBOX", "INBOX.Sent")} == before
    # new mail lands in the new partition; an expunge removes its file there
    b.append("INBOX", message(subject="after"))
    assert mailbox_files(s, "p2", uid_inbox) == guids(s, "user.bob") and len(guids(s, "user.bob")) == 13
    b.ok("SELECT INBOX")
    b.ok("UID STORE 1 +FLAGS (\\Deleted)")
    b.ok("EXPUNGE")
    assert mailbox_files(s, "p2", uid_inbox) == guids(s, "user.bob") and len(guids(s, "user.bob")) == 12
    # and back again
    a.ok("RENAME user.bob user.bob default")
    assert mailbox_row(s, "user.bob") == (uid_inbox, "default")
    assert mailbox_files(s, "default", uid_inbox) == guids(s, "user.bob")
    assert mailbox_files(s, "p2", uid_inbox) is None
    lines = b.ok("UID FETCH 2 BODY.PEEK[]")
    assert "body 1" in " ".join(lines), lines
    b.logout()
    b2.logout()
    a.logout()


def test_rename_to_another_name_and_partition(p2_server):
    s = p2_server
    a = Session(s, "admin")
    a.ok("CREATE shared.a")
    a.ok("SETACL shared.a admin lrswipkxtea")
    a.ok("CREATE shared.a.sub")
    for i in range(3):
        a.append("shared.a", message(subject=f"x{i}"), "(\\Seen)")
    a.ok("RENAME shared.a shared.b p2")
    names = a.list_names("shared*")
    assert "shared.b" in names and "shared.b.sub" in names and "shared.a" not in names
    uid, part = mailbox_row(s, "shared.b")
    assert part == "p2" and mailbox_row(s, "shared.b.sub")[1] == "p2"
    assert mailbox_files(s, "p2", uid) == guids(s, "shared.b") and len(guids(s, "shared.b")) == 3
    assert mailbox_files(s, "default", uid) is None
    assert "MESSAGES 3" in a.ok("STATUS shared.b (MESSAGES)")[0]
    a.logout()


def test_partition_argument_is_checked_and_admin_only(p2_server):
    s = p2_server
    b = fill(s, n=2)
    a = Session(s, "admin")
    assert "[CANNOT] Unknown partition" in a.no("RENAME user.bob user.bob nosuch")
    assert "[CANNOT] Unknown partition" in a.no("RENAME user.bob.Sent user.bob.Old nosuch")
    assert "[NONEXISTENT]" in a.no("RENAME user.nosuch user.nosuch p2")
    # someone else sent a RENAME with an argument too many
    for cmd in ("RENAME INBOX.Sent INBOX.Sent p2", "RENAME INBOX.Sent INBOX.Old p2",
                "CREATE INBOX.New p2"):
        status, _, _ = b.run(cmd)
        assert status == "BAD", cmd
    assert mailbox_row(s, "user.bob")[1] == "default"
    assert mailbox_row(s, "user.bob.Sent")[1] == "default"
    assert set(b.list_names()) == {"INBOX", "INBOX.Sent"}
    # a move to where it already is changes nothing
    a.ok("RENAME user.bob.Sent user.bob.Sent default")
    assert mailbox_row(s, "user.bob.Sent")[1] == "default"
    b.logout()
    a.logout()


def test_create_on_a_partition_and_defaultpartition(make_server, tmp_path):
    s = make_server(conf={"partition-p2": str(tmp_path / "p2"), "defaultpartition": "p2"})
    a = Session(s, "admin")
    a.ok("CREATE shared.here")
    a.ok("CREATE shared.there default")
    assert mailbox_row(s, "shared.here")[1] == "p2"
    assert mailbox_row(s, "shared.there")[1] == "default"
    b = Session(s, "bob")  # autocreated INBOX: the default partition
    b.append("INBOX", message())
    uid, part = mailbox_row(s, "user.bob")
    assert part == "p2" and mailbox_files(s, "p2", uid) == guids(s, "user.bob")
    b.logout()
    a.logout()


def body_of(lines):
    """{uid: body} from FETCH responses (literals inline)."""
    out = {}
    for line in lines:
        uid = re.search(r"[( ]UID (\d+)[ )]", line)
        body = re.search(r"BODY\[\] \{(\d+)\}", line)
        if uid and body:
            start = body.end()
            out[uid.group(1)] = line[start:start + int(body.group(1))]
    return out


def patient(sess):
    """A session that waits for a move under a loaded machine's slow fsyncs
    (each file copied across file systems is fsynced) longer than the
    default 15 s."""
    sess.m.sock.settimeout(120)
    return sess


def test_readers_see_every_message_during_moves(p2_server):
    """Readers loop FETCH BODY[] (one command for all, and one per message)
    and an appender and a copier add mail while the mailbox moves back and
    forth: no FETCH ever misses a message or a byte, no APPEND, COPY or
    move fails, every message whose APPEND or COPY was answered OK is there
    afterwards with its bytes, and each mailbox directory holds exactly the
    files of its messages."""
    s = p2_server
    b = Session(s, "bob")
    n = 60
    for i in range(n):
        b.append("INBOX", message(subject=f"m{i}", body=(f"line {i} " * 40 + "\r\n") * 50))
    b.ok("SELECT INBOX")
    expected = body_of(b.ok("UID FETCH 1:* BODY.PEEK[]"))
    assert len(expected) == n
    b.logout()

    stop = threading.Event()
    errors = []
    rounds = {"all": 0, "one": 0}

    def reader_all():
        r = patient(Session(s, "bob"))
        r.ok("EXAMINE INBOX")
        try:
            while not stop.is_set():
                status, text, lines = r.run("UID FETCH 1:%d BODY.PEEK[]" % n)
                got = body_of(lines)
                if status != "OK" or got != expected:
                    missing = sorted(set(expected) - set(got), key=int)
                    errors.append(f"FETCH 1:{n}: {status} {text}, missing {missing[:5]}")
                    return
                rounds["all"] += 1
        finally:
            r.logout()

    def reader_one():
        r = patient(Session(s, "bob"))
        r.ok("EXAMINE INBOX")
        try:
            while not stop.is_set():
                for uid in expected:
                    status, text, lines = r.run(f"UID FETCH {uid} BODY.PEEK[]")
                    if status != "OK" or body_of(lines) != {uid: expected[uid]}:
                        errors.append(f"UID FETCH {uid}: {status} {text} {lines[:1]}")
                        return
                rounds["one"] += 1
        finally:
            r.logout()

    appended = []

    def appender():
        w = patient(Session(s, "alice"))
        try:
            i = 0
            while not stop.is_set():
                msg = message(subject=f"new{i}", body=(f"appended {i} " * 6 + "\r\n") * (1 + i % 7))
                typ, data = w.m.append("user.bob", None, None, msg)
                if typ != "OK":
                    errors.append(f"APPEND: {typ} {data}")
                    return
                appended.append(msg)
                i += 1
        finally:
            w.logout()

    copied = {"out": 0, "in": 0}

    def copier():
        # COPY out of the moving mailbox and into it
        w = patient(Session(s, "alice"))
        w.append("INBOX", message(subject="alice's"))
        try:
            while not stop.is_set():
                w.ok("EXAMINE user.bob")
                status, text, _ = w.run("UID COPY 1:2 INBOX")
                if status != "OK":
                    errors.append(f"COPY out: {status} {text}")
                    return
                copied["out"] += 2
                w.ok("EXAMINE INBOX")
                status, text, _ = w.run("UID COPY 1 user.bob")
                if status != "OK":
                    errors.append(f"COPY in: {status} {text}")
                    return
                copied["in"] += 1
        finally:
            w.logout()

    # alice may post to bob's INBOX and read it
    o = Session(s, "bob")
    o.ok("SETACL INBOX alice lrsip")
    o.logout()
    threads = [threading.Thread(target=f) for f in (reader_all, reader_one, appender, copier)]
    for t in threads:
        t.start()
    a = patient(Session(s, "admin"))
    try:
        moves = 0
        # at least five moves, and enough that each reader went round twice
        while moves < 40 and not errors and (moves < 5 or rounds["all"] < 2 or rounds["one"] < 2):
            part = "p2" if moves % 2 == 0 else "default"
            status, text, _ = a.run(f"RENAME user.bob user.bob {part}")
            if status != "OK":
                errors.append(f"RENAME to {part}: {status} {text}")
                break
            moves += 1
        if moves % 2 == 0:
            a.ok("RENAME user.bob user.bob p2")
    finally:
        stop.set()
        for t in threads:
            t.join(60)
        a.logout()
    assert not errors, (errors, [l for l in s.log_text().splitlines() if "error" in l][-10:])
    assert rounds["all"] > 0 and rounds["one"] > 0
    uid, part = mailbox_row(s, "user.bob")
    assert part == "p2"
    files = mailbox_files(s, "p2", uid)
    total = n + len(appended) + copied["in"]
    assert files == guids(s, "user.bob") and len(files) == total
    assert mailbox_files(s, "default", uid) is None
    auid, apart = mailbox_row(s, "user.alice")
    assert mailbox_files(s, apart, auid) == guids(s, "user.alice")
    assert len(guids(s, "user.alice")) == 1 + copied["out"]
    c = Session(s, "bob")
    assert f"MESSAGES {total}" in c.ok("STATUS INBOX (MESSAGES)")[0]
    c.ok("EXAMINE INBOX")
    assert body_of(c.ok("UID FETCH 1:%d BODY.PEEK[]" % n)) == expected
    # every message APPEND or COPY was answered OK for, whole
    everything = sorted(body_of(c.ok("UID FETCH 1:* BODY.PEEK[]")).values())
    alices = message(subject="alice's").decode()
    assert everything == sorted(list(expected.values()) + [m.decode() for m in appended]
                                + [alices] * copied["in"])
    c.logout()
    # and a reconstruct-style look finds nothing wrong
    s.stop()
    r = s.agora("check")
    assert r.returncode == 0, r.stdout + r.stderr


def test_two_moves_of_one_mailbox_at_once(p2_server):
    """Two administrators move the same mailbox to the same partition at
    the same moment, round after round: both are answered OK, and the
    mailbox keeps every message, each file in its new directory."""
    s = p2_server
    b = Session(s, "bob")
    n = 150
    for i in range(n):
        b.append("INBOX", message(subject=f"m{i}", body=f"body {i}\r\n" * 20))
    b.ok("SELECT INBOX")
    expected = body_of(b.ok("UID FETCH 1:* BODY.PEEK[]"))
    assert len(expected) == n
    uid, _ = mailbox_row(s, "user.bob")
    admins = [patient(Session(s, "admin")) for _ in range(2)]
    for rnd in range(6):
        part = "p2" if rnd % 2 == 0 else "default"
        answers = [None, None]
        go = threading.Barrier(2)

        def move(k):
            go.wait()
            answers[k] = admins[k].run(f"RENAME user.bob user.bob {part}")[:2]

        threads = [threading.Thread(target=move, args=(k,)) for k in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(120)
        assert [a[0] for a in answers] == ["OK", "OK"], (rnd, answers)
        assert mailbox_row(s, "user.bob")[1] == part
        assert mailbox_files(s, part, uid) == guids(s, "user.bob") and len(guids(s, "user.bob")) == n, rnd
        assert mailbox_files(s, "default" if part == "p2" else "p2", uid) is None, rnd
        assert body_of(b.ok("UID FETCH 1:* BODY.PEEK[]")) == expected, rnd
    for a in admins:
        a.logout()
    b.logout()
    s.stop()
    r = s.agora("check")
    assert r.returncode == 0, r.stdout + r.stderr

