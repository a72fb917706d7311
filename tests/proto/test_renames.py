"""Renaming a user (`RENAME user.bob user.robert` by an administrator, with
Cyrus's `allowusermoves`) and deleting one for good (`agora user del
--purge`): folders, subscriptions (theirs and other users' to their
folders), per-user \\Seen in shared mailboxes, ACL entries naming them
(negative ones too) with the sharing index, quota roots, the account."""
import os
import re
import sqlite3

import pytest

from conftest import message
from imapsession import Session

USERS = ("admin", "bob", "alice", "carol")


def db(server):
    return sqlite3.connect(os.path.join(server.settings["configdirectory"], "agora.db"))


def session_as(server, user, password):
    sess = Session.__new__(Session)
    sess.user = user
    sess.m = server.imap(user, password)
    return sess


def rows_naming(server, who):
    """Every row of every table with a text value that names `who` as a user
    (exactly, as `-who`, as an ACL identifier, or as user.who...)."""
    hits = []
    pat = re.compile(r"(^|[\t.])-?%s($|[\t.])" % re.escape(who))
    with db(server) as c:
        tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
        for t in tables:
            cols = [r[1] for r in c.execute(f"PRAGMA table_info({t})")]
            for row in c.execute(f"SELECT * FROM {t}"):
                for col, v in zip(cols, row):
                    if isinstance(v, str) and (v == who or pat.search(v)):
                        hits.append((t, col, v))
    return hits


def fetch_seen(sess, mailbox):
    """{uid: has \\Seen} of a mailbox, as this session sees it."""
    sess.ok(f"EXAMINE {mailbox}")
    out = {}
    for line in sess.ok("UID FETCH 1:* (FLAGS)"):
        mo = re.search(r"UID (\d+)", line)
        fl = re.search(r"FLAGS \(([^)]*)\)", line)
        if mo and fl:
            out[int(mo.group(1))] = "\\Seen" in fl.group(1).split()
    sess.ok("CLOSE")
    return out


def lsub(sess):
    return sorted(re.sub(r'^\* LSUB \([^)]*\) "." ', "", line).strip('"') for line in sess.ok('LSUB "" *'))


def getacl(sess, mailbox):
    lines = [line for line in sess.ok(f"GETACL {mailbox}") if line.startswith("* ACL")]
    assert len(lines) == 1, lines
    parts = lines[0].split()[3:]
    return dict(zip(parts[::2], parts[1::2]))


def setup_site(server):
    """bob with folders, mail and a quota; alice shares a folder with bob
    (and denies him w with a negative entry) and reads bob's shared Work
    folder, subscribed to it; a bulletin board where bob and alice keep
    their own \\Seen; carol's folder names bob in its ACL."""
    b = Session(server, "bob")
    b.ok("CREATE INBOX.Work")
    b.ok("CREATE INBOX.Work.Deep")
    for i in range(4):
        b.append("INBOX", message(subject=f"in{i}"), "(\\Seen)" if i % 2 else None)
    b.append("INBOX.Work", message(subject="work"), "(\\Flagged)")
    b.ok("SUBSCRIBE INBOX")
    b.ok("SUBSCRIBE INBOX.Work")
    b.ok("SETACL INBOX.Work alice lrs")
    b.ok("SETMETADATA INBOX (/private/comment \"bob's note\")")

    a = Session(server, "alice")
    a.ok("CREATE INBOX.Team")
    a.append("INBOX.Team", message(subject="team"))
    a.ok("SETACL INBOX.Team bob lrswi")
    a.ok("SETACL INBOX.Team -bob w")
    a.ok("SUBSCRIBE user.bob.Work")
    a.ok("SUBSCRIBE INBOX.Team")
    b.ok("SUBSCRIBE user.alice.Team")

    c = Session(server, "carol")
    c.ok("CREATE INBOX.Plans")
    c.ok("SETACL INBOX.Plans bob lr")
    c.ok("SETACL INBOX.Plans alice lr")
    c.logout()

    server.agora("group", "add", "team", "bob", "alice")
    adm = Session(server, "admin")
    adm.ok("CREATE shared.board")
    adm.ok("SETACL shared.board admin lrswipkxtea")
    adm.ok("SETACL shared.board bob lrs")
    for i in range(3):
        adm.append("shared.board", message(subject=f"news{i}"))
    adm.ok("SETQUOTA user.bob (STORAGE 1000)")
    adm.logout()

    b.ok("SETMETADATA shared.board (/private/comment \"bob's board note\")")
    b.ok("SELECT shared.board")
    b.ok("UID STORE 1:2 +FLAGS (\\Seen)")
    b.ok("CLOSE")
    a.ok("SELECT shared.board")
    a.ok("UID STORE 3 +FLAGS (\\Seen)")
    a.ok("CLOSE")
    b.logout()
    a.logout()


@pytest.fixture
def site(make_server):
    s = make_server(conf={"allowusermoves": "yes"}, users=USERS)
    setup_site(s)
    return s


