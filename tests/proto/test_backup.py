"""`agora backup` while four clients deliver over LMTP and read, flag and
expunge over IMAP; each backup is consistent (every message row has its
file and nothing else is there, every UID below uidnext is either a message
or recorded as expunged, each client's messages are a prefix of what it
delivered), and `agora restore` into a fresh store gives a store agorad
serves with exactly those messages."""
import os
import re
import sqlite3
import threading
import time

USERS = ("bob", "alice", "carol", "dave")


def client(server, user, stop, delivered, errors):
    """Delivers numbered messages to `user` and, in between, reads them,
    sets flags and expunges some over IMAP."""
    try:
        lmtp = server.lmtp()
        m = server.imap(user)
        n = 0
        while not stop.is_set():
            body = f"message {n} for {user}\r\n" + ("x" * (n % 7) * 40 + "\r\n") * (n % 5)
            msg = (f"From: load@example.com\r\nTo: {user}@example.org\r\nSubject: {user} {n}\r\n"
                   f"Message-ID: <{user}.{n}@load>\r\n\r\n{body}").encode()
            refused = lmtp.sendmail("load@example.com", [f"{user}@example.org"], msg)
            assert not refused
            delivered[user] = n + 1
            n += 1
            if n % 3 == 0:
                typ, data = m.select("INBOX")
                assert typ == "OK"
                typ, data = m.fetch("1:*", "(FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
                assert typ == "OK"
                m.store("1:*", "+FLAGS", "(\\Seen)")
            if n % 10 == 0:
                # Expunge the oldest message: files vanish while backups run.
                m.store("1", "+FLAGS", "(\\Deleted)")
                m.expunge()
        m.logout()
        lmtp.quit()
    except Exception as e:   # reported by the test
        errors.append(f"{user}: {e!r}")


def check_backup(bdir):
    """The backup's own consistency; returns {mailbox: [(uid, subject, file bytes)]}."""
    db = sqlite3.connect(os.path.join(bdir, "agora.db"))
    named = set()
    content = {}
    for mbid, name, uniqueid, part, uidnext in db.execute(
            "SELECT id, name, uniqueid, partition, uidnext FROM mailboxes"):
        rows = db.execute("SELECT uid, guid, size FROM messages WHERE mailbox = ? ORDER BY uid",
                          (mbid,)).fetchall()
        expunged = db.execute("SELECT count(*) FROM expunged WHERE mailbox = ?", (mbid,)).fetchone()[0]
        # A consistent point: every UID handed out is a message or an expunge.
        assert len(rows) + expunged == uidnext - 1, name
        content[name] = []
        for uid, guid, size in rows:
            rel = os.path.join(part, uniqueid[:2], uniqueid, guid)
            path = os.path.join(bdir, "partitions", rel)
            assert os.path.isfile(path), f"{name} uid {uid}: no file {path}"
            with open(path, "rb") as f:
                data = f.read()
            assert len(data) == size
            subject = re.search(rb"Subject: (.*)\r\n", data).group(1).decode()
            content[name].append((uid, subject, data))
            named.add(rel)
    # Nothing but the named files.
    present = set()
    for dirpath, _, files in os.walk(os.path.join(bdir, "partitions")):
        for fn in files:
            present.add(os.path.relpath(os.path.join(dirpath, fn), os.path.join(bdir, "partitions")))
    assert present == named
    # Quota usage agrees with the messages (it is kept in the same transactions).
    for root, used, msgs in db.execute("SELECT root, storage_used, message_used FROM quota_roots"):
        s, c = db.execute("SELECT coalesce(sum(m.size), 0), count(*) FROM messages m JOIN mailboxes b "
                          "ON b.id = m.mailbox WHERE b.name = ? OR b.name LIKE ?",
                          (root, root + ".%")).fetchone()
        assert (used, msgs) == (s, c), root
    db.close()
    return content


def test_backup_under_load_and_restore(make_server):
    s = make_server(users=("admin",) + USERS, conf={"autocreate_quota": "100000", "workers": "2"})
    stop = threading.Event()
    delivered = {u: 0 for u in USERS}
    errors = []
    threads = [threading.Thread(target=client, args=(s, u, stop, delivered, errors)) for u in USERS]
    for t in threads:
        t.start()
    backups = []
    try:
        for i in range(3):
            # Backups while the load runs: wait for progress (slow under ASan).
            end = time.time() + 60
            while min(delivered.values()) < 6 * (i + 1) and time.time() < end and not errors:
                time.sleep(0.1)
            bdir = os.path.join(s.tmp, f"backup{i}")
            r = s.agora("backup", bdir)
            assert re.match(r"backup in .*: \d+ mailboxes, \d+ messages", r.stdout), r.stdout
            backups.append(bdir)
        end = time.time() + 60
        while min(delivered.values()) < 25 and time.time() < end and not errors:
            time.sleep(0.1)
    finally:
        stop.set()
        for t in threads:
            t.join(timeout=60)
    assert not errors, errors
    assert all(n > 10 for n in delivered.values()), delivered

    contents = [check_backup(b) for b in backups]
    for content in contents:
        for u in USERS:
            subjects = [subj for _, subj, _ in content[f"user.{u}"]]
            numbers = [int(x.split()[1]) for x in subjects]
            # Delivered in order, expunged from the front: an increasing run.
            assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
            assert all(x < delivered[u] for x in numbers)
    # Every backup saw messages, later ones more.
    total = [sum(len(v) for v in c.values()) for c in contents]
    assert total[0] > 0 and total[0] <= total[-1]

    # A backup into a non-empty directory is refused.
    r = s.agora("backup", backups[0], check=False)
    assert r.returncode == 2 and "not empty" in r.stderr
    # Restoring over the live, non-empty store is refused without --force.
    r = s.agora("restore", backups[-1], check=False)
    assert r.returncode == 2 and "not empty" in r.stderr

    # Into a fresh store.
    fresh = make_server(users=(), start=False)
    r = fresh.agora("restore", backups[-1])
    assert f"{sum(len(v) for v in contents[-1].values())} messages" in r.stdout, r.stdout
    fresh.start()
    for u in USERS:
        m = fresh.imap(u)
        typ, data = m.select("INBOX", readonly=True)
        assert typ == "OK"
        want = contents[-1][f"user.{u}"]
        assert int(data[0]) == len(want)
        if want:
            typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
            got = [item[1] for item in data if isinstance(item, tuple)]
            assert got == [d for _, _, d in want]
        m.logout()
    # The restored store takes new mail.
    lm = fresh.lmtp()
    assert not lm.sendmail("x@example.com", ["bob@example.org"],
                           b"Subject: after restore\r\n\r\nhello\r\n")
    lm.quit()
    m = fresh.imap("bob")
    typ, data = m.select("INBOX")
    assert int(data[0]) == len(contents[-1]["user.bob"]) + 1
    m.logout()

    # --force replaces a store that holds something.
    fresh.stop()
    r = fresh.agora("restore", "--force", backups[0])
    assert r.returncode == 0
    fresh.start()
    m = fresh.imap("bob")
    typ, data = m.select("INBOX", readonly=True)
    assert int(data[0]) == len(contents[0]["user.bob"])
    m.logout()
