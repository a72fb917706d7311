"""Session basics: greeting, capabilities, login, logout, the contract keys."""
import imaplib
import signal

import pytest

from conftest import message


def test_greeting_advertises_capabilities(server):
    r = server.raw()
    assert r.greeting.startswith("* OK [CAPABILITY IMAP4rev1"), r.greeting
    assert "AUTH=PLAIN" in r.greeting and "SASL-IR" in r.greeting


def test_login_right_and_wrong_password(server):
    m = server.imap("bob")
    assert m.state == "AUTH"
    m.logout()
    m = server.imap()
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login("bob", "nope")
    with pytest.raises(imaplib.IMAP4.error, match="AUTHENTICATIONFAILED"):
        m.login("nosuchuser", "nope")
    # the connection stays usable
    typ, _ = m.login("bob", "bobpw")
    assert typ == "OK"


def test_authenticate_plain_with_and_without_initial_response(server):
    m = server.imap()
    typ, _ = m.authenticate("PLAIN", lambda _: b"\0alice\0alicepw")
    assert typ == "OK"
    r = server.raw()
    # SASL-IR: the response on the command line
    import base64
    ir = base64.b64encode(b"\0bob\0bobpw").decode()
    assert r.cmd("a", f"AUTHENTICATE PLAIN {ir}")[-1].startswith("a OK")
    r2 = server.raw()
    r2.send("b AUTHENTICATE PLAIN\r\n")
    assert r2.line().startswith("+")
    r2.send("*\r\n")
    assert r2.line().startswith("b BAD"), "a cancelled exchange is BAD"
    r2.send("c AUTHENTICATE PLAIN\r\n")
    r2.line()
    r2.send("!!!notbase64\r\n")
    assert r2.line().startswith("c BAD")


def test_failed_login_is_delayed(make_server):
    import time
    s = make_server(conf={"failedloginpause": "1"})
    m = s.imap()
    t0 = time.time()
    with pytest.raises(imaplib.IMAP4.error):
        m.login("bob", "wrong")
    assert time.time() - t0 >= 0.9, "the answer to a failed login must wait failedloginpause"


def test_commands_need_the_right_state(server):
    r = server.raw()
    assert r.cmd("a", "SELECT INBOX")[-1].startswith("a BAD")
    r.login("bob")
    assert r.cmd("b", "FETCH 1 FLAGS")[-1].startswith("b BAD")
    assert r.cmd("c", "LOGIN bob bobpw")[-1].startswith("c BAD")


def test_logout_says_bye(server):
    r = server.raw().login("bob")
    lines = r.cmd("z", "LOGOUT")
    assert lines[0].startswith("* BYE") and lines[-1].startswith("z OK")
    assert r.closed()


def test_sigterm_says_bye_and_exits_zero(server):
    r = server.raw().login("bob")
    rc = server.stop(signal.SIGTERM)
    assert rc == 0
    assert r.line().startswith("* BYE")


def test_inbox_autocreated_on_first_login(server):
    m = server.imap("bob")
    typ, data = m.select("INBOX")
    assert typ == "OK" and data == [b"0"]


def test_no_autocreate_when_off(make_server):
    s = make_server(conf={"autocreate_quota": "-1"})
    m = s.imap("bob")
    typ, _ = m.select("INBOX")
    assert typ == "NO"
    adm = s.imap("admin")
    assert adm.create("user.bob")[0] == "OK"
    assert m.select("INBOX")[0] == "OK"


def test_id_and_namespace(server):
    m = server.imap("bob")
    typ, data = m.xatom("ID", '("name" "pytest")')
    assert typ == "OK"
    typ, data = m.namespace()
    assert data == [b'(("INBOX." ".")) (("user." ".")) (("" "."))']


def test_bad_config_names_file_line_key_and_exits_2(make_server):
    import subprocess
    from conftest import AGORAD
    s = make_server(start=False)
    with open(s.conf_path, "a") as f:
        f.write("maxmessagesize: lots\n")
    r = subprocess.run([AGORAD, "-C", s.conf_path], capture_output=True, text=True, timeout=20)
    assert r.returncode == 2
    assert f"{s.conf_path}:" in r.stderr and "maxmessagesize" in r.stderr, r.stderr