def test_rename_user_moves_everything(site):
    s = site
    b = Session(s, "bob")
    before_inbox = fetch_seen(b, "INBOX")
    b.logout()
    adm = Session(s, "admin")
    adm.ok("RENAME user.bob user.robert")
    names = adm.list_names("user.*")
    assert {"user.robert", "user.robert.Work", "user.robert.Work.Deep"} <= set(names), names
    assert not [n for n in names if n.startswith("user.bob")], names
    # the quota root followed
    assert "* QUOTA user.robert (STORAGE" in " ".join(adm.ok("GETQUOTA user.robert"))
    adm.logout()

    # the account followed: robert logs in with bob's password, bob no longer can
    with pytest.raises(Exception):
        s.imap("bob")
    r = session_as(s, "robert", "bobpw")
    assert set(r.list_names("INBOX*")) == {"INBOX", "INBOX.Work", "INBOX.Work.Deep"}
    assert fetch_seen(r, "INBOX") == before_inbox
    assert lsub(r) == ["INBOX", "INBOX.Work", "user.alice.Team"]
    # per-user \Seen on the bulletin board is still his
    assert fetch_seen(r, "shared.board") == {1: True, 2: True, 3: False}
    # rights given to bob are robert's, the negative entry too
    myrights = " ".join(r.ok("MYRIGHTS user.alice.Team"))
    assert re.search(r"MYRIGHTS \S+ (\S+)", myrights).group(1) == "lrsi", myrights
    assert getacl(r, "INBOX.Work") == {"robert": "lrswipkxteacd", "alice": "lrs"}
    assert "* QUOTA INBOX (STORAGE 0 1000)" in r.ok("GETQUOTAROOT INBOX")  # the root shows as INBOX
    assert "bob's note" in " ".join(r.ok("GETMETADATA INBOX /private/comment"))
    assert "bob's board note" in " ".join(r.ok("GETMETADATA shared.board /private/comment"))
    r.logout()

    a = Session(s, "alice")
    assert "user.robert.Work" in a.list_names()
    assert "user.bob.Work" not in a.list_names()
    assert lsub(a) == ["INBOX.Team", "user.robert.Work"]
    assert getacl(a, "INBOX.Team") == {"alice": "lrswipkxteacd", "robert": "lrswi", "-robert": "w"}
    assert fetch_seen(a, "shared.board") == {1: False, 2: False, 3: True}
    assert fetch_seen(a, "user.robert.Work") == {1: False}
    a.logout()
    c = Session(s, "carol")
    assert getacl(c, "INBOX.Plans") == {"carol": "lrswipkxteacd", "robert": "lr", "alice": "lr"}
    c.logout()

    # nothing anywhere names bob any more; the sharing index names robert
    assert rows_naming(s, "bob") == []
    with db(s) as conn:
        shared = sorted(r[0] for r in conn.execute(
            "SELECT b.name FROM shares s JOIN mailboxes b ON b.id = s.mailbox WHERE s.ident = 'robert'"))
        assert shared == ["shared.board", "user.alice.Team", "user.carol.Plans", "user.robert",
                          "user.robert.Work", "user.robert.Work.Deep"], shared
        seen = sorted(conn.execute("SELECT user, uid FROM seen s JOIN mailboxes b ON b.id = s.mailbox "
                                   "WHERE b.name = 'shared.board'"))
        assert seen == [("alice", 3), ("robert", 1), ("robert", 2)], seen
        assert conn.execute("SELECT name FROM users WHERE name IN ('bob', 'robert')").fetchall() == [("robert",)]
        assert sorted(conn.execute("SELECT member FROM group_members WHERE grp = 'team'")) == [("alice",), ("robert",)]


def test_rename_user_refused_without_allowusermoves(make_server):
    s = make_server(users=USERS)
    setup_site(s)
    adm = Session(s, "admin")
    assert "allowusermoves" in adm.no("RENAME user.bob user.robert")
    assert "user.bob" in adm.list_names("user.*")
    adm.logout()
    assert rows_naming(s, "robert") == []


def test_rename_user_refusals(site):
    s = site
    adm = Session(s, "admin")
    # onto a user that exists, below another user, and a user who has an account
    assert "[ALREADYEXISTS]" in adm.no("RENAME user.bob user.alice")
    assert "[CANNOT]" in adm.no("RENAME user.bob user.alice.bob")
    s.agora("user", "add", "robert", input="robertpw\n")
    assert "already has an account" in adm.no("RENAME user.bob user.robert")
    assert "user.bob" in adm.list_names("user.*") and "user.robert" not in adm.list_names("user.*")
    adm.logout()
    # a user cannot rename another user, nor themselves
    b = Session(s, "bob")
    status, _, _ = b.run("RENAME user.alice user.zed")
    assert status == "NO"
    b.logout()
    # the account is the only row naming a user who has no mailbox of their
    # own (its secrets are in secrets.db, under the account's secret_id)
    assert rows_naming(s, "robert") == [("users", "name", "robert")]


