"""`agora check`: clean on a fresh store (exit 0, nothing printed); each
kind of damage, done while agorad is stopped, is reported on its own line
with exit status 1."""
import os

import pytest

from conftest import message
from quotalib import Session, tagged
from recon_lib import execute, mbox_dir, message_row, spool


def populate(server):
    b = Session(server, "bob")
    b.ok("CREATE INBOX.Work")
    for i in range(3):
        assert tagged(b.append("INBOX", message(f"m{i}")))[0] == "OK"
        assert tagged(b.append("INBOX.Work", message(f"w{i}")))[0] == "OK"
    b.ok("SETACL INBOX.Work alice lr")
    b.close()
    a = Session(server, "admin")
    a.ok("SETQUOTA user.bob (STORAGE 1000)")
    a.close()


def check(server):
    r = server.agora("check", check=False)
    return r.returncode, [ln for ln in r.stdout.splitlines() if ln]


def test_check_clean_store(make_server):
    server = make_server()
    populate(server)
    assert check(server) == (0, [])
    server.stop()
    assert check(server) == (0, [])


def damage_missing_file(server):
    uniqueid, guid, uid, _ = message_row(server, "user.bob")
    os.unlink(os.path.join(mbox_dir(server, uniqueid), guid))
    return f"UID {uid}: file {guid} is missing"


def damage_file_without_record(server):
    uniqueid, guid, uid, mid = message_row(server, "user.bob")
    execute(server, "DELETE FROM messages WHERE mailbox = ? AND uid = ?", (mid, uid))
    return f"file {guid} has no record"


def damage_size(server):
    uniqueid, guid, uid, _ = message_row(server, "user.bob.Work")
    path = os.path.join(mbox_dir(server, uniqueid), guid)
    os.truncate(path, os.path.getsize(path) - 10)
    return f"UID {uid}: file {guid} is"


def damage_stray(server):
    uniqueid, _, _, _ = message_row(server, "user.bob.Work")
    with open(os.path.join(mbox_dir(server, uniqueid), "junk.txt"), "w") as f:
        f.write("junk\n")
    return "stray file junk.txt"


def damage_tmp(server):
    os.makedirs(os.path.join(spool(server), "tmp"), exist_ok=True)
    with open(os.path.join(spool(server), "tmp", "0123456789abcdef0123456789abcdef"), "w") as f:
        f.write("partial")
    return "stray file tmp/0123456789abcdef0123456789abcdef"


def damage_quota(server):
    execute(server, "UPDATE quota_roots SET storage_used = storage_used + 12345 WHERE root = 'user.bob'")
    return "quota user.bob: usage recorded"


def damage_acl_ident(server):
    execute(server, "UPDATE mailboxes SET acl = acl || 'ghost' || char(9) || 'lr' || char(9) "
            "WHERE name = 'user.bob.Work'")
    return "user.bob.Work: ACL names user ghost, who does not exist"


def damage_shares(server):
    execute(server, "DELETE FROM shares WHERE ident = 'alice'")
    return "user.bob.Work: sharing index lacks alice"


def damage_meta(server):
    uniqueid, _, _, _ = message_row(server, "user.bob.Work")
    os.unlink(os.path.join(mbox_dir(server, uniqueid), "mailbox.meta"))
    return "user.bob.Work: mailbox.meta is missing"


@pytest.mark.parametrize("damage", [
    damage_missing_file, damage_file_without_record, damage_size, damage_stray, damage_tmp,
    damage_quota, damage_acl_ident, damage_shares, damage_meta,
], ids=lambda f: f.__name__[len("damage_"):])
def test_check_reports_damage(make_server, damage):
    server = make_server()
    populate(server)
    server.stop()
    expect = damage(server)
    rc, lines = check(server)
    assert rc == 1, lines
    assert any(expect in ln for ln in lines), (expect, lines)
    # reconstruct mends it, and check is clean again
    r = server.agora("reconstruct")
    assert r.stdout.strip() and r.stdout.strip() != "nothing to do", r.stdout
    if damage is not damage_acl_ident:
        assert check(server) == (0, [])
    server.start()
    # the server serves the mended store
    b = Session(server, "bob")
    assert b.status("INBOX.Work") >= 2
    b.close()
