"""Hostile clients against the real agorad: slow senders, huge and malformed
literals, deep nesting, bad UTF-8 and modified UTF-7, floods of connections
and bad commands, clients that never read, half-open connections, NUL bytes,
LMTP abuse. Each case checks the answer the server is designed to give AND
that a well-behaved client logged in on the same server (one worker, so the
same event loop) keeps answering NOOP promptly throughout."""
import contextlib
import os
import resource
import socket
import statistics
import threading
import time

import pytest

from conftest import RawClient, cannot_run, message

# One worker: the attacker and the good client share one event loop, so a
# stall caused by the attacker shows in the good client's latencies.
BASE = {"workers": "1"}


class GoodClient(threading.Thread):
    """A logged-in client that sends NOOP in a loop and times each answer."""

    def __init__(self, server, user="alice"):
        super().__init__(daemon=True)
        self.c = RawClient(server.imap_port).login(user)
        self.stop_ev = threading.Event()
        self.times = []
        self.error = None

    def run(self):
        n = 0
        try:
            while not self.stop_ev.is_set():
                n += 1
                t0 = time.monotonic()
                r = self.c.cmd(f"g{n}", "NOOP")
                self.times.append(time.monotonic() - t0)
                assert r[-1].startswith(f"g{n} OK"), r
                self.stop_ev.wait(0.05)
        except Exception as e:  # reported by check()
            self.error = e

    def check(self):
        end = time.monotonic() + 5
        while len(self.times) < 3 and self.is_alive() and time.monotonic() < end:
            time.sleep(0.05)
        self.stop_ev.set()
        self.join(20)
        assert not self.is_alive(), "the good client is stuck"
        assert self.error is None, f"the good client failed: {self.error!r}"
        assert len(self.times) >= 3, self.times
        med = statistics.median(self.times)
        assert med < 0.2, f"good client median NOOP {med:.3f}s"
        assert max(self.times) < 2.0, f"good client slowest NOOP {max(self.times):.3f}s"
        r = self.c.cmd("gz", "LOGOUT")
        assert r[-1].startswith("gz OK"), r
        self.c.close()


@contextlib.contextmanager
def good_client(server, user="alice"):
    g = GoodClient(server, user)
    g.start()
    try:
        yield g
    finally:
        g.check()


@pytest.fixture
def hserver(make_server):
    def make(conf=None):
        return make_server(conf={**BASE, **(conf or {})})
    return make


def expect_open(c, tag="z"):
    """The connection still serves commands."""
    r = c.cmd(tag, "NOOP")
    assert r[-1].startswith(f"{tag} OK"), r


def read_all_until_closed(c, timeout):
    """Everything the server sends until it closes, or None if it does not
    close within `timeout` seconds."""
    c.sock.settimeout(timeout)
    end = time.monotonic() + timeout
    data = c.buf
    try:
        while time.monotonic() < end:
            chunk = c.sock.recv(65536)
            if not chunk:
                return data
            data += chunk
    except socket.timeout:
        return None
    except OSError:
        return data
    return None


# --- slow clients -------------------------------------------------------

def test_slow_client_before_login_is_cut_by_login_timeout(hserver):
    s = hserver({"login_timeout": "3"})
    with good_client(s):
        c = s.raw()
        t0 = time.monotonic()
        closed_by_server = False
        # one byte per second of a LOGIN that is never finished
        for ch in b"a1 LOGIN bob bobpw":
            try:
                c.send(bytes([ch]))
            except OSError:
                closed_by_server = True
                break
            time.sleep(1)
            if c.closed(timeout=0.01):
                closed_by_server = True
                break
        if not closed_by_server:
            closed_by_server = c.closed(timeout=5)
        assert closed_by_server
        assert b"* BYE Autologout" in c.buf, c.buf
        assert 2.5 < time.monotonic() - t0 < 10
        c.close()


def test_slow_client_after_login_is_cut_by_timeout(hserver):
    s = hserver({"timeout": "4s"})
    with good_client(s):
        c = s.raw().login("bob")
        t0 = time.monotonic()
        closed = False
        for ch in b"a2 SELECT INBOX":
            try:
                c.send(bytes([ch]))
            except OSError:
                closed = True
                break
            if c.closed(timeout=1):
                closed = True
                break
        closed = closed or c.closed(timeout=5)
        assert closed and b"* BYE Autologout" in c.buf, c.buf
        assert 3 < time.monotonic() - t0 < 12
        c.close()


