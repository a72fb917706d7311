"""The sharing scenarios of the seed documents, end to end over IMAP, each in
the standard namespace and in the alternate one with '/' as separator."""
import re

import pytest

from conftest import message
from imapsession import NAMESPACES, Names, Session, q

USERS = ("admin", "bob", "alice", "carol")


@pytest.fixture(params=sorted(NAMESPACES))
def env(request, make_server):
    ns = NAMESPACES[request.param]
    server = make_server(conf=ns.conf(), users=USERS)
    server.agora("group", "add", "staff", "bob")
    server.agora("group", "add", "interns", "carol")
    sessions = []

    class Env:
        names = ns
        srv = server

        def login(self, user):
            s = Session(server, user)
            sessions.append(s)
            return s

        def admin_name(self, internal):
            return ns.admin(internal)

        def name(self, internal, user):
            return ns.user(internal, user)

    yield Env()
    for s in sessions:
        s.logout()


def status_line(s, name, items="MESSAGES UNSEEN"):
    untagged = s.ok(f"STATUS {q(name)} ({items})")
    assert len(untagged) == 1, untagged
    return dict(re.findall(r"([A-Z]+) (\d+)", untagged[0].split("(", 1)[1]))


def flags_of(s, seq):
    lines = [l for l in s.ok(f"FETCH {seq} FLAGS") if " FETCH " in l]
    assert len(lines) == 1, lines
    flags = re.search(r"FLAGS \(([^)]*)\)", lines[0]).group(1).split()
    return [f for f in flags if f != "\\Recent"]


def search(s, what):
    lines = [l for l in s.ok(f"SEARCH {what}") if l.startswith("* SEARCH")]
    return [int(x) for x in lines[0].split()[2:]]


def same_answer(s, template, hidden, nosuch):
    """The lines that `template` (with {} for the quoted name) produces for a
    hidden mailbox, with the names swapped, equal those for a nonexistent
    one; and nothing of the hidden name appears."""
    got = s.cmd(template.format(q(hidden)))
    want = s.cmd(template.format(q(nosuch)))
    norm_got = [l.replace(got[0], "TAG", 1) for l in got[1:]]
    norm_want = [l.replace(want[0], "TAG", 1).replace(nosuch, hidden) for l in want[1:]]
    assert norm_got == norm_want, f"{template}: hidden mailbox answered {norm_got}, nonexistent {norm_want}"
    return norm_got


def invisible_like_nonexistent(env, who, internal, nosuch_internal):
    """Every command on a mailbox `who` may not look up answers as for a
    mailbox that does not exist."""
    s = env.login(who)
    hidden = env.name(internal, who)
    nosuch = env.name(nosuch_internal, who)
    listed = s.cmd('LIST "" "*"')
    leaf = internal.split(".")[-1]
    assert not any(leaf in l for l in listed[1:]), listed
    own = env.name(f"user.{who}.tmp", who)
    s.ok(f"CREATE {q(own)}")
    s.append("INBOX", message("to copy"))
    for template in ("SELECT {}", "EXAMINE {}", "STATUS {} (MESSAGES UNSEEN UIDNEXT)", "GETACL {}",
                     "MYRIGHTS {}", "LISTRIGHTS {} bob", "SETACL {} alice lr", "DELETEACL {} anyone",
                     "DELETE {}", "RENAME {} " + q(env.name(f"user.{who}.x", who)),
                     "RENAME " + q(own) + " {}", "CREATE {}",
                     "APPEND {} {{2+}}\r\nab",
                     "GETMETADATA {} /shared/comment",
                     "SETMETADATA {} (/shared/comment \"x\")",
                     'LIST "" {}', "LIST (SUBSCRIBED) \"\" {}", "LSUB \"\" {}"):
        lines = same_answer(s, template, hidden, nosuch)
        assert not any(leaf in l for l in lines if not l.startswith("TAG")), lines
    s.ok("SELECT INBOX")
    for template in ("COPY 1 {}", "MOVE 1 {}"):
        same_answer(s, template, hidden, nosuch)
    s.ok("UNSELECT")
    s.ok(f"DELETE {q(own)}")
    # and the answers carry the codes a client acts on
    assert "[NONEXISTENT]" in s.no(f"SELECT {q(hidden)}")
    assert "[TRYCREATE]" in s.no(f"APPEND {q(hidden)} {{2+}}\r\nab")


