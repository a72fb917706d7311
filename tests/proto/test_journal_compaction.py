"""mailbox.journal is compacted: once it is JOURNAL_COMPACT_FACTOR times
the size of its last compacted state (and at least
JOURNAL_COMPACT_MIN_BYTES, src/lib/bounds.h), it is replaced atomically by
the mailbox's state (a `C UIDNEXT HIGHESTMODSEQ BYTES` line, then one `A`
line per message). Many flag changes leave it bounded, and `agora
reconstruct` after losing the database still restores every message with
its UID, flags and keywords, and uidnext. A compaction that crashed before
its rename (a stale temporary file) and lines appended after a compaction
that already took their change in change nothing."""
import os
import sqlite3

from conftest import message
from quotalib import Session, tagged
from recon_lib import db_path, mbox_dir, snapshot

MIN_BYTES = 64 * 1024  # JOURNAL_COMPACT_MIN_BYTES
FACTOR = 4             # JOURNAL_COMPACT_FACTOR
N = 60
KW = ["$Work", "$Later", "Project-X", "$Label1"]


def uniqueid(server, name):
    with sqlite3.connect(db_path(server)) as db:
        return db.execute("SELECT uniqueid FROM mailboxes WHERE name = ?", (name,)).fetchone()[0]


def counters(server, name):
    with sqlite3.connect(db_path(server)) as db:
        return db.execute("SELECT uidvalidity, uidnext FROM mailboxes WHERE name = ?", (name,)).fetchone()


def journal(server, name):
    return os.path.join(mbox_dir(server, uniqueid(server, name)), "mailbox.journal")


def lose_database(server):
    for suffix in ("", "-wal", "-shm"):
        p = db_path(server) + suffix
        if os.path.exists(p):
            os.unlink(p)


def churn(server):
    """N messages in INBOX, then rounds of flag and keyword changes until
    the journal was compacted a few times; returns the largest size seen."""
    b = Session(server, "bob")
    for i in range(N):
        assert tagged(b.append("INBOX", message(f"m{i}", body=f"body {i}\r\n" * (i + 1)),
                               "\\Seen" if i % 3 == 0 else None))[0] == "OK"
    b.ok("SELECT INBOX")
    path = journal(server, "user.bob")
    largest = 0
    compactions = 0
    last = os.path.getsize(path)
    for r in range(200):
        kw = KW[r % len(KW)]
        fl = ["\\Flagged", "\\Answered", "\\Draft", ""][r % 4]
        b.ok(f"UID STORE 1:{N} FLAGS ({(fl + ' ' + kw).strip()})")
        b.ok(f"UID STORE {1 + r % N} +FLAGS (\\Seen {KW[(r + 1) % len(KW)]})")
        size = os.path.getsize(path)
        largest = max(largest, size)
        if size < last:
            compactions += 1
        last = size
    # the end state: varied flags, expunges (the highest UID among them),
    # and a copy in
    end_flags = ["", "\\Seen", "\\Flagged $Work", "\\Answered Project-X"]
    for u in range(1, N + 1):
        b.ok(f"UID STORE {u} FLAGS ({end_flags[u % 4]})")
    b.ok(f"UID STORE 3,7,{N} +FLAGS (\\Deleted)")
    b.ok("EXPUNGE")
    b.ok("CREATE INBOX.Other")
    b.ok("UID COPY 1:4 INBOX.Other")
    b.ok("SELECT INBOX.Other")
    b.ok("UID COPY 1:2 INBOX")
    b.close()
    return largest, compactions


def test_journal_stays_bounded_and_rebuilds(make_server):
    server = make_server()
    largest, compactions = churn(server)
    assert compactions >= 2, (largest, compactions)
    with open(journal(server, "user.bob")) as f:
        first = f.readline()
    assert first.startswith("C "), first
    # the state of 60 messages is a few KiB: the journal never grows much
    # past the threshold (one command's lines at most beyond it)
    assert largest < MIN_BYTES + 16 * 1024, largest
    server.stop()
    before, _ = snapshot(server)
    counts_before = counters(server, "user.bob")
    assert server.agora("check").stdout == ""

    lose_database(server)
    lines = [ln for ln in server.agora("reconstruct").stdout.splitlines() if ln]
    assert not any("new UID" in ln or "UIDVALIDITY" in ln for ln in lines), lines
    after, _ = snapshot(server)
    assert after == before
    # uidnext is kept even though the highest UID was expunged
    assert counters(server, "user.bob") == counts_before
    server.agora("user", "add", "bob", input="bobpw\n")
    assert server.agora("check").stdout == ""
    assert server.agora("reconstruct").stdout.strip() == "nothing to do"


def test_crash_leftovers_change_nothing(make_server):
    server = make_server()
    churn(server)
    server.stop()
    before, _ = snapshot(server)
    counts_before = counters(server, "user.bob")
    path = journal(server, "user.bob")
    d = os.path.dirname(path)
    with open(path) as f:
        text = f.read()
    a_lines = [ln for ln in text.splitlines() if ln.startswith("A ")]
    # 1. a compaction that crashed before its rename: a stale, partial
    # temporary file beside the whole journal
    with open(os.path.join(d, ".mailbox.journal.tmp"), "w") as f:
        f.write("C 2 5 40\nA 1 " + "0" * 32 + " 1 1 1 0 0\n")
    assert server.agora("check").stdout == ""
    # 2. lines appended after the compaction that had already taken their
    # change in: an old A line (the APPEND's) and old flag changes
    uid, guid = a_lines[1].split()[1:3]
    with open(path, "a") as f:
        f.write(f"A {uid} {guid} 1 5 0 0 0\n")
        f.write(f"F {uid} 2 0\n")
        f.write(f"f {a_lines[2].split()[1]} 3 0 $Stale\n")

    lose_database(server)
    lines = [ln for ln in server.agora("reconstruct").stdout.splitlines() if ln]
    assert any("removed unfinished .mailbox.journal.tmp" in ln for ln in lines), lines
    assert not os.path.exists(os.path.join(d, ".mailbox.journal.tmp"))
    assert not any("new UID" in ln or "UIDVALIDITY" in ln or "lost+found" in ln for ln in lines), lines
    after, _ = snapshot(server)
    assert after == before
    assert counters(server, "user.bob") == counts_before