def test_slow_but_complete_commands_are_served(hserver):
    s = hserver({"login_timeout": "10"})
    with good_client(s):
        c = s.raw()
        for ch in b"a1 LOGIN bob bobpw\r\n":
            c.send(bytes([ch]))
            time.sleep(0.05)
        assert c.until_tagged("a1")[-1].startswith("a1 OK")
        for ch in b"a2 SELECT INBOX\r\n":
            c.send(bytes([ch]))
            time.sleep(0.05)
        assert c.until_tagged("a2")[-1].startswith("a2 OK")
        c.close()


def test_many_slow_clients_do_not_block_others(hserver):
    s = hserver({"login_timeout": "3"})
    with good_client(s):
        slow = [s.raw() for _ in range(50)]
        for i in range(4):
            for c in slow:
                try:
                    c.send(b"a"[0:1] if i else b"x LOGIN ")
                except OSError:
                    pass
            time.sleep(1)
        for c in slow:
            assert c.closed(timeout=5), c.buf
            assert b"* BYE Autologout" in c.buf
            c.close()


# --- literals -----------------------------------------------------------

def test_huge_sync_literal_before_login(hserver):
    s = hserver()
    with good_client(s):
        for size in ("999999999999", "99999999999999999999999999", "8193"):
            c = s.raw()
            c.send(f"a1 LOGIN {{{size}}}\r\n")
            line = c.line()
            assert line.startswith("a1 BAD [TOOBIG]"), (size, line)
            # the refused literal is not read as data: the session goes on
            expect_open(c)
            r = c.cmd("a2", "LOGIN bob bobpw")
            assert r[-1].startswith("a2 OK"), r
            c.close()


def test_huge_nonsync_literal_before_login_closes(hserver):
    s = hserver()
    with good_client(s):
        c = s.raw()
        c.send("a1 LOGIN {999999999999+}\r\n")
        data = read_all_until_closed(c, 5)
        assert data is not None, "not closed"
        assert b"a1 BAD [TOOBIG]" in data and b"* BYE" in data, data
        c.close()


def test_literal_over_maxmessagesize(hserver):
    s = hserver({"maxmessagesize": "100K"})
    with good_client(s):
        c = s.raw().login("bob")
        c.send("a1 APPEND INBOX {102401}\r\n")
        line = c.line()
        assert line.startswith("a1 BAD [TOOBIG]"), line
        expect_open(c)
        # just at the limit is taken
        body = message(body="x" * 1000 + "\r\n")
        body += b"y" * (100 * 1024 - len(body))
        c.send(f"a2 APPEND INBOX {{{len(body)}}}\r\n")
        assert c.line().startswith("+")
        c.send(body + b"\r\n")
        assert c.until_tagged("a2")[-1].startswith("a2 OK")
        # a non-synchronizing one over the limit: BAD and BYE
        c.send("a3 APPEND INBOX {999999+}\r\n")
        data = read_all_until_closed(c, 5)
        assert data is not None and b"a3 BAD [TOOBIG]" in data and b"* BYE" in data, data
        c.close()


def test_literal_plus_sum_over_command_limit(hserver):
    s = hserver()
    with good_client(s):
        c = s.raw().login("bob")
        c.cmd("s", "SELECT INBOX")
        chunk = b"x" * 600000
        c.send(b"a1 SEARCH TEXT {600000+}\r\n" + chunk + b" TEXT {600000+}\r\n")
        data = read_all_until_closed(c, 10)
        assert data is not None and b"a1 BAD [TOOBIG]" in data and b"* BYE" in data, data
        c.close()
        # many small literal+ within one command stay within the sum too
        c = s.raw().login("bob")
        c.cmd("s", "SELECT INBOX")
        piece = b"x" * 1000
        payload = b"a2 SEARCH" + b"".join(b" OR TEXT {1000+}\r\n" + piece for _ in range(1100))
        try:
            c.send(payload + b" ALL\r\n")
        except OSError:
            pass
        data = read_all_until_closed(c, 10)
        assert data is not None and b"a2 BAD [TOOBIG]" in data, data
        c.close()


