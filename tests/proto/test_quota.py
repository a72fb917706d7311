"""Quotas (RFC 9208 with Cyrus's roots): SETQUOTA/GETQUOTA/GETQUOTAROOT,
who may see what, roots on subfolders and shared mailboxes, enforcement on
APPEND/COPY/MOVE/LMTP, usage given back by EXPUNGE and DELETE, autocreate
quotas, quotawarn alerts, RENAME of a root and `agora quota`."""
import os
import re

import pytest

from conftest import message
from quotalib import Lmtp, Session, big_message, parse_quotas, spool_files, tagged, tmp_files


def admin_setquota(server, root, limits):
    a = Session(server, "admin")
    lines = a.cmd(f"SETQUOTA {root} ({limits})")
    a.close()
    return lines


def admin_quota(server, root):
    a = Session(server, "admin")
    lines, q = a.getquota(root)
    a.close()
    assert tagged(lines)[0] == "OK", lines
    return q[root]


def test_capabilities(server):
    r = server.raw().login("bob")
    caps = " ".join(r.cmd("c", "CAPABILITY")[:-1]).split()
    for cap in ("QUOTA", "QUOTA=RES-STORAGE", "QUOTA=RES-MESSAGE", "QUOTASET"):
        assert cap in caps, caps


def test_setquota_by_admin(server):
    Session(server, "bob").close()  # autocreates user.bob
    a = Session(server, "admin")
    lines = a.ok("SETQUOTA user.bob (STORAGE 15000)")
    assert "* QUOTA user.bob (STORAGE 0 15000)" in lines, lines
    assert "* QUOTA user.bob (STORAGE 0 15000)" in a.ok("GETQUOTA user.bob")
    lines = a.ok("SETQUOTA user.bob (MESSAGE 10)")
    assert "* QUOTA user.bob (MESSAGE 0 10)" in lines, "SETQUOTA replaces every limit of the root"
    lines = a.ok("SETQUOTA user.bob (STORAGE 200 MESSAGE 10)")
    assert "* QUOTA user.bob (STORAGE 0 200 MESSAGE 0 10)" in lines, lines
    # an empty list removes the root
    a.ok("SETQUOTA user.bob ()")
    lines = a.cmd("GETQUOTA user.bob")
    assert tagged(lines)[0] == "NO" and not parse_quotas(lines), lines
    lines = a.cmd("GETQUOTAROOT user.bob")
    assert tagged(lines)[0] == "OK" and "* QUOTAROOT user.bob" in lines, lines
    # unknown resources are refused and change nothing
    a.ok("SETQUOTA user.bob (STORAGE 100)")
    lines = a.cmd("SETQUOTA user.bob (STORAGE 5 FROBS 3)")
    assert tagged(lines)[0] == "NO", lines
    assert "* QUOTA user.bob (STORAGE 0 100)" in a.ok("GETQUOTA user.bob")
    lines = a.cmd("SETQUOTA user.bob (STORAGE lots)")
    assert tagged(lines)[0] == "BAD", lines
    lines = a.cmd("SETQUOTA user.nosuch (STORAGE 5)")
    assert tagged(lines)[0] == "NO", lines
    a.close()


def test_setquota_refused_to_non_admin(server):
    b = Session(server, "bob")
    lines = b.cmd("SETQUOTA INBOX (STORAGE 100000)")
    assert tagged(lines)[0] == "NO" and not parse_quotas(lines), lines
    lines = b.cmd("SETQUOTA user.alice (STORAGE 1)")
    assert tagged(lines)[0] == "NO", lines
    b.close()
    a = Session(server, "admin")
    lines = a.cmd("GETQUOTA user.bob")
    assert tagged(lines)[0] == "NO", "no root was made: %r" % lines
    a.close()


