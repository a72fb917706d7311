"""`agora -C CONF deliver [-m MAILBOX] [-f SENDER] USER...`: the LMTP rules
from a program an MTA runs, with the sysexits an MTA understands (0
delivered, 64 usage, 65 data error, 67 unknown user, 75 try again, 77
permanent refusal), and a running agorad's IDLE session seeing what it
delivered."""
import itertools
import os
import re
import shutil
import subprocess
import tempfile
import time

import pytest

from conftest import AGORA, SAN_ENV, Server, message


@pytest.fixture(scope="module")
def module_server():
    tmp = tempfile.mkdtemp(prefix="agora-test-")
    s = Server(tmp, None, users=("admin",))
    s.start()
    yield s
    rc = s.stop()
    log = s.log_text()
    shutil.rmtree(tmp, ignore_errors=True)
    assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log[-4000:]
    assert rc == 0, log[-3000:]


_serial = itertools.count(1)


class DT:
    """A fresh user (and a spare) on the module's server."""

    def __init__(self, s):
        n = next(_serial)
        self.s, self.n = s, n
        self.bob, self.alice = f"dbob{n}", f"dalice{n}"
        for u in (self.bob, self.alice):
            s.agora("user", "add", u, input=f"{u}pw\n")
        self.sessions = {}

    def deliver(self, *args, data=b"", conf=None):
        r = subprocess.run([AGORA, "-C", conf or self.s.conf_path, "deliver", *args], input=data,
                           capture_output=True, timeout=60, env=SAN_ENV)
        assert b"AddressSanitizer" not in r.stderr and b"runtime error:" not in r.stderr, r.stderr
        return r

    def conf_with(self, **extra):
        """Another configuration file for the same store."""
        path = os.path.join(self.s.tmp, f"deliver-{self.n}.conf")
        with open(path, "w") as f:
            for k, v in {**self.s.settings, **extra}.items():
                f.write(f"{k}: {v}\n")
        return path

    def imap(self, user):
        if user not in self.sessions:
            self.sessions[user] = self.s.imap(user)
        return self.sessions[user]

    def count(self, user, mailbox="INBOX"):
        typ, data = self.imap(user).status(mailbox, "(MESSAGES)")
        assert typ == "OK", data
        return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))

    def fetch(self, user, mailbox="INBOX"):
        m = self.imap(user)
        typ, data = m.select(mailbox, readonly=True)
        assert typ == "OK", data
        if int(data[0]) == 0:
            return []
        typ, data = m.fetch("1:*", "(BODY.PEEK[])")
        assert typ == "OK", data
        return [d[1] for d in data if isinstance(d, tuple)]

    def close(self):
        for m in self.sessions.values():
            try:
                m.logout()
            except Exception:
                pass


@pytest.fixture
def dt(module_server):
    d = DT(module_server)
    yield d
    d.close()


def test_deliver_to_inbox(dt):
    r = dt.deliver(dt.bob, data=message("hello"))
    assert r.returncode == 0, r.stderr
    msgs = dt.fetch(dt.bob)
    assert len(msgs) == 1
    # one recipient: Delivered-To; no -f: no Return-Path
    assert msgs[0].startswith(f"Delivered-To: {dt.bob}\r\nFrom: ".encode()), msgs[0][:200]
    assert msgs[0].endswith(message("hello"))
    assert dt.count(dt.alice) == 0


def test_sender_adds_return_path(dt):
    r = dt.deliver("-f", "owner-list@example.org", dt.bob, data=message("rp"))
    assert r.returncode == 0, r.stderr
    assert dt.fetch(dt.bob)[0].startswith(b"Return-Path: <owner-list@example.org>\r\n")


def test_several_users(dt):
    r = dt.deliver("-f", "a@example.org", dt.bob, dt.alice, data=message("both"))
    assert r.returncode == 0, r.stderr
    for u in (dt.bob, dt.alice):
        msgs = dt.fetch(u)
        assert len(msgs) == 1
        assert msgs[0].startswith(b"Return-Path: <a@example.org>\r\nFrom: "), msgs[0][:100]


def test_lf_converted_to_crlf(dt):
    data = b"From: a@example.org\nSubject: lf\nMessage-ID: <lf@t>\n\nline 1\nline 2\r\nline 3"
    r = dt.deliver(dt.bob, data=data)
    assert r.returncode == 0, r.stderr
    got = dt.fetch(dt.bob)[0]
    assert got.endswith(b"From: a@example.org\r\nSubject: lf\r\nMessage-ID: <lf@t>\r\n\r\n"
                        b"line 1\r\nline 2\r\nline 3\r\n"), got
    assert b"\r\r" not in got and re.search(rb"[^\r]\n", got) is None