# (a) the Cyrus shared "contact" mailbox

def setup_contact(env):
    a = env.login("admin")
    name = env.admin_name("shared.contact")
    a.ok(f"CREATE {q(name)}")
    a.ok(f"SETACL {q(name)} anyone p")
    a.ok(f"SETACL {q(name)} group:staff lrswipkxtea")
    return a


def test_contact_mailbox_staff_member_reads_and_writes(env):
    setup_contact(env)
    bob = env.login("bob")
    name = env.name("shared.contact", "bob")
    if env.names.alt:
        assert name == "Shared Folders/shared/contact"
    lst = bob.list_names()
    assert name in lst and "\\Noselect" not in lst[name], lst
    untagged = bob.ok(f"SELECT {q(name)}")
    bob.append(name, message("for contact"))
    bob.ok("NOOP")
    assert flags_of(bob, 1) == []
    bob.ok("STORE 1 +FLAGS (\\Flagged \\Answered)")
    assert set(flags_of(bob, 1)) == {"\\Flagged", "\\Answered"}
    out = bob.cmd(f"SELECT {q(name)}")
    assert out[-1].startswith(out[0] + " OK [READ-WRITE]"), out
    assert any("PERMANENTFLAGS (" in l and "\\Seen" in l and "\\Deleted" in l for l in untagged)
    assert bob.ok(f"MYRIGHTS {q(name)}") == [f"* MYRIGHTS {q(name) if ' ' in name else name} lrswipkxteacd"]


def test_contact_mailbox_is_invisible_to_non_members(env):
    setup_contact(env)
    invisible_like_nonexistent(env, "alice", "shared.contact", "shared.nosuch")


def test_other_users_inbox_is_invisible_like_a_missing_account(env):
    """Cyrus tells a stranger who has an account; Agora must not."""
    env.login("bob").ok("NOOP")  # bob's INBOX exists (autocreate)
    invisible_like_nonexistent(env, "alice", "user.bob", "user.nosuchuser")


# (b) a bulletin board with per-user \Seen

def test_bulletin_board_keeps_seen_per_user(env):
    a = env.login("admin")
    board = env.admin_name("shared.news")
    a.ok(f"CREATE {q(board)}")
    assert a.ok(f"GETACL {q(board)}") == [f"* ACL {board} anyone lrs"]
    a.ok(f"SETACL {q(board)} admin lrsip")
    a.ok(f"SETACL {q(board)} -carol s")
    a.append(board, message("news 1"))
    a.append(board, message("news 2"))
    name_b = env.name("shared.news", "bob")
    bob = env.login("bob")
    bob.ok(f"SELECT {q(name_b)}")
    bob.ok("FETCH 1 BODY[]")  # reading sets \Seen
    assert "\\Seen" in flags_of(bob, 1)
    assert search(bob, "UNSEEN") == [2]
    alice = env.login("alice")
    assert status_line(alice, name_b) == {"MESSAGES": "2", "UNSEEN": "2"}
    alice.ok(f"SELECT {q(name_b)}")
    assert "\\Seen" not in flags_of(alice, 1)
    assert search(alice, "UNSEEN") == [1, 2]
    alice.ok("STORE 2 +FLAGS (\\Seen)")
    assert search(alice, "UNSEEN") == [1]
    bob.ok("NOOP")
    assert "\\Seen" not in flags_of(bob, 2)
    bob.ok("UNSELECT")
    assert status_line(bob, name_b) == {"MESSAGES": "2", "UNSEEN": "1"}
    # a reader without s: read-only, and nothing persists
    carol = env.login("carol")
    out = carol.cmd(f"SELECT {q(name_b)}")
    assert out[-1].startswith(out[0] + " OK [READ-ONLY]"), out
    assert any("[PERMANENTFLAGS ()]" in l for l in out), out
    carol.ok("FETCH 1 BODY[]")
    assert "[NOPERM]" in carol.no("STORE 1 +FLAGS (\\Seen)")
    carol.ok("UNSELECT")
    assert status_line(carol, name_b) == {"MESSAGES": "2", "UNSEEN": "2"}
    # and the admin, who posted, has its own \Seen as well
    assert status_line(a, board) == {"MESSAGES": "2", "UNSEEN": "2"}