def test_user_rename_inbox_is_still_rfc3501(site):
    b = Session(site, "bob")
    b.ok("RENAME INBOX INBOX.Old")
    assert "MESSAGES 0" in b.ok("STATUS INBOX (MESSAGES)")[0]
    assert "MESSAGES 4" in b.ok("STATUS INBOX.Old (MESSAGES)")[0]
    assert {"INBOX", "INBOX.Old", "INBOX.Work", "INBOX.Work.Deep"} <= set(b.list_names("INBOX*"))
    b.logout()


def test_rename_user_to_another_partition(make_server, tmp_path):
    s = make_server(conf={"allowusermoves": "yes", "partition-p2": str(tmp_path / "p2")}, users=USERS)
    setup_site(s)
    adm = Session(s, "admin")
    adm.ok("RENAME user.bob user.robert p2")
    with db(s) as conn:
        parts = dict(conn.execute("SELECT name, partition FROM mailboxes WHERE name LIKE 'user.robert%'"))
    assert parts == {"user.robert": "p2", "user.robert.Work": "p2", "user.robert.Work.Deep": "p2"}
    adm.logout()
    m = s.imap("robert", "bobpw")
    m.select("INBOX")
    typ, data = m.uid("FETCH", "1:*", "(BODY.PEEK[])")
    assert typ == "OK" and len([d for d in data if isinstance(d, tuple)]) == 4
    m.logout()


def test_purge_leaves_no_trace(site):
    s = site
    with db(s) as conn:
        dirs = [(p, u) for p, u in conn.execute(
            "SELECT partition, uniqueid FROM mailboxes WHERE name LIKE 'user.bob%'")]
    assert len(dirs) == 3
    spool = s.settings["partition-default"]
    assert all(os.path.isdir(os.path.join(spool, u[:2], u)) for _, u in dirs)
    r = s.agora("user", "del", "--purge", "bob")
    out = r.stdout
    assert "removed account bob" in out, out
    for name, n in (("user.bob", 4), ("user.bob.Work", 1), ("user.bob.Work.Deep", 0)):
        assert f"removed mailbox {name} ({n} messages)" in out, out
    assert "removed 4 subscriptions" in out, out  # bob's three and alice's to user.bob.Work
    assert "removed 2 per-user \\Seen records" in out, out
    assert "removed 4 ACL entries from 3 mailboxes" in out, out  # shared.board, alice's (2), carol's
    assert "removed 1 quota roots" in out, out
    assert "removed 1 group memberships" in out, out
    assert "removed 1 private metadata entries" in out, out  # the board's; his INBOX's went with it
    assert out.rstrip().endswith("user bob purged"), out

    # every table, through sqlite3
    assert rows_naming(s, "bob") == []
    assert not any(os.path.exists(os.path.join(spool, u[:2], u)) for _, u in dirs)
    # and as the others see it
    a = Session(s, "alice")
    assert not [n for n in a.list_names() if "bob" in n]
    assert lsub(a) == ["INBOX.Team"]
    assert getacl(a, "INBOX.Team") == {"alice": "lrswipkxteacd"}
    assert fetch_seen(a, "shared.board") == {1: False, 2: False, 3: True}
    a.logout()
    c = Session(s, "carol")
    assert getacl(c, "INBOX.Plans") == {"carol": "lrswipkxteacd", "alice": "lr"}
    c.logout()
    adm = Session(s, "admin")
    assert not [n for n in adm.list_names() if "bob" in n]
    assert "bob" not in getacl(adm, "shared.board")
    assert adm.run("GETQUOTA user.bob")[0] == "NO"
    adm.logout()
    with pytest.raises(Exception):
        s.imap("bob")
    # a second purge finds nothing
    r = s.agora("user", "del", "--purge", "bob", check=False)
    assert r.returncode == 2 and "no user bob" in r.stderr, (r.returncode, r.stderr)
    # a new bob starts from nothing
    s.agora("user", "add", "bob", input="bobpw\n")
    b = Session(s, "bob")
    assert set(b.list_names()) == {"INBOX", "shared.board"}
    assert lsub(b) == []
    b.logout()


def test_plain_user_del_keeps_the_mail(site):
    s = site
    r = s.agora("user", "del", "bob")
    assert r.stdout == "user bob deleted\n"
    adm = Session(s, "admin")
    assert {"user.bob", "user.bob.Work", "user.bob.Work.Deep"} <= set(adm.list_names("user.*"))
    adm.logout()
    with db(s) as conn:
        assert conn.execute("SELECT count(*) FROM users WHERE name = 'bob'").fetchone() == (0,)
        assert conn.execute("SELECT count(*) FROM messages m JOIN mailboxes b ON b.id = m.mailbox "
                            "WHERE b.name = 'user.bob'").fetchone() == (4,)
    a = Session(s, "alice")
    assert getacl(a, "INBOX.Team") == {"alice": "lrswipkxteacd", "bob": "lrswi", "-bob": "w"}
    a.logout()


def test_user_del_usage(site):
    r = site.agora("user", "del", "--purge", check=False)
    assert r.returncode == 2, r
    r = site.agora("user", "del", "--bogus", "bob", check=False)
    assert r.returncode == 2, r
    r = site.agora("user", "del", "--purge", "nosuch", check=False)
    assert r.returncode == 2 and "no user nosuch" in r.stderr, r.stderr