def test_malformed_literal_counts(hserver):
    s = hserver()
    with good_client(s):
        for login in (False, True):
            c = s.raw()
            if login:
                c.login("bob")
            for lit in ("{-1}", "{1a}", "{+}", "{}", "{-1+}", "{ 1}", "{1 }", "{0x10}", "{1}}", "{1+ }",
                        "{1++}", "{-0}", "{1.5}"):
                verb = "SELECT" if login else "LOGIN bob"
                r = c.cmd("a1", f"{verb} {lit}")
                assert r[-1].startswith("a1 BAD") or r[-1].startswith("a1 NO"), (lit, r)
                # nothing waits for literal bytes: the next command runs
                expect_open(c)
            c.close()


def test_literal_continuation_after_refusal_is_a_command(hserver):
    """The bytes a client sends after a refused synchronizing literal are
    the next command, not data: a client cannot smuggle them."""
    s = hserver()
    c = s.raw().login("bob")
    c.send("a1 CREATE {2000000}\r\n")
    assert c.line().startswith("a1 BAD [TOOBIG]")
    r = c.cmd("a2", "NOOP")
    assert r[-1].startswith("a2 OK"), r
    c.close()


# --- nesting, arguments -------------------------------------------------

def test_deep_parenthesis_nesting(hserver):
    s = hserver()
    s.imap("bob", "bobpw").append("INBOX", None, None, message())
    with good_client(s):
        c = s.raw().login("bob")
        c.cmd("s", "SELECT INBOX")
        for depth in (17, 100, 30000):
            deep_nesting_refused(c, depth)
        c.close()


def deep_nesting_refused(c, depth):
    if True:
        r = c.cmd("a1", "FETCH 1 " + "(" * depth + "FLAGS" + ")" * depth)
        assert r[-1].startswith("a1 BAD"), r[-1][:200]
        r = c.cmd("a2", "SEARCH " + "(" * depth + "ALL" + ")" * depth)
        assert r[-1].startswith("a2 BAD"), r[-1][:200]
        r = c.cmd("a3", "SEARCH " + "NOT " * depth + "ALL")
        # NOT chains count against SEARCH_MAX_DEPTH (32), not the list depth
        assert r[-1].startswith("a3 BAD" if depth > 32 else "a3 OK"), r[-1][:200]
        # unbalanced
        r = c.cmd("a4", "FETCH 1 " + "(" * depth)
        assert r[-1].startswith("a4 BAD"), r[-1][:200]
        r = c.cmd("a5", "FETCH 1 FLAGS" + ")" * depth)
        assert r[-1].startswith("a5 BAD"), r[-1][:200]
        expect_open(c)


def test_nesting_at_the_limit_is_parsed(hserver):
    s = hserver()
    s.imap("bob", "bobpw").append("INBOX", None, None, message())
    c = s.raw().login("bob")
    c.cmd("s", "SELECT INBOX")
    r = c.cmd("a1", "SEARCH " + "(" * 15 + "ALL" + ")" * 15)
    assert r[-1].startswith("a1 OK") and "* SEARCH 1" in r, r
    c.close()


def test_too_many_arguments(hserver):
    s = hserver()
    with good_client(s):
        c = s.raw().login("bob")
        c.cmd("s", "SELECT INBOX")
        r = c.cmd("a1", "FETCH 1 (" + " FLAGS" * 10500 + ")")
        assert r[-1].startswith("a1 BAD"), r[-1][:200]
        expect_open(c)
        c.close()


# --- UTF-8 and modified UTF-7 ---------------------------------------------

def test_invalid_utf8_in_search(hserver):
    s = hserver()
    s.imap("bob", "bobpw").append("INBOX", None, None, message())
    with good_client(s):
        c = s.raw().login("bob")
        c.cmd("s", "SELECT INBOX")
        for bad in (b"\xff", b"\xc3", b"\xc0\xaf", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"a\x80b"):
            search_refused(c, bad)
        c.close()


def search_refused(c, bad):
    if True:
        c.send(b"a1 SEARCH CHARSET UTF-8 TEXT {%d}\r\n" % len(bad))
        assert c.line().startswith("+")
        c.send(bad + b"\r\n")
        r = c.until_tagged("a1")
        assert r[-1].startswith("a1 BAD") or r[-1].startswith("a1 NO"), r
        # as a quoted string too
        c.send(b'a2 SEARCH CHARSET UTF-8 SUBJECT "' + bad + b'"\r\n')
        r = c.until_tagged("a2")
        assert r[-1].startswith("a2 BAD") or r[-1].startswith("a2 NO"), r
        expect_open(c)