# (c) a team mailbox with shared \Seen

def test_team_mailbox_shares_seen_when_switched(env):
    a = env.login("admin")
    team = env.admin_name("shared.team")
    a.ok(f"CREATE {q(team)}")
    a.ok(f"SETACL {q(team)} bob lrswipkxte")
    a.ok(f"SETACL {q(team)} alice lrswipkxte")
    a.ok(f"SETMETADATA {q(team)} (/shared/vendor/cmu/cyrus-imapd/sharedseen \"true\")")
    got = a.ok(f"GETMETADATA {q(team)} /shared/vendor/cmu/cyrus-imapd/sharedseen")
    assert got and '"/shared/vendor/cmu/cyrus-imapd/sharedseen" "true"' in got[0], got
    bob, alice = env.login("bob"), env.login("alice")
    name = env.name("shared.team", "bob")
    assert name == env.name("shared.team", "alice")
    bob.append(name, message("t1"))
    bob.append(name, message("t2"))
    bob.ok(f"SELECT {q(name)}")
    bob.ok("STORE 1 +FLAGS (\\Seen)")
    assert "\\Seen" in flags_of(bob, 1)
    assert status_line(alice, name) == {"MESSAGES": "2", "UNSEEN": "1"}
    alice.ok(f"SELECT {q(name)}")
    assert "\\Seen" in flags_of(alice, 1)
    assert search(alice, "UNSEEN") == [2]
    # back to per-user \Seen: each reader's \Seen is their own again
    a.ok(f"SETMETADATA {q(team)} (/shared/vendor/cmu/cyrus-imapd/sharedseen \"false\")")
    got = a.ok(f"GETMETADATA {q(team)} /shared/vendor/cmu/cyrus-imapd/sharedseen")
    assert '"false"' in got[0], got
    alice.ok("UNSELECT")
    alice.ok(f"SELECT {q(name)}")
    alice.ok("STORE 2 +FLAGS (\\Seen)")
    assert "\\Seen" in flags_of(alice, 2)
    bob.ok("UNSELECT")
    bob.ok(f"SELECT {q(name)}")
    assert "\\Seen" not in flags_of(bob, 2)
    # only the mailbox's administrator may switch it
    assert "[NOPERM]" in bob.no(
        f"SETMETADATA {q(name)} (/shared/vendor/cmu/cyrus-imapd/sharedseen \"true\")")


# (d) a folder one user shares with another

