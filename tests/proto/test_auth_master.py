"""Master users and proxy authorization: PLAIN with an authorization
identity (allowed for admins and `proxyservers`), Dovecot's `user*master`
form with `auth_master_user_separator`, SCRAM's a= likewise; each such
login logged with both names, refused otherwise with [AUTHORIZATIONFAILED].
And the login/logout log lines (user, address, TLS, mechanism, bytes)."""
import base64

from test_auth_scram import scram_login


def plain(authz, authc, pw):
    return base64.b64encode(f"{authz}\0{authc}\0{pw}".encode()).decode()


def whoami(r):
    """The session's user, from the personal namespace it sees."""
    lines = r.cmd("w", "GETACL INBOX")
    assert lines[-1].startswith("w OK"), lines
    return lines[0]


def test_admin_logs_in_as_user_with_plain_authzid(server):
    r = server.raw()
    resp = r.cmd("a", "AUTHENTICATE PLAIN " + plain("bob", "admin", "adminpw"))
    assert resp[-1].startswith("a OK"), resp
    # the session is bob's: bob's INBOX is INBOX
    assert r.cmd("b", "CREATE INBOX.fromadmin")[-1].startswith("b OK")
    m = server.imap("bob")
    assert any(b"INBOX.fromadmin" in x for x in m.list()[1])
    log = server.log_text()
    assert "proxy login user=bob authuser=admin addr=127.0.0.1" in log
    assert "login user=bob authuser=admin addr=127.0.0.1 mech=PLAIN" in log


def test_proxyservers_may_authorize(make_server):
    s = make_server(conf={"proxyservers": "proxy"}, users=("admin", "bob", "proxy"))
    r = s.raw()
    assert r.cmd("a", "AUTHENTICATE PLAIN " + plain("bob", "proxy", "proxypw"))[-1].startswith("a OK")
    assert "proxy login user=bob authuser=proxy" in s.log_text()


def test_ordinary_user_may_not_authorize(server):
    r = server.raw()
    resp = r.cmd("a", "AUTHENTICATE PLAIN " + plain("bob", "alice", "alicepw"))
    assert resp[-1].startswith("a NO [AUTHORIZATIONFAILED]"), resp
    assert r.cmd("b", "SELECT INBOX")[-1].startswith("b BAD")
    # the wrong password is AUTHENTICATIONFAILED, not a hint about authorization
    resp = r.cmd("c", "AUTHENTICATE PLAIN " + plain("bob", "admin", "wrong"))
    assert resp[-1].startswith("c NO [AUTHENTICATIONFAILED]"), resp
    # an admin cannot become a user that does not exist
    resp = r.cmd("d", "AUTHENTICATE PLAIN " + plain("nosuch", "admin", "adminpw"))
    assert resp[-1].startswith("d NO [AUTHORIZATIONFAILED]"), resp
    # authzid equal to authcid is an ordinary login
    assert r.cmd("e", "AUTHENTICATE PLAIN " + plain("bob", "bob", "bobpw"))[-1].startswith("e OK")
    assert "authorization refused user=bob authuser=alice" in server.log_text()


def test_master_user_separator(make_server):
    s = make_server(conf={"auth_master_user_separator": "*"})
    r = s.raw()
    assert r.cmd("a", "LOGIN bob*admin adminpw")[-1].startswith("a OK")
    assert "proxy login user=bob authuser=admin" in s.log_text()
    r = s.raw()
    assert r.cmd("a", "LOGIN bob*alice alicepw")[-1].startswith("a NO [AUTHORIZATIONFAILED]")
    assert r.cmd("b", "LOGIN bob*admin bobpw")[-1].startswith("b NO [AUTHENTICATIONFAILED]")
    assert r.cmd("c", "AUTHENTICATE PLAIN " + plain("", "bob*admin", "adminpw"))[-1].startswith("c OK")
    r = s.raw()
    assert scram_login(r, "SCRAM-SHA-256", "bob*admin", "adminpw").startswith("a OK")


def test_master_user_separator_off_by_default(server):
    r = server.raw()
    assert r.cmd("a", "LOGIN bob*admin adminpw")[-1].startswith("a NO [AUTHENTICATIONFAILED]")


def test_scram_authzid(server):
    r = server.raw()
    assert scram_login(r, "SCRAM-SHA-256", "admin", "adminpw", authzid="bob").startswith("a OK")
    assert "proxy login user=bob authuser=admin" in server.log_text()
    r = server.raw()
    resp = scram_login(r, "SCRAM-SHA-1", "alice", "alicepw", authzid="bob")
    assert resp.startswith("a NO [AUTHORIZATIONFAILED]"), resp


def test_login_and_logout_lines(server):
    r = server.raw()
    r.login("bob")
    r.cmd("a", "SELECT INBOX")
    r.cmd("b", "LOGOUT")
    r.closed()
    import time
    end = time.time() + 5
    while "logout user=bob" not in server.log_text() and time.time() < end:
        time.sleep(0.05)
    log = server.log_text()
    assert "login user=bob addr=127.0.0.1 mech=LOGIN tls=no" in log
    line = [x for x in log.splitlines() if "logout user=bob" in x][0]
    assert "addr=127.0.0.1" in line
    fields = dict(kv.split("=", 1) for kv in line.split() if "=" in kv)
    assert int(fields["in"]) > 20 and int(fields["out"]) > 100, line
