"""Autocreate as the seed autocreate document and Cyrus 3 describe it."""
import imaplib

import pytest


def names(m, pattern="*"):
    typ, data = m.list('""', pattern)
    assert typ == "OK"
    out = {}
    for line in data:
        if line is None:
            continue
        s = line.decode()
        attrs = s[s.index("(") + 1:s.index(")")].split()
        name = s.rsplit(" ", 1)[1].strip('"')
        out[name] = attrs
    return out


def test_inbox_and_default_folders_with_special_use(make_server):
    s = make_server(conf={"autocreate_inbox_folders": "Sent | Drafts | Trash | Junk | Projects",
                          "autocreate_subscribe_folders": "INBOX | Sent | Trash"})
    m = s.imap("bob")
    got = names(m)
    assert set(got) == {"INBOX", "INBOX.Sent", "INBOX.Drafts", "INBOX.Trash", "INBOX.Junk", "INBOX.Projects"}
    assert "\\Sent" in got["INBOX.Sent"] and "\\Drafts" in got["INBOX.Drafts"]
    assert "\\Trash" in got["INBOX.Trash"] and "\\Junk" in got["INBOX.Junk"]
    assert not any(a.startswith("\\") and a not in ("\\HasChildren", "\\HasNoChildren")
                   for a in got["INBOX.Projects"])
    typ, data = m.lsub('""', "*")
    subscribed = {d.decode().rsplit(" ", 1)[1].strip('"') for d in data if d}
    assert subscribed == {"INBOX", "INBOX.Sent", "INBOX.Trash"}
    # special-use selection (RFC 6154 LIST-EXTENDED)
    typ, data = m._simple_command("LIST", "(SPECIAL-USE)", '""', "*")
    typ, data = m._untagged_response(typ, data, "LIST")
    assert len([d for d in data if d]) == 4


def test_no_autocreate_for_admins_or_unknown_users(make_server):
    s = make_server()
    a = s.imap("admin")
    assert a.select("INBOX")[0] == "NO", "administrators get no INBOX"
    assert "administrators get none" in s.log_text()


def test_autocreate_users_restricts_by_user_and_group(make_server):
    s = make_server(conf={"autocreate_users": "alice group:staff"}, users=("admin", "bob", "alice", "carol"))
    s.agora("group", "add", "staff", "carol")
    for user, expect in (("alice", "OK"), ("carol", "OK"), ("bob", "NO")):
        m = s.imap(user)
        assert m.select("INBOX")[0] == expect, user
    assert "no INBOX for bob: not in autocreate_users" in s.log_text()


def test_create_on_post_only_with_autocreate_post(make_server):
    s = make_server(conf={"autocreate_post": "no"})
    lm = s.lmtp()
    with pytest.raises(Exception) as e:
        lm.sendmail("x@example.test", ["bob@example.test"], b"Subject: one\r\n\r\nbody\r\n")
    assert "5.1.1" in str(e.value) or "User unknown" in str(e.value)
    assert "autocreate_post is off" in s.log_text()
    s2 = make_server(conf={"autocreate_post": "yes", "autocreate_inbox_folders": "Sent"})
    lm = s2.lmtp()
    lm.sendmail("x@example.test", ["bob@example.test"], b"Subject: two\r\n\r\nbody\r\n")
    m = s2.imap("bob")
    assert m.select("INBOX")[1] == [b"1"]
    assert "INBOX.Sent" in names(m)
    assert "on first delivery" in s2.log_text()


def test_subscribe_shared_folders(make_server):
    s = make_server(conf={"autocreate_subscribe_sharedfolders": "shared.news | shared.secret | shared.none"})
    a = s.imap("admin")
    assert a.create("shared.news")[0] == "OK"          # defaultacl: anyone lrs
    assert a.create("shared.secret")[0] == "OK"
    assert a.deleteacl("shared.secret", "anyone")[0] == "OK"
    m = s.imap("bob")
    typ, data = m.lsub('""', "*")
    subscribed = {d.decode().rsplit(" ", 1)[1].strip('"') for d in data if d}
    assert "shared.news" in subscribed
    assert "shared.secret" not in subscribed, "no subscription to what the user may not see"


def test_subscribe_all_shared_folders(make_server):
    s = make_server(conf={"autocreate_subscribe_sharedfolders_all": "yes"})
    a = s.imap("admin")
    for n in ("shared.a", "shared.b", "shared.hidden"):
        assert a.create(n)[0] == "OK"
    a.deleteacl("shared.hidden", "anyone")
    m = s.imap("alice")
    typ, data = m.lsub('""', "shared.*")
    subscribed = {d.decode().rsplit(" ", 1)[1].strip('"') for d in data if d}
    assert subscribed == {"shared.a", "shared.b"}


def test_autocreate_quota_on_first_login(make_server):
    s = make_server(conf={"autocreate_quota": "1000", "autocreate_quota_messages": "5"})
    m = s.imap("bob")
    typ, data = m.getquotaroot("INBOX")
    assert typ == "OK"
    flat = b" ".join(x if isinstance(x, bytes) else b" ".join(x) for x in data)
    assert b"STORAGE 0 1000" in flat and b"MESSAGE 0 5" in flat