def mailbox_names(s, user="bob"):
    m = s.imap(user, f"{user}pw")
    typ, data = m.list()
    m.logout()
    return [d for d in data if d]


BAD_NAMES = [b"&Jjo", b"&Jjo-x&", b"&AGE-", b"&AGEAYQ-", b"a&", b"&=-", b"&2D0-", b"&3AA-", b"&AC0-", b"&-&-&",
             b"&ZeVnLIqe", b"&ZeVnLIqe-&-\xff", b"caf\xc3\xa9", b"\xff\xfe", b"a\x80"]


def test_invalid_mailbox_names(hserver):
    s = hserver()
    before = mailbox_names(s)
    with good_client(s):
        c = s.raw().login("bob")
        for name in BAD_NAMES:
            bad_name_refused(c, name)
        c.close()
    assert mailbox_names(s) == before


def bad_name_refused(c, name):
    if True:
        lit = b"INBOX." + name
        for tag, verb in (("a1", b"CREATE"), ("a2", b"SELECT"), ("a3", b"EXAMINE"),
                          ("a4", b"DELETE"), ("a5", b"SUBSCRIBE"), ("a6", b"STATUS")):
            extra = b" (MESSAGES)" if verb == b"STATUS" else b""
            c.send(b"%s %s {%d}\r\n" % (tag.encode(), verb, len(lit)))
            assert c.line().startswith("+")
            c.send(lit + extra + b"\r\n")
            r = c.until_tagged(tag)
            assert r[-1].startswith(tag + " NO") or r[-1].startswith(tag + " BAD"), (verb, r)
        c.send(b'a7 LIST "" {%d}\r\n' % len(lit))
        assert c.line().startswith("+")
        c.send(lit + b"\r\n")
        r = c.until_tagged("a7")
        assert r[-1].split()[1] in ("OK", "BAD", "NO") and len(r) == 1, r
        c.send(b"a8 RENAME INBOX {%d}\r\n" % len(lit))
        assert c.line().startswith("+")
        c.send(lit + b"\r\n")
        r = c.until_tagged("a8")
        assert r[-1].startswith("a8 NO") or r[-1].startswith("a8 BAD"), r
        expect_open(c)


def test_valid_modified_utf7_names(hserver):
    s = hserver()
    c = s.raw().login("bob")
    for name in ("&-", "a&-b", "&ZeVnLIqe-", "&AOk-t&AOk-", "&2D3cAA-"):
        r = c.cmd("a1", f"CREATE INBOX.{name}")
        assert r[-1].startswith("a1 OK"), r
        r = c.cmd("a2", f'LIST "" INBOX.{name}')
        assert r[-1].startswith("a2 OK") and any(name in x for x in r[:-1]), r
    c.close()


# --- floods -------------------------------------------------------------

def test_thousands_of_connections_from_one_address(hserver):
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4500
    if hard != resource.RLIM_INFINITY and hard < want:
        try:   # root may raise its hard limit
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, want))
            hard = want
        except (ValueError, OSError):
            cannot_run(f"RLIMIT_NOFILE hard limit {hard} is too low")
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, want), hard))
    try:
        s = hserver({"maxconnections_per_ip": "1500"})  # agorad inherits the raised limit
        with good_client(s):
            socks = []
            refused = 0
            try:
                for i in range(2000):
                    sk = socket.create_connection(("127.0.0.1", s.imap_port), timeout=15)
                    socks.append(sk)
                for i, sk in enumerate(socks):
                    buf = b""
                    while b"\r\n" not in buf:
                        chunk = sk.recv(4096)
                        if not chunk:
                            break
                        buf += chunk
                    if i < 1499:
                        assert buf.startswith(b"* OK"), (i, buf)
                    elif buf.startswith(b"* BYE"):
                        assert b"Too many connections" in buf, buf
                        refused += 1
                # the good client holds one: 1499 more are let in, the rest refused
                assert refused == 2000 - 1499, refused
                # and those admitted work
                socks[0].sendall(b"a NOOP\r\n")
                assert socks[0].recv(100).startswith(b"a OK")
            finally:
                for sk in socks:
                    sk.close()
        # after they went, the counts went down again
        time.sleep(0.5)
        c = s.raw()
        assert c.greeting.startswith("* OK"), c.greeting
        c.close()
        assert "connection refused addr=127.0.0.1" in s.log_text()
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))


