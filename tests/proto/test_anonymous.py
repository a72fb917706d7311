"""Anonymous access (allowanonymouslogin): off by default; when on, only
what ACLs give anyone and anonymous, never what they give authenticated."""
import base64
import imaplib

import pytest


def setup_boxes(s):
    a = s.imap("admin")
    assert a.create("shared.news")[0] == "OK"            # defaultacl: anyone lrs
    assert a.create("shared.staff")[0] == "OK"
    assert a.deleteacl("shared.staff", "anyone")[0] == "OK"
    assert a.setacl("shared.staff", "authenticated", "lr")[0] == "OK"
    # admins hold l and a only; the poster grants itself the right to insert
    assert a.setacl("shared.news", "admin", "lrswipkxtea")[0] == "OK"
    assert a.append("shared.news", None, None, b"Subject: news\r\n\r\nhello\r\n")[0] == "OK"
    b = s.imap("bob")                                      # user.bob exists, private
    b.logout()
    a.logout()


def test_off_by_default(server):
    r = server.raw()
    assert "AUTH=ANONYMOUS" not in r.greeting
    assert r.cmd("a", "LOGIN anonymous me@example.com")[-1].startswith("a NO")
    assert r.cmd("b", "AUTHENTICATE ANONYMOUS dHJhY2U=")[-1].startswith("b NO")


def test_anonymous_sees_only_anyone_rights(make_server):
    s = make_server(conf={"allowanonymouslogin": "yes"})
    setup_boxes(s)
    r = s.raw()
    assert "AUTH=ANONYMOUS" in r.greeting
    assert r.cmd("a", "LOGIN anonymous guest@example.com")[-1].startswith("a OK")
    lines = r.cmd("b", 'LIST "" "*"')
    names = " ".join(lines)
    assert "shared.news" in names
    assert "shared.staff" not in names, "authenticated rights must not reach anonymous"
    assert "user.bob" not in names and "INBOX" not in names
    sel = r.cmd("c", "SELECT shared.news")
    assert sel[-1].startswith("c OK [READ-ONLY]"), sel
    assert any("PERMANENTFLAGS ()" in l for l in sel), "nothing of an anonymous session persists"
    assert r.cmd("d", "FETCH 1 BODY[TEXT]")[-1].startswith("d OK")
    # nothing else: the staff box answers as a nonexistent one
    staff = r.cmd("e", "SELECT shared.staff")[-1]
    nosuch = r.cmd("f", "SELECT shared.nosuch")[-1]
    assert staff[2:] == nosuch[2:], (staff, nosuch)
    assert r.cmd("g", "CREATE shared.x")[-1].startswith("g NO")
    assert r.cmd("h", "GETACL shared.news")[-1].startswith("h NO")


@pytest.mark.parametrize("with_ir", [True, False])
def test_authenticate_anonymous(make_server, with_ir):
    s = make_server(conf={"allowanonymouslogin": "yes"})
    setup_boxes(s)
    r = s.raw()
    trace = base64.b64encode(b"guest@example.com").decode()
    if with_ir:
        assert r.cmd("a", f"AUTHENTICATE ANONYMOUS {trace}")[-1].startswith("a OK")
    else:
        r.send("a AUTHENTICATE ANONYMOUS\r\n")
        assert r.line().startswith("+")
        r.send(trace + "\r\n")
        assert r.until_tagged("a")[-1].startswith("a OK")
    assert "shared.news" in " ".join(r.cmd("b", 'LIST "" "*"'))
    assert "anonymous login" in s.log_text()
