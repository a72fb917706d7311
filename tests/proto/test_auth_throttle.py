"""Throttling: the delay after a failed login grows per client address and
per user, over all workers and connections, up to failedloginpause_max;
maxconnections_per_ip; BYE after too many failures on one connection; one
log line per failure with address and user (for fail2ban)."""
import re
import time

import pytest


def timed_fail(r, tag, user, pw="wrong"):
    t = time.monotonic()
    resp = r.cmd(tag, f"LOGIN {user} {pw}")
    assert resp[-1].startswith(f"{tag} NO [AUTHENTICATIONFAILED]"), resp
    return time.monotonic() - t


def test_delay_grows_per_user_and_address_and_is_capped(make_server):
    s = make_server(conf={"failedloginpause": "1", "failedloginpause_max": "2", "workers": "2"},
                    users=("admin", "bob", "alice", "carol"))
    r = s.raw()
    d1 = timed_fail(r, "a", "bob")
    assert 0.9 <= d1 < 1.8, d1
    # another user from the same address: the address has failed before
    d2 = timed_fail(r, "b", "alice")
    assert 1.9 <= d2 < 2.8, d2
    # a new connection (maybe another worker) remembers; the cap holds
    r2 = s.raw()
    d3 = timed_fail(r2, "c", "bob")
    assert 1.9 <= d3 < 2.8, d3
    log = s.log_text()
    assert re.search(r"login failed user=bob addr=127\.0\.0\.1 mech=LOGIN delay=1000ms", log), log[-2000:]
    assert "login failed user=alice addr=127.0.0.1 mech=LOGIN delay=2000ms" in log
    # a right password is answered at once
    t = time.monotonic()
    r2.login("carol")
    assert time.monotonic() - t < 0.9


def test_no_delay_when_pause_is_zero(server):
    r = server.raw()
    for i in range(3):
        assert timed_fail(r, f"a{i}", "bob") < 0.9


def test_bye_after_too_many_failures_on_one_connection(make_server):
    s = make_server(conf={"imap_max_bad_commands": "3"})
    r = s.raw()
    for i in range(2):
        assert r.cmd(f"a{i}", "LOGIN bob wrong")[-1].startswith(f"a{i} NO [AUTHENTICATIONFAILED]")
    r.send("a2 LOGIN bob wrong\r\n")
    lines = []
    try:
        while True:
            lines.append(r.line())
    except (ConnectionError, OSError):
        pass
    assert any(x.startswith("* BYE") for x in lines), lines
    assert r.closed()


def test_maxconnections_per_ip(make_server):
    s = make_server(conf={"maxconnections_per_ip": "3", "workers": "2"})
    # The harness's readiness probe (a connection opened and closed at once)
    # counts until its worker has seen it close: wait for that.
    conns = []
    end = time.time() + 5
    while len(conns) < 3:
        c = s.raw()
        if c.greeting.startswith("* OK"):
            conns.append(c)
            continue
        assert time.time() < end, f"only {len(conns)} of 3 connections were let in: {c.greeting}"
        c.close()
        time.sleep(0.1)
    extra = s.raw()
    assert extra.greeting == "* BYE Too many connections from your address"
    assert extra.closed()
    assert "connection refused addr=127.0.0.1" in s.log_text()
    # the others are served
    conns[0].login("bob")
    assert conns[0].cmd("n", "NOOP")[-1].startswith("n OK")
    # one leaves: room for one more
    conns[1].cmd("z", "LOGOUT")
    conns[1].close()
    end = time.time() + 5
    while True:
        c = s.raw()
        if c.greeting.startswith("* OK"):
            break
        assert time.time() < end, c.greeting
        time.sleep(0.1)
    c.login("alice")


def test_maxconnections_per_ip_off_by_default(server):
    conns = [server.raw() for _ in range(20)]
    assert all(c.greeting.startswith("* OK") for c in conns)