def test_bad_commands_in_a_loop(hserver):
    s = hserver()
    with good_client(s):
        for login in (False, True):
            c = s.raw()
            if login:
                c.login("bob")
            for i in range(19):
                r = c.cmd(f"b{i}", "FOO BAR")
                assert r[-1].startswith(f"b{i} BAD"), r
            c.send(b"b19 FOO\r\n")
            data = read_all_until_closed(c, 5)
            assert data is not None, "not closed"
            assert b"b19 BAD" in data and b"* BYE Too many invalid commands" in data, data
            c.close()
        # a flood that never waits for the answers
        c = s.raw()
        try:
            c.send(b"x GARBAGE\r\n" * 5000)
        except OSError:
            pass
        data = read_all_until_closed(c, 5)
        assert data is not None and data.count(b" BAD ") == 20 and b"* BYE" in data, data[-300:]
        c.close()


def test_bad_commands_interleaved_with_good_ones_do_not_close(hserver):
    s = hserver()
    c = s.raw().login("bob")
    for i in range(60):
        c.cmd(f"b{i}", "FOO")
        if i % 10 == 9:
            expect_open(c, f"n{i}")
    expect_open(c)
    c.close()


# --- clients that do not read --------------------------------------------

def agorad_rss_kib(s):
    """Resident memory of agorad and its children."""
    total = 0
    pids = [s.proc.pid]
    try:
        with open(f"/proc/{s.proc.pid}/task/{s.proc.pid}/children") as f:
            pids += [int(p) for p in f.read().split()]
    except OSError:
        pass
    for pid in pids:
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total


def test_client_that_never_reads_fetch_output(hserver):
    s = hserver()
    m = s.imap("bob", "bobpw")
    big = message(body=("z" * 998 + "\r\n") * 2000)  # 2 MB
    for _ in range(10):
        m.append("INBOX", None, None, big)
    m.logout()
    rss0 = agorad_rss_kib(s)
    with good_client(s):
        c = s.raw().login("bob")
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.cmd("s", "SELECT INBOX")
        # each asks for 10 x 6 MB and it never reads
        c.sock.settimeout(2)
        try:
            for i in range(20):
                c.send(f"f{i} FETCH 1:* (BODY.PEEK[] BODY.PEEK[TEXT] BODY.PEEK[]<0.2100000>)\r\n")
        except (socket.timeout, OSError):
            pass
        time.sleep(3)
        grown = agorad_rss_kib(s) - rss0
        assert grown < 40 * 1024, f"agorad grew by {grown} KiB for a client that does not read"
        c.sock.close()
    # the server still serves after the reader went away, and a client
    # that reads gets the whole of a long answer
    m = s.imap("bob", "bobpw")
    m.select("INBOX", readonly=True)
    typ, data = m.fetch("1:*", "(BODY.PEEK[] BODY.PEEK[]<5.10>)")
    assert typ == "OK"
    bodies = [d[1] for d in data if isinstance(d, tuple) and len(d[1]) > 10]
    assert bodies == [big] * 10, [len(b) for b in bodies]
    m.logout()


def test_repeated_fetch_items_are_bounded(hserver):
    s = hserver({"maxmessagesize": "100K"})
    m = s.imap("bob", "bobpw")
    m.append("INBOX", None, None, message(body=("z" * 98 + "\r\n") * 900))
    m.logout()
    with good_client(s):
        c = s.raw().login("bob")
        c.cmd("s", "SELECT INBOX")
        r = c.cmd("f1", "FETCH 1 (" + " ".join(["BODY.PEEK[]"] * 40) + ")")
        assert r[-1].startswith("f1 NO [LIMIT]"), r[-1]
        assert not any(x.startswith("* 1 FETCH") for x in r), "partial answer sent"
        r = c.cmd("f2", "FETCH 1 (BODY.PEEK[] BODY.PEEK[TEXT])")
        assert r[-1].startswith("f2 OK"), r[-1]
        c.close()


def test_closing_client_that_never_reads_is_freed(hserver):
    """A connection being closed (here: by the autologout) while its output
    cannot leave does not stay open for ever."""
    s = hserver({"timeout": "3s"})
    m = s.imap("bob", "bobpw")
    m.append("INBOX", None, None, message(body=("z" * 998 + "\r\n") * 3000))
    m.logout()
    c = s.raw().login("bob")
    c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    c.cmd("s", "SELECT INBOX")
    c.send("f FETCH 1 BODY.PEEK[]\r\n")
    # It never reads. After the timeout and the grace period for the last
    # bytes, the server lets go of the session (which logs its logout).
    logouts = s.log_text().count("logout user=bob")
    end = time.monotonic() + 3 + 5 + 6
    while time.monotonic() < end and s.log_text().count("logout user=bob") == logouts:
        time.sleep(0.2)
    assert s.log_text().count("logout user=bob") == logouts + 1, "the server still holds the session"
    c.close()