def test_user_shares_a_folder_read_only(env):
    bob = env.login("bob")
    own = env.name("user.bob.Project", "bob")
    assert own == ("Project" if env.names.alt else "INBOX.Project")
    bob.ok(f"CREATE {q(own)}")
    bob.ok(f"SETACL {q(own)} alice lr")
    bob.append(own, message("plan"))
    alice = env.login("alice")
    seen = env.name("user.bob.Project", "alice")
    level = env.name("user.bob", "alice")
    if env.names.alt:
        assert (seen, level) == ("Other Users/bob/Project", "Other Users/bob")
    else:
        assert (seen, level) == ("user.bob.Project", "user.bob")
    lst = alice.list_names("*")
    assert seen in lst and "\\Noselect" not in lst[seen], lst
    assert level not in lst or "\\Noselect" in lst[level] or "\\NonExistent" in lst[level], lst
    sep = env.names.sep
    parent = level.rsplit(sep, 1)[0]
    lst = alice.list_names(parent + sep + "%")
    assert set(lst) == {level}, lst
    assert "\\Noselect" in lst[level] and "\\HasChildren" in lst[level], lst
    ext = alice.ok(f"LIST () \"\" {q(parent + sep + '%')}")
    assert len(ext) == 1 and "\\NonExistent" in ext[0] and "\\HasChildren" in ext[0], ext
    top = alice.list_names("%")
    assert parent in top and "\\HasChildren" in top[parent], top
    assert "[NONEXISTENT]" in alice.no(f"SELECT {q(level)}")
    # lr: read-only, no permanent flags, STORE refused
    out = alice.cmd(f"SELECT {q(seen)}")
    assert out[-1].startswith(out[0] + " OK [READ-ONLY]"), out
    assert "* OK [PERMANENTFLAGS ()] No permanent flags permitted" in out, out
    assert "* 1 EXISTS" in out
    alice.ok("FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    rest = alice.no("STORE 1 +FLAGS (\\Flagged)")
    assert rest.endswith("Permission denied"), rest
    assert alice.ok(f"MYRIGHTS {q(seen)}") == [f"* MYRIGHTS {q(seen) if ' ' in seen else seen} lr"]
    # subscriptions may name it
    alice.ok(f"SUBSCRIBE {q(seen)}")
    lsub = alice.ok('LSUB "" "*"')
    assert any(l.endswith(q(seen)) or l.endswith(" " + seen) for l in lsub), lsub
    sub = alice.ok('LIST (SUBSCRIBED) "" "*"')
    assert any("\\Subscribed" in l and seen in l for l in sub), sub
    # bob's INBOX itself stays invisible
    assert "[NONEXISTENT]" in alice.no(f"STATUS {q(level)} (MESSAGES)")


# (e) a negative right through a group

def test_negative_right_through_group(env):
    a = env.login("admin")
    board = env.admin_name("shared.board")
    a.ok(f"CREATE {q(board)}")
    a.ok(f"SETACL {q(board)} -group:interns r")
    assert a.ok(f"GETACL {q(board)}") == [f"* ACL {board} anyone lrs -group:interns r"]
    carol = env.login("carol")
    name = env.name("shared.board", "carol")
    assert name in carol.list_names()
    rest = carol.no(f"SELECT {q(name)}")
    assert rest.endswith("Permission denied") and "NONEXISTENT" not in rest, rest
    assert carol.ok(f"MYRIGHTS {q(name)}") == [f"* MYRIGHTS {q(name) if ' ' in name else name} ls"]
    assert carol.no(f"STATUS {q(name)} (MESSAGES)").endswith("Permission denied")
    bob = env.login("bob")
    bob.ok(f"SELECT {q(name)}")
    # the same with $group and taking away l: it disappears
    a.ok(f"SETACL {q(board)} -$interns l")
    assert name not in carol.list_names()
    assert "[NONEXISTENT]" in carol.no(f"SELECT {q(name)}")


# (f) rights letters, obsolete c and d, bad rights and identifiers

def test_rights_letters_and_obsolete_c_d(env):
    bob = env.login("bob")
    f = env.name("user.bob.f", "bob")
    bob.ok(f"CREATE {q(f)}")
    bob.ok(f"SETACL {q(f)} alice lrswipcd")
    bob.ok(f"SETACL {q(f)} carol c")
    bob.ok(f"SETACL {q(f)} anyone d")
    acl = bob.ok(f"GETACL {q(f)}")[0]
    entries = dict(zip(acl.split()[3::2], acl.split()[4::2]))
    assert entries["alice"] == "lrswipkxtecd", acl
    assert entries["carol"] == "kxc", acl
    assert entries["anyone"] == "ted", acl
    assert entries["bob"] == "lrswipkxteacd", acl
    bob.ok(f"SETACL {q(f)} alice -d")
    bob.ok(f"SETACL {q(f)} carol +r")
    acl = bob.ok(f"GETACL {q(f)}")[0]
    entries = dict(zip(acl.split()[3::2], acl.split()[4::2]))
    assert entries["alice"] == "lrswipkxc" and entries["carol"] == "rkxc", acl
    status, rest, _ = bob.run(f"SETACL {q(f)} alice lrz")
    assert (status, rest) == ("BAD", "The z right is not supported")
    assert bob.no(f"SETACL {q(f)} group:nosuch lr") == "Invalid identifier"
    assert bob.no(f"SETACL {q(f)} -group:nosuch lr") == "Invalid identifier"
    bob.ok(f"SETACL {q(f)} group:staff lr")
    bob.ok(f"SETACL {q(f)} $interns lr")
    bob.ok(f"SETACL {q(f)} authenticated l")
    # cyradm's keywords reach the server as these letters
    for word, letters in (("read", "lrs"), ("post", "lrsp"), ("append", "lrsip"),
                          ("write", "lrswipkxte"), ("delete", "lrxte"), ("all", "lrswipkxtea")):
        bob.ok(f"SETACL {q(f)} carol {letters}")
        got = [l for l in bob.ok(f"GETACL {q(f)}")]
        assert re.search(r" carol (\S+)", got[0]).group(1).rstrip("cd") == letters, (word, got)


# (g) administrators: l and a, never r unless granted

def test_admin_administers_but_does_not_read(env):
    env.login("bob").ok("NOOP")
    a = env.login("admin")
    inbox = env.admin_name("user.bob")
    assert a.ok(f"GETACL {q(inbox)}") == [f"* ACL {inbox} bob lrswipkxteacd"]
    assert a.ok(f"MYRIGHTS {q(inbox)}") == [f"* MYRIGHTS {inbox} la"]
    assert a.no(f"SELECT {q(inbox)}").endswith("Permission denied")
    assert a.no(f"STATUS {q(inbox)} (MESSAGES)").endswith("Permission denied")
    assert a.no(f"DELETE {q(inbox)}").endswith("Permission denied")
    assert inbox in a.list_names()
    a.ok(f"SETACL {q(inbox)} admin lrs")
    out = a.cmd(f"SELECT {q(inbox)}")
    assert out[-1].startswith(out[0] + " OK"), out
    a.ok(f"DELETEACL {q(inbox)} admin")
    # the owner keeps l and a after removing their own entry
    bob = env.login("bob")
    bob.ok("DELETEACL INBOX bob")
    assert bob.ok("MYRIGHTS INBOX") == ["* MYRIGHTS INBOX la"]
    assert bob.ok("GETACL INBOX") == ["* ACL INBOX"]
    assert "INBOX" in bob.list_names()
    assert bob.no("SELECT INBOX").endswith("Permission denied")
    bob.ok("SETACL INBOX bob lrswipkxtea")
    bob.ok("SELECT INBOX")


# (h) MYRIGHTS and LISTRIGHTS

def test_myrights_and_listrights(env):
    bob = env.login("bob")
    assert bob.ok("MYRIGHTS INBOX") == ["* MYRIGHTS INBOX lrswipkxteacd"]
    assert bob.ok("LISTRIGHTS INBOX bob") == ["* LISTRIGHTS INBOX bob la r s w i p k x t e c d"]
    assert bob.ok("LISTRIGHTS INBOX alice") == ['* LISTRIGHTS INBOX alice "" l r s w i p k x t e a c d']
    bob.ok("SETACL INBOX alice lr")
    alice = env.login("alice")
    seen = env.name("user.bob", "alice")
    assert alice.ok(f"MYRIGHTS {q(seen)}") == [f"* MYRIGHTS {q(seen) if ' ' in seen else seen} lr"]
    assert alice.no(f"LISTRIGHTS {q(seen)} alice").endswith("Permission denied")
    assert alice.no(f"GETACL {q(seen)}").endswith("Permission denied")


# (i) inherited and default ACLs

def test_child_copies_parent_acl_and_shared_gets_defaultacl(env):
    bob = env.login("bob")
    p = env.name("user.bob.P", "bob")
    c = env.name("user.bob.P.C", "bob")
    bob.ok(f"CREATE {q(p)}")
    bob.ok(f"SETACL {q(p)} alice lr")
    bob.ok(f"SETACL {q(p)} -group:interns r")
    bob.ok(f"CREATE {q(c)}")
    acl_p = bob.ok(f"GETACL {q(p)}")[0].split(" ", 3)[3]
    acl_c = bob.ok(f"GETACL {q(c)}")[0].split(" ", 3)[3]
    assert acl_p == acl_c == "bob lrswipkxteacd alice lr -group:interns r"
    alice = env.login("alice")
    assert env.name("user.bob.P.C", "alice") in alice.list_names()
    a = env.login("admin")
    top = env.admin_name("shared.fresh")
    a.ok(f"CREATE {q(top)}")
    assert a.ok(f"GETACL {q(top)}") == [f"* ACL {top} anyone lrs"]
    a.ok(f"CREATE {q(env.admin_name('user.dave'))}")
    assert a.ok(f"GETACL {q(env.admin_name('user.dave'))}") == [
        f"* ACL {env.admin_name('user.dave')} dave lrswipkxteacd"]
    # a user cannot make top-level shared mailboxes nor other users' INBOXes
    assert bob.no(f"CREATE {q(env.name('shared.mine', 'bob'))}").endswith("Permission denied")
    assert bob.no(f"CREATE {q(env.name('user.eve', 'bob'))}").endswith("Permission denied")


# (j) RENAME keeps the ACL; DELETE with children

def test_rename_keeps_acl_and_delete_with_children_refused(env):
    setup_contact(env)
    bob = env.login("bob")
    contact = env.name("shared.contact", "bob")
    bob.ok(f"CREATE {q(env.name('shared.contact.archive', 'bob'))}")
    rest = bob.no(f"DELETE {q(contact)}")
    assert rest == "[HASCHILDREN] Mailbox has inferior hierarchical names", rest
    old = env.name("user.bob.Project", "bob")
    new = env.name("user.bob.Work", "bob")
    bob.ok(f"CREATE {q(old)}")
    bob.ok(f"SETACL {q(old)} alice lrs")
    bob.ok(f"CREATE {q(env.name('user.bob.Project.Sub', 'bob'))}")
    acl_before = bob.ok(f"GETACL {q(old)}")[0].split(" ", 3)[3]
    rest = bob.no(f"DELETE {q(old)}")
    assert rest.startswith("[HASCHILDREN]"), rest
    bob.ok(f"RENAME {q(old)} {q(new)}")
    assert bob.ok(f"GETACL {q(new)}")[0].split(" ", 3)[3] == acl_before
    alice = env.login("alice")
    lst = alice.list_names()
    assert env.name("user.bob.Work", "alice") in lst
    assert env.name("user.bob.Work.Sub", "alice") in lst
    assert env.name("user.bob.Project", "alice") not in lst
    alice.ok(f"SELECT {q(env.name('user.bob.Work', 'alice'))}")


def test_namespace_response(env):
    bob = env.login("bob")
    want = {False: '* NAMESPACE (("INBOX." ".")) (("user." ".")) (("" "."))',
            True: '* NAMESPACE (("" "/")) (("Other Users/" "/")) (("Shared Folders/" "/"))'}
    assert bob.ok("NAMESPACE") == [want[env.names.alt]]