def test_mailbox_option_follows_detail_rules(dt):
    m = dt.imap(dt.bob)
    # no such folder: INBOX
    assert dt.deliver("-m", "Lists", dt.bob, data=message("one")).returncode == 0
    assert dt.count(dt.bob) == 1
    # exists, anyone may not post: INBOX
    assert m.create("INBOX.Lists")[0] == "OK"
    assert dt.deliver("-m", "Lists", dt.bob, data=message("two")).returncode == 0
    assert dt.count(dt.bob) == 2 and dt.count(dt.bob, "INBOX.Lists") == 0
    # anyone p: the folder
    assert m.setacl("INBOX.Lists", "anyone", "p")[0] == "OK"
    assert dt.deliver("-m", "Lists", dt.bob, data=message("three")).returncode == 0
    assert dt.count(dt.bob) == 2 and dt.count(dt.bob, "INBOX.Lists") == 1
    assert dt.fetch(dt.bob, "INBOX.Lists")[0].startswith(f"Delivered-To: {dt.bob}+Lists\r\n".encode())


def test_unknown_user_67(dt):
    r = dt.deliver("nosuchuser", data=message())
    assert r.returncode == 67, r
    assert b"unknown" in r.stderr
    # one known, one unknown: 67, and the known one got it
    r = dt.deliver(dt.bob, "nosuchuser", data=message("mixed"))
    assert r.returncode == 67, r
    assert dt.count(dt.bob) == 1


def test_usage_64(dt):
    assert dt.deliver(data=message()).returncode == 64
    assert dt.deliver("-x", dt.bob, data=message()).returncode == 64
    assert dt.deliver("-m", data=message()).returncode == 64
    assert dt.count(dt.bob) == 0


def test_empty_message_65(dt):
    r = dt.deliver(dt.bob, data=b"")
    assert r.returncode == 65, r
    assert dt.count(dt.bob) == 0


def test_too_big_65(dt):
    conf = dt.conf_with(maxmessagesize="1000")
    r = dt.deliver(dt.bob, data=message(body="x" * 2000 + "\r\n"), conf=conf)
    assert r.returncode == 65, r
    assert dt.count(dt.bob) == 0


def test_store_unusable_75(dt):
    bad = os.path.join(dt.s.tmp, f"notadir-{dt.n}")
    with open(bad, "w") as f:
        f.write("a file where a directory should be\n")
    conf = dt.conf_with(configdirectory=bad)
    r = dt.deliver(dt.bob, data=message())
    assert r.returncode == 0
    r = dt.deliver(dt.bob, data=message("again"), conf=conf)
    assert r.returncode == 75, r


def test_over_quota_75_or_77(dt):
    assert dt.deliver(dt.bob, data=message("first")).returncode == 0  # INBOX exists now
    typ, data = dt.imap("admin")._simple_command("SETQUOTA", f"user.{dt.bob}", "(STORAGE 0)")
    assert typ == "OK", data
    r = dt.deliver(dt.bob, data=message("over"))
    assert r.returncode == 75, r
    assert b"over quota" in r.stderr
    r = dt.deliver(dt.bob, data=message("over"), conf=dt.conf_with(lmtp_over_quota_perm_failure="yes"))
    assert r.returncode == 77, r
    assert dt.count(dt.bob) == 1


def test_duplicate_suppression(dt):
    msg = message("dup")
    assert dt.deliver(dt.bob, data=msg).returncode == 0
    assert dt.deliver(dt.bob, data=msg).returncode == 0
    assert dt.count(dt.bob) == 1
    assert dt.deliver(dt.alice, data=msg).returncode == 0
    assert dt.count(dt.alice) == 1
    conf = dt.conf_with(duplicatesuppression="no")
    assert dt.deliver(dt.bob, data=msg, conf=conf).returncode == 0
    assert dt.count(dt.bob) == 2


def test_running_server_idle_sees_it(dt):
    dt.deliver(dt.bob, data=message("make inbox"))
    c = dt.s.raw().login(dt.bob)
    r = c.cmd("S", "SELECT INBOX")
    assert r[-1].startswith("S OK"), r
    c.send("I IDLE\r\n")
    assert c.line().startswith("+")
    r = dt.deliver(dt.bob, data=message("seen by idle"))
    assert r.returncode == 0, r.stderr
    # within one second of the deliver process having finished
    t0 = time.time()
    c.sock.settimeout(1.0)
    line = c.line()
    assert line == "* 2 EXISTS", line
    assert time.time() - t0 < 1.0
    c.sock.settimeout(15)
    c.send("DONE\r\n")
    assert c.until_tagged("I")[-1].startswith("I OK")
    c.close()