def test_half_open_connections(hserver):
    s = hserver({"login_timeout": "3"})
    with good_client(s):
        # clients that send half a command and shut down their side
        for data in (b"", b"a1 LOG", b"a1 LOGIN {5}\r\n", b"a1 LOGIN bob bobpw\r\na2 SELECT INBOX\r\n"):
            c = s.raw()
            c.send(data)
            c.sock.shutdown(socket.SHUT_WR)
            got = read_all_until_closed(c, 6)
            assert got is not None, (data, "not closed")
            c.close()
        # clients that vanish without a FIN (reset)
        for _ in range(20):
            c = s.raw()
            c.send(b"a1 LOGIN bob bobpw\r\na2 SELECT INBOX\r\na3 FETCH 1:* BODY[]\r\n")
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            c.close()


def test_pipelined_garbage_after_logout(hserver):
    s = hserver()
    with good_client(s):
        c = s.raw()
        c.send(b"a1 LOGIN bob bobpw\r\na2 LOGOUT\r\na3 SELECT INBOX\r\n\x00\xff garbage {5}\r\n"
               + b"junk" * 1000 + b"\r\n")
        data = read_all_until_closed(c, 5)
        assert data is not None
        assert b"a1 OK" in data and b"* BYE" in data and b"a2 OK" in data, data
        assert b"a3" not in data, data
        c.close()


NUL_COMMANDS = [b"a1 NOOP\x00\r\n", b"a1\x00 NOOP\r\n", b"\x00\r\n", b"a1 SELECT IN\x00BOX\r\n",
                b'a1 SELECT "IN\x00BOX"\r\n', b"a1 SELECT {6}\r\nIN\x00BOX\r\n", b"a1 LIST \"\" \"*\x00\"\r\n",
                b"a1 LOGIN bob\x00 bobpw\r\n", b"a1 CREATE {3+}\r\na\x00b\r\n"]


def test_nul_bytes_in_commands(hserver):
    s = hserver()
    with good_client(s):
        c = s.raw().login("bob")
        for cmd in NUL_COMMANDS:
            nul_refused(c, cmd)
        c.close()


def nul_refused(c, cmd):
    if True:
        if b"{6}" in cmd:
            head, rest = cmd.split(b"\r\n", 1)
            c.send(head + b"\r\n")
            assert c.line().startswith("+")
            c.send(rest)
        else:
            c.send(cmd)
        r = c.until_tagged("a1") if cmd.startswith(b"a1 ") else [c.line()]
        assert " BAD" in r[-1] or " NO" in r[-1], (cmd, r)
        expect_open(c)


# --- LMTP -------------------------------------------------------------------

class RawLmtp:
    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        self.sock.sendall(data if isinstance(data, bytes) else data.encode())

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed; got %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode()

    def reply(self):
        lines = [self.line()]
        while lines[-1][3:4] == "-":
            lines.append(self.line())
        return lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def close(self):
        self.sock.close()


def test_lmtp_too_many_recipients(hserver):
    s = hserver()
    with good_client(s):
        c = RawLmtp(s.lmtp_port)
        c.cmd("LHLO test")
        assert c.cmd("MAIL FROM:<a@example.com>")[0].startswith("250")
        # pipelined, as an MTA would
        c.send(b"".join(b"RCPT TO:<bob@example.com>\r\n" for _ in range(1100)))
        codes = [c.reply()[0][:3] for _ in range(1100)]
        assert codes[:1000] == ["250"] * 1000, codes[:5]
        assert set(codes[1000:]) == {"452"}, set(codes[1000:])
        c.send(b"DATA\r\n")
        assert c.reply()[0].startswith("354")
        c.send(message(subject="many") + b".\r\n")
        replies = [c.reply()[0][:3] for _ in range(1000)]
        assert set(replies) == {"250"}, set(replies)
        assert c.cmd("QUIT")[0].startswith("221")
        c.close()
    # delivered once, however many times bob was named
    m = s.imap("bob", "bobpw")
    assert m.select("INBOX")[1] == [b"1"]
    m.logout()