def test_owner_reads_quota_as_inbox(server):
    b = Session(server, "bob")
    admin_setquota(server, "user.bob", "STORAGE 15000")
    lines, roots, q = b.getquotaroot("INBOX")
    assert roots == ["* QUOTAROOT INBOX INBOX"], lines
    assert q == {"INBOX": {"STORAGE": (0, 15000)}}, lines
    lines, q = b.getquota("INBOX")
    assert q == {"INBOX": {"STORAGE": (0, 15000)}}, lines
    # a folder under the root names INBOX as its root
    b.ok("CREATE INBOX.Sent")
    lines, roots, q = b.getquotaroot("INBOX.Sent")
    assert roots == ["* QUOTAROOT INBOX.Sent INBOX"], lines
    b.close()


def test_no_quota_root(server):
    b = Session(server, "bob")
    lines, roots, q = b.getquotaroot("INBOX")
    assert roots == ["* QUOTAROOT INBOX"] and q == {} and tagged(lines)[0] == "OK", lines
    b.close()


def test_other_user_without_rights_learns_nothing(server):
    Session(server, "bob").close()
    admin_setquota(server, "user.bob", "STORAGE 15000")
    al = Session(server, "alice")
    missing = al.cmd("GETQUOTAROOT user.nosuch")
    lines = al.cmd("GETQUOTAROOT user.bob")
    assert tagged(lines)[0] == "NO" and not parse_quotas(lines), lines
    assert lines[-1].split(" ", 1)[1] == missing[-1].split(" ", 1)[1], (lines, missing)
    missing = al.cmd("GETQUOTA user.nosuch")
    lines = al.cmd("GETQUOTA user.bob")
    assert tagged(lines)[0] == "NO" and not parse_quotas(lines), lines
    assert lines[-1].split(" ", 1)[1] == missing[-1].split(" ", 1)[1], (lines, missing)
    al.close()


def test_user_with_lr_on_shared_folder(server):
    a = Session(server, "admin")
    a.ok("CREATE shared.contact")
    a.ok("DELETEACL shared.contact anyone")
    a.ok("SETACL shared.contact alice lr")
    a.ok("SETACL shared.contact admin lrsip")
    a.ok("SETQUOTA shared.contact (STORAGE 100 MESSAGE 10)")
    assert tagged(a.append("shared.contact", message("one")))[0] == "OK"
    a.close()
    al = Session(server, "alice")
    lines, roots, q = al.getquotaroot("shared.contact")
    assert roots == ["* QUOTAROOT shared.contact shared.contact"], lines
    assert q == {"shared.contact": {"STORAGE": (0, 100), "MESSAGE": (1, 10)}}, lines
    lines, q = al.getquota("shared.contact")
    assert q == {"shared.contact": {"STORAGE": (0, 100), "MESSAGE": (1, 10)}}, lines
    al.close()
    # bob has no rights on it: same answers as for a mailbox that does not exist
    b = Session(server, "bob")
    for cmd in ("GETQUOTAROOT", "GETQUOTA"):
        lines = b.cmd(f"{cmd} shared.contact")
        missing = b.cmd(f"{cmd} shared.nosuch")
        assert tagged(lines)[0] == "NO" and not parse_quotas(lines), lines
        assert lines[-1].split(" ", 1)[1] == missing[-1].split(" ", 1)[1], (lines, missing)
    b.close()


