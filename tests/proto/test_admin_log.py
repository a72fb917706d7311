"""One log line per administrative change: the `agora` tool logs each
account and group change (as agorad logs ACL, quota and mailbox changes)
to standard error, where agorad's own log goes, as
`agora[PID] info: account: user=WHO added NAME`."""
import getpass
import re

import pytest


def log_lines(r):
    """The administrative-change lines (the store may add its own details,
    as `store: purged user ...`)."""
    return [l for l in r.stderr.splitlines() if re.search(r" agora\[\d+\] info: (account|group): ", l)]


def test_user_and_group_changes_are_logged(make_server):
    s = make_server(users=("admin", "alice"), start=False)
    me = getpass.getuser()
    r = s.agora("user", "add", "bob", input="bobpw\n")
    assert [l.split(" info: ")[1] for l in log_lines(r)] == [f"account: user={me} added bob"], r.stderr
    assert r.stdout == "user bob added\n"
    r = s.agora("user", "passwd", "bob", input="newpw\n")
    assert [l.split(" info: ")[1] for l in log_lines(r)] == \
        [f"account: user={me} changed the password of bob"], r.stderr
    r = s.agora("group", "add", "staff", "alice", "bob")
    assert [l.split(" info: ")[1] for l in log_lines(r)] == \
        [f"group: user={me} added staff members: alice bob"], r.stderr
    r = s.agora("group", "del", "staff")
    assert [l.split(" info: ")[1] for l in log_lines(r)] == [f"group: user={me} deleted staff"], r.stderr
    r = s.agora("user", "del", "bob")
    assert [l.split(" info: ")[1] for l in log_lines(r)] == [f"account: user={me} deleted bob"], r.stderr
    r = s.agora("user", "del", "--purge", "alice")
    assert [l.split(" info: ")[1] for l in log_lines(r)] == [f"account: user={me} purged alice"], r.stderr


def test_refused_changes_and_reads_log_nothing(make_server):
    s = make_server(users=("admin", "bob"), start=False)
    for args, inp in ((("user", "add", "bob"), "x\n"), (("user", "passwd", "nosuch"), "x\n"),
                      (("group", "add", "g", "nosuch"), None), (("user", "list"), None),
                      (("group", "list"), None)):
        r = s.agora(*args, input=inp, check=False)
        assert log_lines(r) == [], (args, r.stderr)