def test_lmtp_garbage(hserver):
    s = hserver()
    with good_client(s):
        c = RawLmtp(s.lmtp_port)
        c.cmd("LHLO test")
        for garbage in (b"\x00\x01\x02\r\n", b"HELO\r\n", b"MAIL FROM:<\r\n", b"RCPT TO:<>\r\n",
                        b"\xff\xfe\r\n", b"X" * 3000 + b"\r\n", b"DATA\r\n", b"RCPT TO:<bob\x00@x>\r\n",
                        b"MAIL FROM:<a@b> SIZE=99999999999999999999\r\n"):
            c.send(garbage)
            r = c.reply()
            assert r[0][0] in "45", (garbage, r)
            assert c.cmd("NOOP")[0].startswith("250")
        c.close()


def test_lmtp_line_without_end_is_cut(hserver):
    s = hserver()
    with good_client(s):
        c = RawLmtp(s.lmtp_port)
        try:
            c.send(b"X" * 100000)
        except OSError:
            pass
        assert c.reply()[0].startswith("500")
        c.close()


def bdat_setup(s):
    c = RawLmtp(s.lmtp_port)
    c.cmd("LHLO test")
    assert c.cmd("MAIL FROM:<a@example.com>")[0].startswith("250")
    assert c.cmd("RCPT TO:<bob@example.com>")[0].startswith("250")
    return c


def test_lmtp_bdat_wrong_sizes(hserver):
    s = hserver({"maxmessagesize": "100K"})
    with good_client(s):
        for bad in ("BDAT", "BDAT -1", "BDAT 1a", "BDAT 99999999999999999999999999", "BDAT +5",
                    "BDAT 5 NOTLAST"):
            c = bdat_setup(s)
            r = c.cmd(bad)
            assert r[0].startswith("501"), (bad, r)
            c.close()
        # over maxmessagesize: the chunk is read and refused per recipient
        c = bdat_setup(s)
        c.send(b"BDAT 200000 LAST\r\n" + b"x" * 200000)
        assert c.reply()[0].startswith("552"), "too big"
        assert c.cmd("NOOP")[0].startswith("250")
        c.close()
        # a chunk shorter than announced: the server waits for the rest,
        # then takes the next command's bytes as data (as RFC 3030 says)
        c = bdat_setup(s)
        msg = message(subject="short")
        c.send(b"BDAT %d LAST\r\n" % (len(msg) + 6) + msg + b"NOOP\r\n")
        assert c.reply()[0].startswith("250")
        c.close()
        # longer than announced: the rest is a command
        c = bdat_setup(s)
        msg = message(subject="long")
        c.send(b"BDAT %d LAST\r\n" % len(msg) + msg + b"GARBAGE\r\n")
        assert c.reply()[0].startswith("250")
        assert c.reply()[0].startswith("500")
        c.close()
        # BDAT without a transaction: read and refused
        c = RawLmtp(s.lmtp_port)
        c.cmd("LHLO test")
        c.send(b"BDAT 10 LAST\r\n0123456789")
        assert c.reply()[0].startswith("503")
        assert c.cmd("NOOP")[0].startswith("250")
        c.close()


def test_lmtp_slow_data(hserver):
    s = hserver()
    with good_client(s):
        c = bdat_setup(s)
        c.send(b"DATA\r\n")
        assert c.reply()[0].startswith("354")
        for b in message(subject="slow"):
            c.send(bytes([b]))
            if b == 10:
                time.sleep(0.05)
        c.send(b".\r\n")
        assert c.reply()[0].startswith("250")
        c.close()


def test_lmtp_client_that_never_reads(hserver):
    s = hserver()
    rss0 = agorad_rss_kib(s)
    with good_client(s):
        c = RawLmtp(s.lmtp_port)
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        c.sock.settimeout(2)
        # LHLO answers with several lines: more out than in
        chunk = b"LHLO x\r\n" * 20000
        sent = 0
        try:
            for _ in range(50):
                c.send(chunk)
                sent += len(chunk)
        except (socket.timeout, OSError):
            pass
        time.sleep(1)
        grown = agorad_rss_kib(s) - rss0
        assert grown < 100 * 1024, f"agorad grew by {grown} KiB after {sent} bytes in"
        c.close()