def test_subfolder_root_takes_and_gives_back_usage(server):
    b = Session(server, "bob")
    b.ok("CREATE INBOX.Archive")
    inbox_msg = big_message("inbox", 3000)
    arch_msg = big_message("archive", 5000)
    assert tagged(b.append("INBOX", inbox_msg))[0] == "OK"
    assert tagged(b.append("INBOX.Archive", arch_msg))[0] == "OK"
    assert tagged(b.append("INBOX.Archive", arch_msg))[0] == "OK"
    admin_setquota(server, "user.bob", "STORAGE 1000 MESSAGE 100")
    assert admin_quota(server, "user.bob") == {"STORAGE": (13000 // 1024, 1000), "MESSAGE": (3, 100)}
    admin_setquota(server, "user.bob.Archive", "STORAGE 1000")
    assert admin_quota(server, "user.bob") == {"STORAGE": (3000 // 1024, 1000), "MESSAGE": (1, 100)}
    assert admin_quota(server, "user.bob.Archive") == {"STORAGE": (10000 // 1024, 1000)}
    lines, roots, q = b.getquotaroot("INBOX.Archive")
    assert roots == ["* QUOTAROOT INBOX.Archive INBOX.Archive"], lines
    assert q == {"INBOX.Archive": {"STORAGE": (10000 // 1024, 1000)}}, lines
    # removing the subfolder's root gives its usage back to user.bob
    admin_setquota(server, "user.bob.Archive", "")
    assert admin_quota(server, "user.bob") == {"STORAGE": (13000 // 1024, 1000), "MESSAGE": (3, 100)}
    lines, roots, q = b.getquotaroot("INBOX.Archive")
    assert roots == ["* QUOTAROOT INBOX.Archive INBOX"], lines
    b.close()


def test_root_on_shared_mailbox(server):
    a = Session(server, "admin")
    a.ok("CREATE shared.contact")
    a.ok("SETACL shared.contact admin lrswipkxte")
    a.ok("CREATE shared.contact.sub")
    a.ok("SETQUOTA shared.contact (MESSAGE 2)")
    assert tagged(a.append("shared.contact", message("1")))[0] == "OK"
    assert tagged(a.append("shared.contact.sub", message("2")))[0] == "OK"
    lines = a.append("shared.contact.sub", message("3"))
    assert tagged(lines)[0] == "NO" and "[OVERQUOTA]" in lines[-1], lines
    assert parse_quotas(a.ok("GETQUOTA shared.contact")) == {"shared.contact": {"MESSAGE": (2, 2)}}
    a.close()


def test_append_refuses_the_message_that_would_cross(server):
    b = Session(server, "bob")
    admin_setquota(server, "user.bob", "STORAGE 10")
    m = big_message("m", 4000)
    assert tagged(b.append("INBOX", m))[0] == "OK"
    assert tagged(b.append("INBOX", m))[0] == "OK"
    before = spool_files(server)
    lines = b.append("INBOX", m)  # 12000 > 10240: refused, not let in
    assert tagged(lines)[0] == "NO" and "[OVERQUOTA]" in lines[-1], lines
    assert b.status("INBOX") == 2
    assert spool_files(server) == before, "a refused APPEND leaves no file behind"
    assert not tmp_files(server)
    lines, roots, q = b.getquotaroot("INBOX")
    assert q["INBOX"]["STORAGE"] == (8000 // 1024, 10), lines
    # one that still fits is taken
    assert tagged(b.append("INBOX", big_message("small", 2000)))[0] == "OK"
    b.close()


def test_append_filling_to_exactly_the_limit(server):
    b = Session(server, "bob")
    admin_setquota(server, "user.bob", "STORAGE 2")
    assert tagged(b.append("INBOX", big_message("a", 1024)))[0] == "OK"
    assert tagged(b.append("INBOX", big_message("b", 1024)))[0] == "OK"
    lines, roots, q = b.getquotaroot("INBOX")
    assert q["INBOX"]["STORAGE"] == (2, 2), lines
    lines = b.append("INBOX", b"x\r\n")
    assert tagged(lines)[0] == "NO" and "[OVERQUOTA]" in lines[-1], lines
    b.close()


def test_storage_is_reported_in_kib(server):
    b = Session(server, "bob")
    admin_setquota(server, "user.bob", "STORAGE 15000")
    for size in (1500, 700, 2100):
        assert tagged(b.append("INBOX", big_message(f"s{size}", size)))[0] == "OK"
    sizes = b.fetch_sizes("INBOX")
    assert sizes == [1500, 700, 2100]
    lines, roots, q = b.getquotaroot("INBOX")
    assert q["INBOX"]["STORAGE"] == (4300 // 1024, 15000), lines
    b.close()
    a = Session(server, "admin")
    assert "* QUOTA user.bob (STORAGE 4 15000)" in a.ok("GETQUOTA user.bob")
    a.close()


def test_message_count_limit(server):
    b = Session(server, "bob")
    admin_setquota(server, "user.bob", "MESSAGE 2")
    assert tagged(b.append("INBOX", message("1")))[0] == "OK"
    assert tagged(b.append("INBOX", message("2")))[0] == "OK"
    before = spool_files(server)
    lines = b.append("INBOX", message("3"))
    assert tagged(lines)[0] == "NO" and "[OVERQUOTA]" in lines[-1], lines
    assert b.status("INBOX") == 2
    assert spool_files(server) == before
    b.close()


def setup_two_roots(server, archive_msgs=1):
    """bob: INBOX (root user.bob) with 2 messages, INBOX.Sub (same root),
    INBOX.Archive (its own root, MESSAGE archive_msgs, full)."""
    b = Session(server, "bob")
    b.ok("CREATE INBOX.Archive")
    b.ok("CREATE INBOX.Sub")
    admin_setquota(server, "user.bob", "MESSAGE 2")
    admin_setquota(server, "user.bob.Archive", f"MESSAGE {archive_msgs}")
    for i in range(archive_msgs):
        assert tagged(b.append("INBOX.Archive", message(f"a{i}")))[0] == "OK"
    assert tagged(b.append("INBOX", message("x1")))[0] == "OK"
    assert tagged(b.append("INBOX", message("x2")))[0] == "OK"
    return b


@pytest.mark.parametrize("uid", [False, True])
def test_copy_into_full_root_refused(server, uid):
    b = setup_two_roots(server)
    b.ok("SELECT INBOX")
    before = spool_files(server)
    lines = b.cmd(("UID COPY 1:* " if uid else "COPY 1 ") + "INBOX.Archive")
    assert tagged(lines)[0] == "NO" and "[OVERQUOTA]" in lines[-1], lines
    assert spool_files(server) == before, "no hard link left behind"
    assert b.status("INBOX.Archive") == 1
    assert b.status("INBOX") == 2
    # copying inside the full root user.bob is refused too: it adds messages
    lines = b.cmd(("UID COPY 1 " if uid else "COPY 1 ") + "INBOX.Sub")
    assert tagged(lines)[0] == "NO" and "[OVERQUOTA]" in lines[-1], lines
    assert admin_quota(server, "user.bob") == {"MESSAGE": (2, 2)}
    assert admin_quota(server, "user.bob.Archive") == {"MESSAGE": (1, 1)}
    b.close()


@pytest.mark.parametrize("uid", [False, True])
def test_move_between_roots_refused_when_over(server, uid):
    b = setup_two_roots(server)
    b.ok("SELECT INBOX")
    before = spool_files(server)
    lines = b.cmd(("UID MOVE 1:* " if uid else "MOVE 1 ") + "INBOX.Archive")
    assert tagged(lines)[0] == "NO" and "[OVERQUOTA]" in lines[-1], lines
    assert not any(ln.endswith(" EXPUNGE") for ln in lines), lines
    assert spool_files(server) == before
    assert b.status("INBOX") == 2 and b.status("INBOX.Archive") == 1
    assert admin_quota(server, "user.bob") == {"MESSAGE": (2, 2)}
    assert admin_quota(server, "user.bob.Archive") == {"MESSAGE": (1, 1)}
    b.close()


@pytest.mark.parametrize("uid", [False, True])
def test_move_inside_full_root_allowed(server, uid):
    b = setup_two_roots(server)
    b.ok("SELECT INBOX")
    lines = b.cmd(("UID MOVE 1:* " if uid else "MOVE 1 ") + "INBOX.Sub")
    assert tagged(lines)[0] == "OK", lines
    moved = 2 if uid else 1
    assert b.status("INBOX.Sub") == moved
    assert admin_quota(server, "user.bob") == {"MESSAGE": (2, 2)}
    # and a move to a root with room works and gives usage back
    admin_setquota(server, "user.bob.Archive", "MESSAGE 10")
    b.ok("SELECT INBOX.Sub")
    assert tagged(b.cmd("MOVE 1 INBOX.Archive"))[0] == "OK"
    assert admin_quota(server, "user.bob") == {"MESSAGE": (1, 2)}
    assert admin_quota(server, "user.bob.Archive") == {"MESSAGE": (2, 10)}
    b.close()


def test_move_inside_root_whose_limit_was_lowered_below_usage(server):
    """SETQUOTA below the current usage: nothing may add to it, but moving
    messages between folders of that root adds nothing."""
    b = setup_two_roots(server)
    admin_setquota(server, "user.bob", "MESSAGE 1")
    b.ok("SELECT INBOX")
    lines = b.cmd("MOVE 1 INBOX.Sub")
    assert tagged(lines)[0] == "OK", lines
    assert admin_quota(server, "user.bob") == {"MESSAGE": (2, 1)}
    lines = b.append("INBOX", message("more"))
    assert tagged(lines)[0] == "NO" and "[OVERQUOTA]" in lines[-1], lines
    b.close()


def lmtp_msg(subject="hi"):
    return message(subject=subject, body="line\r\n" * 20)


def test_lmtp_over_quota_is_temporary_by_default(server):
    Session(server, "bob").close()
    admin_setquota(server, "user.bob", "MESSAGE 1")
    lm = Lmtp(server)
    rr, dr = lm.deliver(["bob@example.com"], lmtp_msg("first"))
    assert dr == [dr[0]] and dr[0].startswith("250"), dr
    before = spool_files(server)
    rr, dr = lm.deliver(["bob@example.com"], lmtp_msg("second"))
    assert rr[0].startswith("250") and dr[0].startswith("452 4.2.2"), (rr, dr)
    assert spool_files(server) == before, "a refused delivery leaves no file behind"
    lm.close()
    b = Session(server, "bob")
    assert b.status("INBOX") == 1
    b.close()
    assert not tmp_files(server)


def test_lmtp_over_quota_permanent_when_configured(make_server):
    s = make_server(conf={"lmtp_over_quota_perm_failure": "yes"})
    Session(s, "bob").close()
    admin_setquota(s, "user.bob", "STORAGE 1")
    lm = Lmtp(s)
    rr, dr = lm.deliver(["bob@example.com"], big_message("big", 2000))
    assert dr[0].startswith("552 5.2.2"), dr
    lm.close()


def test_lmtp_several_recipients_one_over_quota(server):
    for u in ("bob", "alice"):
        Session(server, u).close()
    admin_setquota(server, "user.bob", "MESSAGE 0")
    admin_setquota(server, "user.alice", "MESSAGE 5")
    a = Session(server, "admin")
    a.ok("CREATE user.admin")  # administrators get no autocreated INBOX
    a.close()
    lm = Lmtp(server)
    rr, dr = lm.deliver(["alice@example.com", "bob@example.com", "admin@example.com"], lmtp_msg())
    assert all(x.startswith("250") for x in rr), rr
    assert dr[0].startswith("250") and "alice" in dr[0], dr
    assert dr[1].startswith("452 4.2.2") and "bob" in dr[1], dr
    assert dr[2].startswith("250") and "admin" in dr[2], dr
    lm.close()
    for u, n in (("alice", 1), ("bob", 0), ("admin", 1)):
        c = Session(server, u)
        assert c.status("INBOX") == n, u
        c.close()
    assert admin_quota(server, "user.alice") == {"MESSAGE": (1, 5)}
    assert admin_quota(server, "user.bob") == {"MESSAGE": (0, 0)}


def test_expunge_and_delete_free_usage(server):
    b = Session(server, "bob")
    b.ok("CREATE INBOX.Old")
    admin_setquota(server, "user.bob", "STORAGE 10 MESSAGE 3")
    m = big_message("m", 3000)
    for mbox in ("INBOX", "INBOX", "INBOX.Old"):
        assert tagged(b.append(mbox, m))[0] == "OK"
    assert tagged(b.append("INBOX", message("no room")))[0] == "NO"
    b.ok("SELECT INBOX")
    b.ok("STORE 1 +FLAGS (\\Deleted)")
    b.ok("EXPUNGE")
    assert admin_quota(server, "user.bob") == {"STORAGE": (6000 // 1024, 10), "MESSAGE": (2, 3)}
    b.ok("UID STORE 1:* +FLAGS (\\Deleted)")
    b.ok("CLOSE")
    assert admin_quota(server, "user.bob") == {"STORAGE": (3000 // 1024, 10), "MESSAGE": (1, 3)}
    b.ok("DELETE INBOX.Old")
    assert admin_quota(server, "user.bob") == {"STORAGE": (0, 10), "MESSAGE": (0, 3)}
    for i in range(3):
        assert tagged(b.append("INBOX", m))[0] == "OK"
    b.close()


def test_autocreate_quota(make_server):
    s = make_server(conf={"autocreate_quota": "500", "autocreate_quota_messages": "7"})
    b = Session(s, "bob")  # login autocreates user.bob
    lines, roots, q = b.getquotaroot("INBOX")
    assert q == {"INBOX": {"STORAGE": (0, 500), "MESSAGE": (0, 7)}}, lines
    b.close()
    # delivery autocreates too, with the same quota
    lm = Lmtp(s)
    rr, dr = lm.deliver(["alice@example.com"], lmtp_msg())
    assert dr[0].startswith("250"), (rr, dr)
    lm.close()
    assert admin_quota(s, "user.alice") == {"STORAGE": (0, 500), "MESSAGE": (1, 7)}


def test_autocreate_quota_messages_only(make_server):
    s = make_server(conf={"autocreate_quota": "0", "autocreate_quota_messages": "3"})
    b = Session(s, "bob")
    lines, roots, q = b.getquotaroot("INBOX")
    assert q == {"INBOX": {"MESSAGE": (0, 3)}}, lines
    b.close()


def test_autocreate_without_quota(server):
    b = Session(server, "bob")
    lines, roots, q = b.getquotaroot("INBOX")
    assert roots == ["* QUOTAROOT INBOX"] and q == {}, lines
    b.close()


def test_quotawarn_alerts(make_server):
    s = make_server(conf={"quotawarn": "50"})
    b = Session(s, "bob")
    admin_setquota(s, "user.bob", "STORAGE 10")
    lines = b.append("INBOX", big_message("a", 4000))  # 3 KiB of 10: no alert
    assert tagged(lines)[0] == "OK" and not any("[ALERT]" in ln for ln in lines), lines
    lines = b.ok("SELECT INBOX")
    assert not any("[ALERT]" in ln for ln in lines), lines
    lines = b.append("INBOX", big_message("b", 2000))  # 5 KiB of 10: 50%
    assert tagged(lines)[0] == "OK", lines
    alerts = [ln for ln in lines if ln.startswith("* NO [ALERT]")]
    assert len(alerts) == 1, lines
    assert lines.index(alerts[0]) < len(lines) - 1
    lines = b.ok("SELECT INBOX")
    assert any(ln.startswith("* NO [ALERT]") for ln in lines), lines
    lines = b.ok("EXAMINE INBOX")
    assert any(ln.startswith("* NO [ALERT]") for ln in lines), lines
    b.close()


def test_quotawarn_on_message_count(make_server):
    s = make_server(conf={"quotawarn": "50"})
    b = Session(s, "bob")
    admin_setquota(s, "user.bob", "MESSAGE 4")
    assert not any("[ALERT]" in ln for ln in b.append("INBOX", message("1")))
    lines = b.append("INBOX", message("2"))
    assert any(ln.startswith("* NO [ALERT]") for ln in lines), lines
    b.close()


def test_rename_keeps_root_under_new_name(server):
    b = Session(server, "bob")
    b.ok("CREATE INBOX.Archive")
    b.ok("CREATE INBOX.Archive.2020")
    assert tagged(b.append("INBOX.Archive", message("a")))[0] == "OK"
    assert tagged(b.append("INBOX.Archive.2020", message("b")))[0] == "OK"
    assert tagged(b.append("INBOX", message("c")))[0] == "OK"
    admin_setquota(server, "user.bob", "MESSAGE 10")
    admin_setquota(server, "user.bob.Archive", "MESSAGE 5")
    b.ok("RENAME INBOX.Archive INBOX.Attic")
    lines, roots, q = b.getquotaroot("INBOX.Attic")
    assert roots == ["* QUOTAROOT INBOX.Attic INBOX.Attic"], lines
    assert q == {"INBOX.Attic": {"MESSAGE": (2, 5)}}, lines
    lines, roots, q = b.getquotaroot("INBOX.Attic.2020")
    assert roots == ["* QUOTAROOT INBOX.Attic.2020 INBOX.Attic"], lines
    a = Session(server, "admin")
    lines = a.cmd("GETQUOTA user.bob.Archive")
    assert tagged(lines)[0] == "NO", "the old name is no root any more: %r" % lines
    a.close()
    assert admin_quota(server, "user.bob") == {"MESSAGE": (1, 10)}
    # the renamed root is still enforced
    for i in range(3):
        assert tagged(b.append("INBOX.Attic", message(f"n{i}")))[0] == "OK"
    assert tagged(b.append("INBOX.Attic.2020", message("over")))[0] == "NO"
    # renaming a folder out of the root moves its usage
    b.ok("RENAME INBOX.Attic.2020 INBOX.Y2020")
    assert admin_quota(server, "user.bob") == {"MESSAGE": (2, 10)}
    assert admin_quota(server, "user.bob.Attic") == {"MESSAGE": (4, 5)}
    b.close()


def test_agora_quota_report(server):
    for u in ("bob", "alice"):
        Session(server, u).close()
    b = Session(server, "bob")
    for size in (3000, 2500):
        assert tagged(b.append("INBOX", big_message(f"s{size}", size)))[0] == "OK"
    b.close()
    admin_setquota(server, "user.bob", "STORAGE 100 MESSAGE 10")
    admin_setquota(server, "user.alice", "STORAGE 15000")
    out = server.agora("quota").stdout.splitlines()
    assert out[0] == "   Quota   % Used     Used Root", out
    assert out[1:] == [
        "   15000        0        0 user.alice",
        "     100        5        5 user.bob",
        "      10       20        2 user.bob (MESSAGE)",
    ], out
    out = server.agora("quota", "user.bob").stdout.splitlines()
    assert out[1:] == ["     100        5        5 user.bob", "      10       20        2 user.bob (MESSAGE)"], out
    # usage is right, so -f has nothing to say
    assert server.agora("quota", "-f").stdout == ""


def test_rename_into_a_full_root_refused(server):
    """RENAME that carries messages from one root into another is an
    increase of the target root like COPY: refused when it would cross the
    limit (as Cyrus checks the new root's quota), and nothing changes."""
    b = Session(server, "bob")
    b.ok("CREATE INBOX.Archive")
    b.ok("CREATE INBOX.Work")
    for i in range(2):
        assert tagged(b.append("INBOX.Work", message(f"w{i}")))[0] == "OK"
    admin_setquota(server, "user.bob", "MESSAGE 10")
    admin_setquota(server, "user.bob.Archive", "MESSAGE 1")
    lines = b.cmd("RENAME INBOX.Work INBOX.Archive.Work")
    assert tagged(lines)[0] == "NO" and "[OVERQUOTA]" in lines[-1], lines
    assert b.status("INBOX.Work") == 2
    assert admin_quota(server, "user.bob") == {"MESSAGE": (2, 10)}
    assert admin_quota(server, "user.bob.Archive") == {"MESSAGE": (0, 1)}
    # with room it is allowed and the usage moves
    admin_setquota(server, "user.bob.Archive", "MESSAGE 2")
    b.ok("RENAME INBOX.Work INBOX.Archive.Work")
    assert admin_quota(server, "user.bob") == {"MESSAGE": (0, 10)}
    assert admin_quota(server, "user.bob.Archive") == {"MESSAGE": (2, 2)}
    # out of a root into one without a limit: always allowed
    b.ok("RENAME INBOX.Archive.Work INBOX.Work")
    assert admin_quota(server, "user.bob.Archive") == {"MESSAGE": (0, 2)}
    b.close()
