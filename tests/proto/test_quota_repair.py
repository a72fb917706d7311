"""`agora quota -f`: usage damaged on purpose in the store (as a crash
between two writes might leave it) is recomputed from the messages; only
the damaged roots are reported, and a second run finds nothing."""
import os
import sqlite3

from conftest import message
from quotalib import Session, big_message, tagged


def db_path(server):
    return os.path.join(server.settings["configdirectory"], "agora.db")


def stored_usage(server):
    with sqlite3.connect(db_path(server)) as db:
        return {r: (s, m) for r, s, m in
                db.execute("SELECT root, storage_used, message_used FROM quota_roots")}


def computed_usage(server, root, all_roots):
    """Sum and count over the messages of the mailboxes the root covers:
    the root's mailbox and those below it, minus those under a deeper root."""
    def covering(name):
        best = None
        for r in all_roots:
            if (name == r or name.startswith(r + ".")) and (best is None or len(r) > len(best)):
                best = r
        return best
    with sqlite3.connect(db_path(server)) as db:
        total = count = 0
        for name, size in db.execute(
                "SELECT b.name, m.size FROM mailboxes b JOIN messages m ON m.mailbox = b.id"):
            if covering(name) == root:
                total += size
                count += 1
    return total, count


def populate(server):
    """Roots: user.bob, user.bob.Archive (subfolder root), user.alice,
    shared.contact; messages in each, and in a folder under user.bob."""
    for u in ("bob", "alice"):
        Session(server, u).close()
    b = Session(server, "bob")
    b.ok("CREATE INBOX.Archive")
    b.ok("CREATE INBOX.Sent")
    for mbox, sizes in (("INBOX", (1500, 2600)), ("INBOX.Sent", (900,)), ("INBOX.Archive", (4100, 333))):
        for i, size in enumerate(sizes):
            assert tagged(b.append(mbox, big_message(f"{mbox}{i}", size)))[0] == "OK"
    b.close()
    al = Session(server, "alice")
    assert tagged(al.append("INBOX", big_message("al", 5000)))[0] == "OK"
    al.close()
    a = Session(server, "admin")
    a.ok("CREATE shared.contact")
    a.ok("SETACL shared.contact admin lrswipkxte")
    assert tagged(a.append("shared.contact", message("shared")))[0] == "OK"
    a.ok("SETQUOTA user.bob (STORAGE 1000 MESSAGE 100)")
    a.ok("SETQUOTA user.bob.Archive (STORAGE 1000)")
    a.ok("SETQUOTA user.alice (STORAGE 1000)")
    a.ok("SETQUOTA shared.contact (MESSAGE 10)")
    a.close()
    return ["user.alice", "user.bob", "user.bob.Archive", "shared.contact"]


def imap_usage(server, user, mailboxes):
    """(bytes, count) summed from FETCH RFC822.SIZE over `mailboxes`."""
    s = Session(server, user)
    sizes = []
    for mbox in mailboxes:
        sizes += s.fetch_sizes(mbox)
    s.close()
    return sum(sizes), len(sizes)


def test_quota_f_mends_only_the_damaged_roots(make_server):
    server = make_server()
    roots = populate(server)
    good = stored_usage(server)
    for r in roots:
        assert good[r] == computed_usage(server, r, roots), r
    assert server.agora("quota", "-f").stdout == ""

    server.stop()
    with sqlite3.connect(db_path(server)) as db:
        db.execute("UPDATE quota_roots SET storage_used = 999999, message_used = 42 WHERE root = 'user.bob'")
        db.execute("UPDATE quota_roots SET storage_used = 0 WHERE root = 'user.bob.Archive'")
        db.execute("UPDATE quota_roots SET message_used = 7 WHERE root = 'shared.contact'")
    bob, arch, shared = good["user.bob"], good["user.bob.Archive"], good["shared.contact"]

    out = server.agora("quota", "-f").stdout.splitlines()
    assert sorted(out) == sorted([
        f"user.bob: STORAGE usage was 999999 bytes, now {bob[0]}",
        f"user.bob: MESSAGE usage was 42, now {bob[1]}",
        f"user.bob.Archive: STORAGE usage was 0 bytes, now {arch[0]}",
        f"shared.contact: MESSAGE usage was 7, now {shared[1]}",
    ]), out
    assert stored_usage(server) == good
    for r in roots:
        assert stored_usage(server)[r] == computed_usage(server, r, roots), r
    assert server.agora("quota", "-f").stdout == "", "a second run finds nothing to mend"

    # the same numbers through IMAP
    server.start()
    assert good["user.bob"] == imap_usage(server, "bob", ["INBOX", "INBOX.Sent"])
    assert good["user.bob.Archive"] == imap_usage(server, "bob", ["INBOX.Archive"])
    assert good["user.alice"] == imap_usage(server, "alice", ["INBOX"])
    b = Session(server, "bob")
    lines, _, q = b.getquotaroot("INBOX")
    assert q["INBOX"] == {"STORAGE": (bob[0] // 1024, 1000), "MESSAGE": (bob[1], 100)}, lines
    b.close()


def test_quota_f_on_named_roots_only(make_server):
    server = make_server()
    roots = populate(server)
    good = stored_usage(server)
    server.stop()
    with sqlite3.connect(db_path(server)) as db:
        db.execute("UPDATE quota_roots SET message_used = 99 WHERE root IN ('user.bob', 'user.alice')")
    out = server.agora("quota", "-f", "user.alice").stdout.splitlines()
    assert out == [f"user.alice: MESSAGE usage was 99, now {good['user.alice'][1]}"], out
    assert stored_usage(server)["user.bob"][1] == 99, "a root not named is left alone"
    out = server.agora("quota", "-f").stdout.splitlines()
    assert out == [f"user.bob: MESSAGE usage was 99, now {good['user.bob'][1]}"], out
    assert stored_usage(server) == good
    for r in roots:
        assert good[r] == computed_usage(server, r, roots)
    assert server.agora("quota", "-f").stdout == ""


def test_damage_too_low_lets_enforcement_recover(make_server):
    """A root whose stored usage fell below the truth lets too much in until
    it is mended; after -f the real usage is enforced again."""
    server = make_server()
    Session(server, "bob").close()
    a = Session(server, "admin")
    a.ok("SETQUOTA user.bob (MESSAGE 2)")
    a.close()
    b = Session(server, "bob")
    for i in range(2):
        assert tagged(b.append("INBOX", message(f"m{i}")))[0] == "OK"
    b.close()
    server.stop()
    with sqlite3.connect(db_path(server)) as db:
        db.execute("UPDATE quota_roots SET message_used = 0 WHERE root = 'user.bob'")
    assert server.agora("quota", "-f").stdout.splitlines() == ["user.bob: MESSAGE usage was 0, now 2"]
    server.start()
    b = Session(server, "bob")
    lines = b.append("INBOX", message("third"))
    assert tagged(lines)[0] == "NO" and "[OVERQUOTA]" in lines[-1], lines
    lines, _, q = b.getquotaroot("INBOX")
    assert q == {"INBOX": {"MESSAGE": (2, 2)}}, lines
    b.close()
