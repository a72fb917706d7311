"""COPY while the same messages are expunged: each mailbox directory keeps
exactly the files of its messages."""
import threading

from conftest import message
from imapsession import Session
from test_partitions import guids, mailbox_files, mailbox_row


def test_copy_racing_expunge_leaves_no_file(make_server):
    """COPY links each file into the target before it takes the lock; an
    EXPUNGE of the same messages committed in between leaves the COPY
    nothing to record: its links go, and no file without a message stays."""
    s = make_server()
    b = Session(s, "bob")
    b.ok("CREATE INBOX.T")
    w = Session(s, "bob")
    w.ok("SELECT INBOX")
    c = Session(s, "bob")
    c.ok("SELECT INBOX")
    copied = 0
    for rnd in range(20):
        for i in range(10):
            b.append("INBOX", message(subject=f"r{rnd}m{i}"))
        w.ok("NOOP")
        c.ok("NOOP")
        go = threading.Barrier(2)
        out = {}

        def copier():
            go.wait()
            out["copy"] = c.run("UID COPY 1:* INBOX.T")[:2]

        def expunger():
            go.wait()
            w.ok("STORE 1:* +FLAGS.SILENT (\\Deleted)")
            out["expunge"] = w.run("EXPUNGE")[:2]

        threads = [threading.Thread(target=f) for f in (copier, expunger)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert out["copy"][0] == "OK" and out["expunge"][0] == "OK", out
        c.ok("NOOP")
        copied = len(guids(s, "user.bob.T"))
        tuid, tpart = mailbox_row(s, "user.bob.T")
        assert mailbox_files(s, tpart, tuid) == guids(s, "user.bob.T"), rnd
    assert copied > 0
    for x in (b, w, c):
        x.logout()
    s.stop()
    r = s.agora("check")
    assert r.returncode == 0, r.stdout + r.stderr
