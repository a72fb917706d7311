"""Mailbox commands: CREATE, DELETE, RENAME, SUBSCRIBE/UNSUBSCRIBE/LSUB,
LIST (RFC 3501, LIST-EXTENDED, LIST-STATUS, SPECIAL-USE, CHILDREN),
NAMESPACE, STATUS, modified UTF-7 names and the alternate namespace."""
import pytest

from conftest import message
from imapwire import append, connect, status_of, untagged


def lists(responses, name="LIST"):
    """{mailbox name: set of attributes (lower-case)} of LIST/LSUB responses."""
    out = {}
    for t in untagged(responses, name):
        assert t[0] == name, t
        attrs, delim, mbox = t[1], t[2], t[3]
        out[mbox.decode() if isinstance(mbox, bytes) else mbox] = {a.lower() for a in attrs}
    return out


def statuses(responses):
    out = {}
    for t in untagged(responses, "STATUS"):
        name = t[1].decode() if isinstance(t[1], bytes) else t[1]
        items = t[2]
        out[name] = {items[i].upper(): int(items[i + 1]) for i in range(0, len(items), 2)}
    return out


# -- CREATE / DELETE


def test_create_and_list_back(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.Work")
    got = lists(w.ok('LIST "" "INBOX.*"'))
    assert "INBOX.Work" in got, f"created mailbox missing from LIST: {got}"
    u, t = w.cmd("CREATE INBOX.Work")
    assert status_of(t) == "NO" and "ALREADYEXISTS" in t.text, f"duplicate CREATE must be NO [ALREADYEXISTS]: {t.raw!r}"
    u, t = w.cmd("CREATE inbox")
    assert status_of(t) == "NO", f"CREATE INBOX (any case) must fail: {t.raw!r}"


def test_create_with_trailing_separator_and_intermediate_levels(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.Projects.")
    got = lists(w.ok('LIST "" "INBOX.*"'))
    assert "INBOX.Projects" in got, f"trailing separator must be dropped: {got}"
    w.ok("CREATE INBOX.A.B.C")
    got = lists(w.ok('LIST "" "INBOX.A*"'))
    assert "INBOX.A.B.C" in got and "\\hasnochildren" in got["INBOX.A.B.C"], got
    # RFC 3501: missing superior levels are created (or at least shown)
    assert "INBOX.A" in got and "\\haschildren" in got["INBOX.A"], got
    assert w.cmd("SELECT INBOX.A.B.C")[1].tokens[1] == "OK"


def test_create_outside_own_hierarchy_refused(server):
    w = connect(server, "bob")
    u, t = w.cmd("CREATE user.alice.Spy")
    assert status_of(t) == "NO", f"bob must not create in alice's hierarchy: {t.raw!r}"
    u, t = w.cmd("CREATE toplevel")
    assert status_of(t) == "NO", f"a non-admin must not create a top-level shared mailbox: {t.raw!r}"


def test_delete(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.Trash2")
    w.ok("DELETE INBOX.Trash2")
    assert "INBOX.Trash2" not in lists(w.ok('LIST "" "*"'))
    u, t = w.cmd("DELETE INBOX.Trash2")
    assert status_of(t) == "NO" and "NONEXISTENT" in t.text, t.raw


def test_delete_inbox_refused(server):
    w = connect(server, "bob")
    u, t = w.cmd("DELETE INBOX")
    assert status_of(t) == "NO", f"DELETE INBOX must be NO: {t.raw!r}"
    assert "INBOX" in lists(w.ok('LIST "" INBOX')), "INBOX must still exist"


def test_delete_with_children_is_haschildren(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.Parent")
    w.ok("CREATE INBOX.Parent.Child")
    u, t = w.cmd("DELETE INBOX.Parent")
    assert status_of(t) == "NO" and "[HASCHILDREN]" in t.text, f"expected NO [HASCHILDREN]: {t.raw!r}"
    w.ok("DELETE INBOX.Parent.Child")
    w.ok("DELETE INBOX.Parent")


def test_delete_selected_mailbox(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.Gone")
    w.ok("SELECT INBOX.Gone")
    w.ok("DELETE INBOX.Gone")
    u, t = w.cmd("NOOP")
    assert status_of(t) == "OK", t.raw


# -- RENAME


def test_rename_moves_children_along(server):
    w = connect(server, "bob")
    for name in ("INBOX.Old", "INBOX.Old.Sub", "INBOX.Old.Sub.Deep"):
        w.ok(f"CREATE {name}")
    append(w, "INBOX.Old.Sub", message("kept"))
    w.ok("RENAME INBOX.Old INBOX.New")
    got = lists(w.ok('LIST "" "*"'))
    for name in ("INBOX.New", "INBOX.New.Sub", "INBOX.New.Sub.Deep"):
        assert name in got, f"{name} missing after RENAME: {sorted(got)}"
    for name in ("INBOX.Old", "INBOX.Old.Sub", "INBOX.Old.Sub.Deep"):
        assert name not in got, f"{name} still there after RENAME: {sorted(got)}"
    st = statuses(w.ok("STATUS INBOX.New.Sub (MESSAGES)"))
    assert st["INBOX.New.Sub"]["MESSAGES"] == 1, "the child's message must move with it"


def test_rename_errors(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.X")
    w.ok("CREATE INBOX.Y")
    u, t = w.cmd("RENAME INBOX.X INBOX.Y")
    assert status_of(t) == "NO" and "ALREADYEXISTS" in t.text, t.raw
    u, t = w.cmd("RENAME INBOX.Nope INBOX.Z")
    assert status_of(t) == "NO" and "NONEXISTENT" in t.text, t.raw
    u, t = w.cmd("RENAME INBOX.X INBOX.X.Inside")
    assert status_of(t) == "NO", f"renaming into itself must fail: {t.raw!r}"


def test_rename_inbox_moves_messages_and_leaves_children(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.Kid")
    for i in range(3):
        append(w, "INBOX", message(f"m{i}"))
    w.ok("RENAME INBOX INBOX.Archive")
    st = statuses(w.ok("STATUS INBOX (MESSAGES)") + w.ok("STATUS INBOX.Archive (MESSAGES)"))
    assert st["INBOX"]["MESSAGES"] == 0, f"INBOX must be empty after RENAME INBOX: {st}"
    assert st["INBOX.Archive"]["MESSAGES"] == 3, f"the messages must be in the new mailbox: {st}"
    got = lists(w.ok('LIST "" "*"'))
    assert "INBOX.Kid" in got, f"INBOX's children stay where they were: {sorted(got)}"
    assert "INBOX.Archive.Kid" not in got, f"INBOX's children must not move: {sorted(got)}"
    # INBOX is still usable
    append(w, "INBOX", message("after"))
    u = w.ok("SELECT INBOX")
    assert ["1", "EXISTS"] in [t for t in untagged(u, "EXISTS")], [r.raw for r in u]


# -- SUBSCRIBE / UNSUBSCRIBE / LSUB


def test_subscribe_unsubscribe_lsub(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.S1")
    w.ok("CREATE INBOX.S2")
    w.ok("SUBSCRIBE INBOX.S1")
    w.ok("SUBSCRIBE INBOX.S2")
    got = lists(w.ok('LSUB "" "INBOX.*"'), "LSUB")
    assert set(got) == {"INBOX.S1", "INBOX.S2"}, f"LSUB must list exactly the subscriptions: {got}"
    w.ok("UNSUBSCRIBE INBOX.S2")
    got = lists(w.ok('LSUB "" "*"'), "LSUB")
    assert "INBOX.S2" not in got and "INBOX.S1" in got, got
    # a subscription outlives its mailbox (RFC 3501 6.3.6)
    w.ok("DELETE INBOX.S1")
    got = lists(w.ok('LSUB "" "*"'), "LSUB")
    assert "INBOX.S1" in got, f"subscriptions stay after DELETE: {got}"
    u, t = w.cmd("UNSUBSCRIBE INBOX.NeverSubscribed")
    assert status_of(t) in ("OK", "NO"), t.raw


def test_lsub_percent_shows_unsubscribed_parent_as_noselect(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.P.C")
    w.ok("SUBSCRIBE INBOX.P.C")
    got = lists(w.ok('LSUB "" "INBOX.%"'), "LSUB")
    # RFC 3501 6.3.9: a non-subscribed parent of a subscribed child matched
    # by % is returned with \Noselect
    assert "INBOX.P" in got and "\\noselect" in got["INBOX.P"], f"expected INBOX.P (\\Noselect): {got}"


# -- LIST


def test_list_empty_pattern_gives_delimiter(server):
    w = connect(server, "bob")
    u = w.ok('LIST "" ""')
    t = untagged(u, "LIST")
    assert len(t) == 1, [r.raw for r in u]
    assert t[0][1] == ["\\Noselect"] and t[0][2] == b"." and t[0][3] == b"", f"expected (\\Noselect) \".\" \"\": {t}"


def test_list_percent_and_star(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.a.b.c")
    w.ok("CREATE INBOX.d")
    pct = lists(w.ok('LIST "" "INBOX.%"'))
    assert set(pct) == {"INBOX.a", "INBOX.d"}, f"% must not cross the delimiter: {sorted(pct)}"
    star = lists(w.ok('LIST "" "INBOX.*"'))
    assert set(star) == {"INBOX.a", "INBOX.a.b", "INBOX.a.b.c", "INBOX.d"}, sorted(star)
    top = lists(w.ok('LIST "" "%"'))
    assert "INBOX" in top and "INBOX.a" not in top, sorted(top)
    assert "\\haschildren" in top["INBOX"], top
    inbox = lists(w.ok('LIST "" "inbox"'))
    assert list(inbox) == ["INBOX"], f"INBOX matches case-insensitively and is listed as INBOX: {inbox}"


def test_list_reference_is_prefixed(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.ref.one")
    w.ok("CREATE INBOX.ref.two")
    got = lists(w.ok('LIST "INBOX.ref." "%"'))
    assert set(got) == {"INBOX.ref.one", "INBOX.ref.two"}, f"reference + pattern: {sorted(got)}"


def test_list_haschildren_hasnochildren(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.top")
    w.ok("CREATE INBOX.top.leaf")
    got = lists(w.ok('LIST "" "INBOX.*"'))
    assert "\\haschildren" in got["INBOX.top"], got
    assert "\\hasnochildren" in got["INBOX.top.leaf"], got
    w.ok("DELETE INBOX.top.leaf")
    got = lists(w.ok('LIST "" "INBOX.*"'))
    assert "\\hasnochildren" in got["INBOX.top"], f"after deleting the only child: {got}"


def test_list_other_users_hidden_without_rights(server):
    connect(server, "alice").close()  # autocreate alice's INBOX
    w = connect(server, "bob")
    got = lists(w.ok('LIST "" "*"'))
    assert not any(n.startswith("user.alice") for n in got), f"bob must not see alice's mailboxes: {got}"


def test_list_extended_subscribed(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.on")
    w.ok("CREATE INBOX.off")
    w.ok("SUBSCRIBE INBOX.on")
    w.ok("SUBSCRIBE INBOX.ghost")  # no such mailbox
    got = lists(w.ok('LIST (SUBSCRIBED) "" "INBOX.*"'))
    assert set(got) == {"INBOX.on", "INBOX.ghost"}, f"LIST (SUBSCRIBED) gives exactly the subscriptions: {got}"
    assert "\\subscribed" in got["INBOX.on"], got
    assert "\\nonexistent" in got["INBOX.ghost"], f"a subscribed missing mailbox is \\NonExistent: {got}"
    got = lists(w.ok('LIST "" "INBOX.*" RETURN (SUBSCRIBED)'))
    assert "\\subscribed" in got["INBOX.on"] and "\\subscribed" not in got["INBOX.off"], got
    assert "INBOX.ghost" not in got, f"RETURN (SUBSCRIBED) does not select: {got}"


def test_list_extended_children_and_multiple_patterns(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.c1.x")
    w.ok("CREATE INBOX.c2")
    got = lists(w.ok('LIST "" ("INBOX.c1" "INBOX.c2") RETURN (CHILDREN)'))
    assert set(got) == {"INBOX.c1", "INBOX.c2"}, got
    assert "\\haschildren" in got["INBOX.c1"] and "\\hasnochildren" in got["INBOX.c2"], got


def test_list_special_use(server):
    w = connect(server, "bob")
    # RFC 6154 CREATE-SPECIAL-USE
    w.ok("CREATE INBOX.Sent (USE (\\Sent))")
    w.ok("CREATE INBOX.Plain")
    got = lists(w.ok('LIST (SPECIAL-USE) "" "*"'))
    assert set(got) == {"INBOX.Sent"}, f"LIST (SPECIAL-USE) selects only special-use mailboxes: {got}"
    assert "\\sent" in got["INBOX.Sent"], got
    got = lists(w.ok('LIST "" "*" RETURN (SPECIAL-USE)'))
    assert "\\sent" in got["INBOX.Sent"] and "INBOX.Plain" in got, got
    got = lists(w.ok('LIST "" "*"'))
    assert "\\sent" in got["INBOX.Sent"], f"RFC 6154: plain LIST shows special-use attributes too: {got}"
    u, t = w.cmd("CREATE INBOX.Odd (USE (\\Bogus))")
    assert status_of(t) == "NO" and "USEATTR" in t.text, f"unknown use attribute: NO [USEATTR], got {t.raw!r}"


def test_list_status(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.ls")
    append(w, "INBOX.ls", message("one"))
    append(w, "INBOX.ls", message("two"), flags="\\Seen")
    u = w.ok('LIST "" "INBOX.ls" RETURN (STATUS (MESSAGES UNSEEN UIDNEXT))')
    assert "INBOX.ls" in lists(u)
    st = statuses(u)
    assert st == {"INBOX.ls": {"MESSAGES": 2, "UNSEEN": 1, "UIDNEXT": 3}}, st
    # LIST response comes before its STATUS
    kinds = [r.tokens[1] for r in u if r.tokens[0] == "*"]
    assert kinds == ["LIST", "STATUS"], kinds


def test_namespace(server):
    w = connect(server, "bob")
    u = w.ok("NAMESPACE")
    t = untagged(u, "NAMESPACE")[0]
    assert t[1:] == [[[b"INBOX.", b"."]], [[b"user.", b"."]], [[b"", b"."]]], t


# -- STATUS


def test_status_every_item(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.st")
    m1, m2, m3 = message("a"), message("bb"), message("ccc")
    append(w, "INBOX.st", m1, flags="\\Seen")
    append(w, "INBOX.st", m2)
    append(w, "INBOX.st", m3)
    u = w.ok("STATUS INBOX.st (MESSAGES RECENT UIDNEXT UIDVALIDITY UNSEEN HIGHESTMODSEQ SIZE)")
    st = statuses(u)["INBOX.st"]
    assert st["MESSAGES"] == 3 and st["UNSEEN"] == 2 and st["UIDNEXT"] == 4, st
    assert st["RECENT"] == 3, f"nobody selected the mailbox yet, so all 3 are recent: {st}"
    assert st["SIZE"] == len(m1) + len(m2) + len(m3), f"SIZE is the sum of RFC822.SIZE: {st}"
    assert st["UIDVALIDITY"] > 0 and st["HIGHESTMODSEQ"] > 0, st
    # HIGHESTMODSEQ grows with a change, UIDVALIDITY does not
    w.ok("SELECT INBOX.st")
    w.ok("STORE 2 +FLAGS (\\Flagged)")
    w.ok("UNSELECT")
    st2 = statuses(w.ok("STATUS INBOX.st (UIDVALIDITY HIGHESTMODSEQ RECENT)"))["INBOX.st"]
    assert st2["HIGHESTMODSEQ"] > st["HIGHESTMODSEQ"], (st, st2)
    assert st2["UIDVALIDITY"] == st["UIDVALIDITY"], (st, st2)
    assert st2["RECENT"] == 0, f"after a SELECT nothing is recent any more: {st2}"


def test_status_errors(server):
    w = connect(server, "bob")
    u, t = w.cmd("STATUS INBOX.none (MESSAGES)")
    assert status_of(t) == "NO", t.raw
    u, t = w.cmd("STATUS INBOX (BOGUS)")
    assert status_of(t) == "BAD", f"unknown STATUS item must be BAD: {t.raw!r}"
    u, t = w.cmd("STATUS INBOX ()")
    assert status_of(t) == "BAD", t.raw


# -- modified UTF-7


def test_mutf7_names_accepted_and_listed_identically(server):
    w = connect(server, "bob")
    names = ["INBOX.Entw&APw-rfe", "INBOX.&ZeVnLIqe-", "INBOX.Tom &- Jerry", "INBOX.&AMk-t&AOk-"]
    for n in names:
        w.ok(f'CREATE "{n}"')
    got = lists(w.ok('LIST "" "INBOX.*"'))
    for n in names:
        assert n in got, f"{n} must be listed back byte for byte: {sorted(got)}"
    st = statuses(w.ok('STATUS "INBOX.&ZeVnLIqe-" (MESSAGES)'))
    assert "INBOX.&ZeVnLIqe-" in st, st
    w.ok('SELECT "INBOX.Entw&APw-rfe"')


@pytest.mark.parametrize("bad", [
    "INBOX.&Jjo!",          # unterminated shift
    "INBOX.&AGE-",          # encodes printable ASCII 'a'
    "INBOX.&-&-x&U,BTFw",   # unterminated after valid ones
    "INBOX.&ZeVnLIqe",      # no closing '-'
    "INBOX.&AMk-&AOk-",     # two adjacent encoded runs (must be one)
    "INBOX.caf\u00e9",      # raw 8-bit
])
def test_invalid_mutf7_rejected(server, bad):
    w = connect(server, "bob")
    u, t = w.cmd(f'CREATE "{bad}"'.encode("utf-8"))
    assert status_of(t) in ("NO", "BAD"), f"invalid mUTF-7 {bad!r} must be refused, got {t.raw!r}"
    got = lists(w.ok('LIST "" "*"'))
    assert not any(n.startswith("INBOX.") for n in got), f"nothing may have been created: {got}"


# -- alternate namespace / unix separator


def test_altnamespace_and_unixhierarchysep(make_server):
    s = make_server(conf={"altnamespace": "yes", "unixhierarchysep": "yes"})
    connect(s, "alice").close()
    w = connect(s, "bob")
    u = w.ok("NAMESPACE")
    t = untagged(u, "NAMESPACE")[0]
    assert t[1] == [[b"", b"/"]], f"personal namespace is \"\" with / : {t}"
    assert t[2] == [[b"Other Users/", b"/"]] and t[3] == [[b"Shared Folders/", b"/"]], t
    d = untagged(w.ok('LIST "" ""'), "LIST")[0]
    assert d[2] == b"/", f"delimiter must be /: {d}"
    w.ok("CREATE Work")
    w.ok("CREATE Work/2026.Q1")
    w.ok("CREATE Work/Sub")
    got = lists(w.ok('LIST "" "*"'))
    assert "INBOX" in got and "Work" in got and "Work/2026.Q1" in got and "Work/Sub" in got, sorted(got)
    assert "\\haschildren" in got["Work"], got
    pct = lists(w.ok('LIST "" "%"'))
    assert "Work/Sub" not in pct and "Work" in pct, sorted(pct)
    append(w, "Work/2026.Q1", message("alt"))
    st = statuses(w.ok('STATUS "Work/2026.Q1" (MESSAGES)'))
    assert st == {"Work/2026.Q1": {"MESSAGES": 1}}, st
    # the dot inside a level is stored as ^, a different mailbox from Work/2026/Q1
    w.ok("CREATE Work/2026/Q1")
    got = lists(w.ok('LIST "" "Work/*"'))
    assert {"Work/2026.Q1", "Work/2026", "Work/2026/Q1"} <= set(got), sorted(got)
    w.ok("RENAME Work Job")
    got = lists(w.ok('LIST "" "*"'))
    assert "Job/Sub" in got and "Work/Sub" not in got, sorted(got)
    u, t = w.cmd("CREATE INBOX/Child")
    assert status_of(t) in ("OK", "NO"), t.raw


def test_altnamespace_other_users_prefix(make_server):
    s = make_server(conf={"altnamespace": "yes", "unixhierarchysep": "yes"})
    connect(s, "bob").close()
    w = connect(s, "alice")
    got = lists(w.ok('LIST "" "Other Users/*"'))
    assert got == {}, f"without rights alice sees nothing of bob: {got}"
    u, t = w.cmd('SELECT "Other Users/bob"')
    assert status_of(t) == "NO", f"bob's INBOX is invisible to alice: {t.raw!r}"
