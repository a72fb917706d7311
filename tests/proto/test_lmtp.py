"""LMTP (RFC 2033): every addressing rule and every reply, with smtplib.LMTP
and with a raw socket for pipelining and malformed input.

Rules (REFERENCE.md, LMTP): bob@dom -> INBOX; bob+Folder -> INBOX.Folder when
it exists and anyone has p, else INBOX; postuser+shared.contact ->
shared.contact when anyone has p; 550 5.7.1 when anyone may look the mailbox
up but not post; 550 5.1.1 for unknown users and for a shared mailbox anyone
may not even see. One message file for all recipients (hard links);
Return-Path always, Delivered-To only with a single recipient."""
import itertools
import os
import re
import shutil
import smtplib
import socket
import ssl
import subprocess
import tempfile
import time

import pytest

from conftest import Server, message

POSTUSER = {"postuser": "sharedboxmngr"}


class RawLMTP:
    """One LMTP connection at the line level: exact replies, pipelining,
    malformed input."""

    def __init__(self, s=None, path=None):
        if path is not None:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(15)
            self.sock.connect(path)
        else:
            self.sock = socket.create_connection(("127.0.0.1", s.lmtp_port), timeout=15)
        self.buf = b""
        self.greeting = self.reply()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("closed; got so far: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def reply(self):
        """One (possibly multi-line) reply as a list of lines."""
        lines = [self.line()]
        while len(lines[-1]) >= 4 and lines[-1][3] == "-":
            lines.append(self.line())
        return lines

    def cmd(self, text):
        self.send(text + "\r\n")
        return self.reply()

    def one(self, text):
        r = self.cmd(text)
        assert len(r) == 1, r
        return r[0]

    def start(self, frm="<sender@example.com>", rcpts=()):
        assert self.cmd("LHLO client.example.com")[-1].startswith("250 ")
        assert self.one(f"MAIL FROM:{frm}").startswith("250 ")
        return [self.one(f"RCPT TO:<{r}>") for r in rcpts]

    def data(self, body, nreplies):
        assert self.one("DATA").startswith("354")
        self.send(body + b".\r\n")
        return [self.line() for _ in range(nreplies)]

    def closed(self, timeout=5):
        self.sock.settimeout(timeout)
        try:
            while True:
                chunk = self.sock.recv(65536)
                if not chunk:
                    return True
                self.buf += chunk
        except socket.timeout:
            return False
        except OSError:
            return True

    def close(self):
        self.sock.close()


def session(s, user):
    """A logged-in IMAP session per user, kept for the server's lifetime
    (logins hash passwords: slow under the sanitizers)."""
    cache = s.__dict__.setdefault("_sessions", {})
    if user not in cache:
        cache[user] = s.imap(user)
    return cache[user]


def count(s, user, mailbox="INBOX"):
    typ, data = session(s, user).status(mailbox, "(MESSAGES)")
    assert typ == "OK", data
    return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))


def fetch_all(s, user, mailbox="INBOX"):
    """Every message's full text, in UID order."""
    m = session(s, user)
    typ, data = m.select(mailbox, readonly=True)
    assert typ == "OK", data
    if int(data[0]) == 0:
        return []
    typ, data = m.fetch("1:*", "(BODY.PEEK[])")
    assert typ == "OK", data
    return [d[1] for d in data if isinstance(d, tuple)]


def send(s, rcpts, msg, frm="sender@example.com"):
    with s.lmtp() as l:
        return l.sendmail(frm, rcpts, msg)


def spool_files(s):
    """Message files in mailbox directories (partition/XX/UNIQUEID/GUID)
    and temporary ones (partition/tmp/...)."""
    root = s.settings["partition-default"]
    boxes, tmps = [], []
    for dirpath, _, files in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        for f in files:
            if f in ("mailbox.meta", "mailbox.journal"):
                continue  # the mailbox's own records, not messages
            p = os.path.join(dirpath, f)
            (tmps if rel.split(os.sep)[0] == "tmp" else boxes).append(p)
    return boxes, tmps


def make_shared(s, name, acl, reader="bob"):
    """A shared mailbox as in the seed: `reader` may do everything, anyone
    has `acl` (None: nothing at all)."""
    m = session(s, "admin")
    assert m.create(name)[0] == "OK"
    assert m.setacl(name, reader, "lrswipcd")[0] == "OK"
    if acl is None:
        assert m.deleteacl(name, "anyone")[0] == "OK"
    else:
        assert m.setacl(name, "anyone", acl)[0] == "OK"


def set_quota(s, user, kb):
    session(s, user)  # the INBOX comes on first login (autocreate)
    typ, data = session(s, "admin")._simple_command("SETQUOTA", f"user.{user}", f"(STORAGE {kb})")
    assert typ == "OK", data


@pytest.fixture(scope="module")
def module_server():
    """One server (postuser set) for the tests that need no configuration of
    their own; each test gets fresh users from `lt`."""
    tmp = tempfile.mkdtemp(prefix="agora-test-")
    s = Server(tmp, POSTUSER, users=("admin",))
    s.start()
    yield s
    rc = s.stop()
    log = s.log_text()
    shutil.rmtree(tmp, ignore_errors=True)
    assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log[-4000:]
    assert rc == 0, log[-3000:]


_serial = itertools.count(1)


class LT:
    def __init__(self, s):
        n = next(_serial)
        self.s, self.n = s, n
        self.bob, self.alice = f"bob{n}", f"alice{n}"
        for u in (self.bob, self.alice):
            s.agora("user", "add", u, input=f"{u}pw\n")

    def addr(self, user, detail=None):
        return f"{user}{'+' + detail if detail else ''}@example.com"


@pytest.fixture
def lt(module_server):
    return LT(module_server)


# --- LHLO and simple commands ---------------------------------------------

def test_lhlo_capabilities(make_server):
    s = make_server(conf={"maxmessagesize": "5000"})
    with s.lmtp() as l:
        code, _ = l.ehlo("client.example.com")  # LMTP sends LHLO
        assert code == 250
        f = l.esmtp_features
        for cap in ("pipelining", "enhancedstatuscodes", "8bitmime"):
            assert cap in f, f
        assert f["size"] == "5000", f
    r = RawLMTP(s)
    assert r.greeting[0].startswith("220 "), r.greeting
    lines = r.cmd("LHLO x")
    assert [ln[4:] for ln in lines[1:]] == ["PIPELINING", "ENHANCEDSTATUSCODES", "8BITMIME", "CHUNKING",
                                             "SIZE 5000"]
    assert all(ln.startswith("250-") for ln in lines[:-1]) and lines[-1].startswith("250 ")
    r.close()


def test_rset_noop_quit_vrfy(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    r = RawLMTP(s)
    assert r.start(rcpts=[f"{bob}@example.com"]) == ["250 2.1.5 OK"]
    assert r.one("NOOP").startswith("250 2.0.0")
    assert r.one("RSET").startswith("250 2.0.0")
    # the transaction is gone: no recipients, no sender
    assert r.one("DATA").startswith("503 5.5.1")
    assert r.one(f"RCPT TO:<{bob}@example.com>").startswith("503 5.5.1")
    assert r.one("MAIL FROM:<a@example.com>").startswith("250")
    assert r.one("VRFY bob").startswith("252 2.5.2")
    assert r.one("QUIT").startswith("221 2.0.0")
    assert r.closed()
    assert count(s, bob) == 0


# --- addressing rules ------------------------------------------------------

def test_user_to_inbox(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    assert send(s, [f"{bob}@example.com"], message("to inbox")) == {}
    msgs = fetch_all(s, bob)
    assert len(msgs) == 1 and b"Subject: to inbox" in msgs[0]
    assert count(s, alice) == 0


def test_detail_to_folder_only_with_anyone_p(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    m = s.imap(bob)
    # no INBOX.Lists yet: INBOX
    send(s, [f"{bob}+Lists@example.com"], message("one"))
    assert count(s, bob) == 1
    # INBOX.Lists exists, anyone may not post: still INBOX
    assert m.create("INBOX.Lists")[0] == "OK"
    send(s, [f"{bob}+Lists@example.com"], message("two"))
    assert count(s, bob) == 2 and count(s, bob, "INBOX.Lists") == 0
    # anyone may look it up but not post: INBOX
    assert m.setacl("INBOX.Lists", "anyone", "lr")[0] == "OK"
    send(s, [f"{bob}+Lists@example.com"], message("three"))
    assert count(s, bob) == 3 and count(s, bob, "INBOX.Lists") == 0
    # anyone p: INBOX.Lists
    assert m.setacl("INBOX.Lists", "anyone", "p")[0] == "OK"
    send(s, [f"{bob}+Lists@example.com"], message("four"))
    assert count(s, bob) == 3 and count(s, bob, "INBOX.Lists") == 1
    msgs = fetch_all(s, bob, "INBOX.Lists")
    assert b"Subject: four" in msgs[0]
    assert f"Delivered-To: {bob}+Lists@example.com\r\n".encode() in msgs[0]
    # a folder that does not exist under an existing user: INBOX, not an error
    send(s, [f"{bob}+Nope@example.com"], message("five"))
    assert count(s, bob) == 4
    m.logout()


def test_postuser_shared_mailbox_anyone_p(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    # exactly the seed's setup: `setaclmailbox shared.contact anyone p`
    make_shared(s, f"shared.contact{n}", "p", bob)
    assert send(s, [f"sharedboxmngr+shared.contact{n}@example.com"], message("contact")) == {}
    assert count(s, bob, f"shared.contact{n}") == 1
    assert count(s, bob) == 0


def test_postuser_shared_mailbox_anyone_lrp(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    make_shared(s, f"shared.contact{n}", "lrp", bob)
    send(s, [f"sharedboxmngr+shared.contact{n}@example.com"], message("contact"))
    msgs = fetch_all(s, bob, f"shared.contact{n}")
    assert len(msgs) == 1
    assert f"Delivered-To: sharedboxmngr+shared.contact{n}@example.com\r\n".encode() in msgs[0]


def test_postuser_permission_denied_and_invisible(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    make_shared(s, f"shared.seen{n}", "lr", bob)        # may look up, may not post
    make_shared(s, f"shared.hidden{n}", None, bob)      # anyone has nothing
    make_shared(s, f"shared.onlyread{n}", "r", bob)     # no l, no p
    r = RawLMTP(s)
    replies = r.start(rcpts=[f"sharedboxmngr+shared.seen{n}@example.com",
                             f"sharedboxmngr+shared.hidden{n}@example.com",
                             f"sharedboxmngr+shared.onlyread{n}@example.com",
                             f"sharedboxmngr+shared.nonexistent{n}@example.com",
                             "nosuchuser@example.com",
                             "sharedboxmngr@example.com",
                             f"sharedboxmngr+user.{bob}@example.com"])
    assert replies[0] == "550 5.7.1 Permission denied"
    # invisible answers exactly like nonexistent
    assert replies[1:] == ["550 5.1.1 User unknown"] * 6, replies
    r.close()


def test_postuser_not_configured(server):
    make_shared(server, "shared.contact", "lrp")
    r = RawLMTP(server)
    assert r.start(rcpts=["sharedboxmngr+shared.contact@example.com"]) == ["550 5.1.1 User unknown"]
    r.close()


def test_unknown_user(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    with s.lmtp() as l:
        with pytest.raises(smtplib.SMTPRecipientsRefused) as e:
            l.sendmail("a@example.com", ["nobody@example.com"], message())
        code, text = e.value.recipients["nobody@example.com"]
        assert (code, text) == (550, b"5.1.1 User unknown")


# --- transactions ----------------------------------------------------------

def test_mixed_recipients_one_reply_each_in_order(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    make_shared(s, f"shared.contact{n}", "p", bob)
    set_quota(s, alice, 0)
    r = RawLMTP(s)
    replies = r.start(rcpts=[f"{bob}@example.com", "nobody@example.com", f"{alice}@example.com",
                             f"sharedboxmngr+shared.contact{n}@example.com", f"{bob}+Lists@example.com"])
    assert replies == ["250 2.1.5 OK", "550 5.1.1 User unknown", "250 2.1.5 OK",
                       "250 2.1.5 OK", "250 2.1.5 OK"]
    got = r.data(message("mixed"), 4)
    assert got[0].startswith(f"250 2.1.5 <{bob}@example.com>"), got
    assert got[1] == f"452 4.2.2 <{alice}@example.com> Over quota", got
    assert got[2].startswith(f"250 2.1.5 <sharedboxmngr+shared.contact{n}@example.com>"), got
    assert got[3].startswith(f"250 2.1.5 <{bob}+Lists@example.com>"), got
    assert r.one("QUIT").startswith("221")
    # bob twice (bob and bob+Lists both go to INBOX): one copy, duplicate suppressed
    assert count(s, bob) == 1
    assert count(s, alice) == 0
    assert count(s, bob, f"shared.contact{n}") == 1


def test_over_quota_permanent(make_server):
    s = make_server(conf={"lmtp_over_quota_perm_failure": "yes"})
    set_quota(s, "bob", 0)
    r = RawLMTP(s)
    r.start(rcpts=["bob@example.com"])
    assert r.data(message(), 1) == ["552 5.2.2 <bob@example.com> Over quota"]
    r.close()


def test_duplicate_suppression(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    msg = message("dup")
    assert send(s, [f"{bob}@example.com"], msg) == {}
    before = spool_files(s)
    assert send(s, [f"{bob}@example.com"], msg) == {}
    assert count(s, bob) == 1
    # the second copy's file, written before the store knew, is gone again
    assert spool_files(s) == before
    # to two different mailboxes: stored in each
    assert send(s, [f"{alice}@example.com"], msg) == {}
    assert count(s, alice) == 1
    r = RawLMTP(s)
    r.start(rcpts=[f"{bob}@example.com", f"{alice}@example.com"])
    got = r.data(msg, 2)
    assert all(g.startswith("250 2.1.5") for g in got), got
    r.close()
    assert count(s, bob) == 1 and count(s, alice) == 1
    # a different Message-ID is a different message
    send(s, [f"{bob}@example.com"], message("other"))
    assert count(s, bob) == 2


def test_duplicate_suppression_off(make_server):
    s = make_server(conf={"duplicatesuppression": "no"})
    msg = message("dup")
    send(s, ["bob@example.com"], msg)
    send(s, ["bob@example.com"], msg)
    assert count(s, "bob") == 2


def test_one_file_for_all_recipients(make_server):
    s = make_server(conf=POSTUSER)
    make_shared(s, "shared.contact", "p")
    r = RawLMTP(s)
    r.start(rcpts=["bob@example.com", "alice@example.com", "sharedboxmngr+shared.contact@example.com"])
    got = r.data(message("three"), 3)
    assert all(g.startswith("250 2.1.5") for g in got), got
    r.close()
    boxes, tmps = spool_files(s)
    assert tmps == []
    assert len(boxes) == 3, boxes
    st = [os.stat(p) for p in boxes]
    assert len({os.path.dirname(p) for p in boxes}) == 3  # three mailbox directories
    assert len({(x.st_dev, x.st_ino) for x in st}) == 1, boxes
    assert all(x.st_nlink == 3 for x in st)
    # Return-Path always, Delivered-To only with one recipient
    for user, box in (("bob", "INBOX"), ("alice", "INBOX"), ("bob", "shared.contact")):
        msgs = fetch_all(s, user, box)
        assert msgs[0].startswith(b"Return-Path: <sender@example.com>\r\n"), msgs[0][:200]
        assert b"Delivered-To:" not in msgs[0]


def test_return_path_and_delivered_to_single(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    send(s, [f"{bob}@example.com"], message("single"), frm="list-bounces@example.org")
    msg = fetch_all(s, bob)[0]
    assert msg.startswith(f"Return-Path: <list-bounces@example.org>\r\nDelivered-To: {bob}@example.com\r\n".encode())
    # the null sender
    r = RawLMTP(s)
    r.start(frm="<>", rcpts=[f"{alice}@example.com"])
    assert r.data(message("bounce"), 1)[0].startswith("250")
    r.close()
    assert fetch_all(s, alice)[0].startswith(b"Return-Path: <>\r\n")


# --- malformed input -------------------------------------------------------

def test_command_order_and_syntax(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    r = RawLMTP(s)
    assert r.one("MAIL FROM:<a@example.com>").startswith("503 5.5.1")
    assert r.one(f"RCPT TO:<{bob}@example.com>").startswith("503 5.5.1")
    assert r.one("DATA").startswith("503 5.5.1")
    assert r.one("LHLO").startswith("501")
    assert r.cmd("LHLO x")[-1].startswith("250 ")
    assert r.one(f"RCPT TO:<{bob}@example.com>").startswith("503 5.5.1")
    assert r.one("DATA").startswith("503 5.5.1")
    assert r.one("MAIL FROM:a@example.com").startswith("501")
    assert r.one("MAIL FROM:<a b@example.com>").startswith("501")
    assert r.one("MAIL TO:<a@example.com>").startswith("501")
    assert r.one("MAIL FROM:<a@example.com>").startswith("250")
    assert r.one("MAIL FROM:<a@example.com>").startswith("503 5.5.1")
    assert r.one("DATA").startswith("503 5.5.1")  # no recipient yet
    assert r.one(f"RCPT TO:{bob}@example.com").startswith("501")
    assert r.one(f"RCPT TO:<{bob}@example.com").startswith("501")
    assert r.one("RCPT TO:<@example.com>").startswith("501")
    assert r.one(f"RCPT FROM:<{bob}@example.com>").startswith("501")
    assert r.one("HELO x").startswith("500 5.5.2")
    assert r.one("EHLO x").startswith("500 5.5.2")
    assert r.one("FOO").startswith("500 5.5.2")
    assert r.one("").startswith("500 5.5.2")
    # the session still works
    assert r.one(f"RCPT TO:<{bob}@example.com>") == "250 2.1.5 OK"
    assert r.data(message(), 1)[0].startswith("250 2.1.5")
    r.close()
    assert count(s, bob) == 1


def test_overlong_command_line(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    r = RawLMTP(s)
    r.cmd("LHLO x")
    assert r.one("NOOP " + "A" * 5000).startswith("500 5.5.2")
    r.close()
    # a line that never ends: refused and the connection closed
    r = RawLMTP(s)
    r.send(b"NOOP " + b"A" * 100000)
    assert r.line().startswith("500 5.5.2")
    assert r.closed()


def test_message_too_big(make_server):
    s = make_server(conf={"maxmessagesize": "2000"})
    r = RawLMTP(s)
    r.start(rcpts=["bob@example.com", "alice@example.com"])
    got = r.data(message(body="x" * 70 + "\r\n") + (b"y" * 70 + b"\r\n") * 40, 2)
    assert got == ["552 5.3.4 <bob@example.com> Message too big",
                   "552 5.3.4 <alice@example.com> Message too big"]
    # the session goes on: a small one is accepted
    r.start(rcpts=["bob@example.com"])
    assert r.data(message("small"), 1)[0].startswith("250")
    # SIZE= announced over the limit: refused at MAIL
    assert r.one("MAIL FROM:<a@example.com> SIZE=2001").startswith("552 5.3.4")
    assert r.one("MAIL FROM:<a@example.com> SIZE=1999 BODY=8BITMIME").startswith("250")
    r.close()
    assert count(s, "bob") == 1 and count(s, "alice") == 0
    boxes, tmps = spool_files(s)
    assert len(boxes) == 1 and tmps == []
    # smtplib announces SIZE= from the LHLO reply and is refused at MAIL
    with s.lmtp() as l:
        with pytest.raises(smtplib.SMTPSenderRefused) as e:
            l.sendmail("a@example.com", ["bob@example.com"], message(body="z" * 3000 + "\r\n"))
        assert e.value.smtp_code == 552


# --- message content -------------------------------------------------------

def test_dot_stuffing_round_trip(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    body = ".leading dot\r\n..two dots\r\n.\r\n. space\r\nend\r\n"
    msg = message("dots", body=body)
    # smtplib stuffs the dots; the s must unstuff them
    send(s, [f"{bob}@example.com"], msg)
    r = RawLMTP(s)
    r.start(rcpts=[f"{alice}@example.com"])
    stuffed = re.sub(rb"(?m)^\.", b"..", msg)
    assert r.data(stuffed, 1)[0].startswith("250")
    r.close()
    for user in (bob, alice):
        got = fetch_all(s, user)[0]
        assert got.endswith(msg), got


def test_8bit_body(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    body = "Grüße aus Köln, ça va? \u65e5\u672c\r\n".encode("utf-8")
    msg = message("eight").replace(b"Hello\r\n", b"") + body + b"\xff\xfe raw bytes\r\n"
    r = RawLMTP(s)
    r.start(rcpts=[f"{bob}@example.com"])
    assert r.one("RSET").startswith("250")
    assert r.one("MAIL FROM:<a@example.com> BODY=8BITMIME").startswith("250")
    assert r.one(f"RCPT TO:<{bob}@example.com>").startswith("250")
    assert r.data(msg, 1)[0].startswith("250")
    r.close()
    assert fetch_all(s, bob)[0].endswith(msg)


def test_bare_lf_lines_stored_as_crlf(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    r = RawLMTP(s)
    r.start(rcpts=[f"{bob}@example.com"])
    assert r.one("DATA").startswith("354")
    r.send(b"Subject: lf\nMessage-ID: <lf@test>\n\nline one\nline two\n.\n")
    assert r.line().startswith("250")
    r.close()
    got = fetch_all(s, bob)[0]
    assert got.endswith(b"Subject: lf\r\nMessage-ID: <lf@test>\r\n\r\nline one\r\nline two\r\n"), got


def test_dropped_in_data_stores_nothing(server):
    r = RawLMTP(server)
    r.start(rcpts=["bob@example.com", "alice@example.com"])
    assert r.one("DATA").startswith("354")
    r.send(message("cut") + b"more body\r\n" * 1000)
    r.close()
    # the server notices the drop; give it a moment, then nothing is there
    time.sleep(0.5)
    assert count(server, "bob") == 0 and count(server, "alice") == 0
    boxes, tmps = spool_files(server)
    assert boxes == [] and tmps == [], (boxes, tmps)
    # also when cut right after the terminating dot's first byte
    r = RawLMTP(server)
    r.start(rcpts=["bob@example.com"])
    assert r.one("DATA").startswith("354")
    r.send(message("cut2") + b".")
    r.close()
    time.sleep(0.5)
    assert count(server, "bob") == 0
    assert spool_files(server) == ([], [])


# --- pipelining, transports, IDLE ------------------------------------------

def test_pipelining_all_in_one_write(lt):
    s, bob, alice = lt.s, lt.bob, lt.alice
    r = RawLMTP(s)
    msg = message("piped")
    r.send(f"LHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<{bob}@example.com>\r\n".encode()
           + f"RCPT TO:<nobody@example.com>\r\nRCPT TO:<{alice}@example.com>\r\nDATA\r\n".encode()
           + msg + f".\r\nNOOP\r\nMAIL FROM:<b@example.com>\r\nRCPT TO:<{bob}@example.com>\r\n".encode()
           + b"RSET\r\nQUIT\r\n")
    assert r.reply()[-1].startswith("250 ")          # LHLO
    assert r.line() == "250 2.1.0 OK"                # MAIL
    assert r.line() == "250 2.1.5 OK"                # RCPT bob
    assert r.line() == "550 5.1.1 User unknown"      # RCPT nobody
    assert r.line() == "250 2.1.5 OK"                # RCPT alice
    assert r.line().startswith("354")                # DATA
    assert r.line().startswith(f"250 2.1.5 <{bob}@example.com>")
    assert r.line().startswith(f"250 2.1.5 <{alice}@example.com>")
    assert r.line().startswith("250 2.0.0")          # NOOP
    assert r.line() == "250 2.1.0 OK"                # MAIL
    assert r.line() == "250 2.1.5 OK"                # RCPT
    assert r.line().startswith("250 2.0.0")          # RSET
    assert r.line().startswith("221")                # QUIT
    assert r.closed()
    assert count(s, bob) == 1 and count(s, alice) == 1


def test_unix_socket(make_server):
    s = make_server(start=False)
    path = os.path.join(s.tmp, "lmtp.sock")
    s.settings["lmtp_listen"] = f"127.0.0.1:{s.lmtp_port} {path}"
    s.write_conf()
    s.start()
    end = time.time() + 10
    while not os.path.exists(path) and time.time() < end:
        time.sleep(0.05)
    with smtplib.LMTP(path, timeout=15) as l:
        assert l.sendmail("a@example.com", ["bob@example.com"], message("unix")) == {}
    r = RawLMTP(path=path)
    assert r.greeting[0].startswith("220")
    r.start(rcpts=["alice@example.com"])
    assert r.data(message("unix2"), 1)[0].startswith("250")
    r.close()
    assert count(s, "bob") == 1 and count(s, "alice") == 1


def test_unix_socket_only(make_server):
    s = make_server(start=False)
    path = os.path.join(s.tmp, "only.sock")
    s.settings["lmtp_listen"] = path
    s.write_conf()
    s.start()
    end = time.time() + 10
    while not os.path.exists(path) and time.time() < end:
        time.sleep(0.05)
    with smtplib.LMTP(path, timeout=15) as l:
        assert l.sendmail("a@example.com", ["bob@example.com"], message("unix")) == {}
    assert count(s, "bob") == 1


def test_idle_sees_delivery_within_a_second(lt):
    s, bob, alice, n = lt.s, lt.bob, lt.alice, lt.n
    c = s.raw().login(bob)
    r = c.cmd("S", "SELECT INBOX")
    assert r[-1].startswith("S OK"), r
    c.send("I IDLE\r\n")
    assert c.line().startswith("+")
    t0 = time.time()
    send(s, [f"{bob}@example.com"], message("idle"))
    c.sock.settimeout(1.0)
    line = c.line()
    elapsed = time.time() - t0
    assert line == "* 1 EXISTS", line
    assert elapsed < 1.0, elapsed
    c.sock.settimeout(15)
    c.send("DONE\r\n")
    assert c.until_tagged("I")[-1].startswith("I OK")
    c.close()


# --- STARTTLS (RFC 3207) ---------------------------------------------------

def make_cert(d):
    cert, key = os.path.join(d, "lmtp.crt"), os.path.join(d, "lmtp.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def no_verify():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@pytest.fixture(scope="module")
def tls_server():
    tmp = tempfile.mkdtemp(prefix="agora-test-")
    cert, key = make_cert(tmp)
    s = Server(tmp, {"tls_server_cert": cert, "tls_server_key": key, "allowplaintext": "yes"}, users=("admin", "bob"))
    s.start()
    yield s
    rc = s.stop()
    log = s.log_text()
    shutil.rmtree(tmp, ignore_errors=True)
    assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log[-4000:]
    assert rc == 0, log[-3000:]


def test_starttls_with_smtplib(tls_server):
    s = tls_server
    with s.lmtp() as l:
        l.ehlo("x")
        assert l.has_extn("starttls")
        code, _ = l.starttls(context=no_verify())
        assert code == 220
        assert isinstance(l.sock, ssl.SSLSocket)
        l.ehlo("x")  # LHLO again
        assert not l.has_extn("starttls") and l.has_extn("pipelining")
        assert l.sendmail("a@example.com", ["bob@example.com"], message("over tls")) == {}
    assert any(b"Subject: over tls" in m for m in fetch_all(s, "bob"))


def test_starttls_session_starts_over(tls_server):
    r = RawLMTP(tls_server)
    assert "250-STARTTLS" in r.cmd("LHLO x")
    assert r.one("STARTTLS extra").startswith("501")
    assert r.one("MAIL FROM:<a@example.com>").startswith("250")
    assert r.one("STARTTLS") == "220 2.0.0 Ready to start TLS"
    r.sock = no_verify().wrap_socket(r.sock, server_hostname="localhost")
    # LHLO is required again, and the MAIL before STARTTLS is forgotten
    assert r.one("RCPT TO:<bob@example.com>").startswith("503 5.5.1")
    assert r.one("MAIL FROM:<a@example.com>").startswith("503 5.5.1")
    lines = r.cmd("LHLO x")
    assert lines[-1].startswith("250 ") and not any("STARTTLS" in ln for ln in lines)
    assert r.one("STARTTLS").startswith("503 5.5.1")
    assert r.one("MAIL FROM:<a@example.com>").startswith("250")
    assert r.one("RCPT TO:<bob@example.com>").startswith("250")
    assert r.data(message("tls raw"), 1)[0].startswith("250 2.1.5")
    assert r.one("QUIT").startswith("221")  # the last reply arrives over TLS
    assert r.closed()


def test_starttls_discards_pipelined_plaintext(tls_server):
    r = RawLMTP(tls_server)
    r.cmd("LHLO x")
    r.send(b"STARTTLS\r\nLHLO evil\r\nMAIL FROM:<evil@example.com>\r\nRCPT TO:<bob@example.com>\r\n")
    assert r.line() == "220 2.0.0 Ready to start TLS"
    # nothing else in plaintext: at most the start of a TLS record
    r.sock.settimeout(0.5)
    try:
        extra = r.sock.recv(4096, socket.MSG_PEEK)
    except socket.timeout:
        extra = b""
    assert extra == b"" or extra[:1] == b"\x16", extra
    assert r.buf == b""
    r.sock.settimeout(10)
    r.sock = no_verify().wrap_socket(r.sock, server_hostname="localhost")
    # none of the injected commands ran: no LHLO, no MAIL
    assert r.one("MAIL FROM:<a@example.com>").startswith("503 5.5.1")
    assert r.one("RCPT TO:<bob@example.com>").startswith("503 5.5.1")
    assert r.cmd("LHLO x")[-1].startswith("250 ")
    assert r.one("NOOP").startswith("250")
    r.close()


def test_starttls_not_configured(lt):
    r = RawLMTP(lt.s)
    assert not any("STARTTLS" in ln for ln in r.cmd("LHLO x"))
    assert r.one("STARTTLS").startswith("502 5.5.1")
    assert r.one("NOOP").startswith("250")
    r.close()


# --- CHUNKING (RFC 3030) ---------------------------------------------------

def test_bdat_chunks_verbatim(lt):
    s, bob, alice = lt.s, lt.bob, lt.alice
    r = RawLMTP(s)
    assert "250-CHUNKING" in r.cmd("LHLO x")
    r.start(rcpts=[f"{bob}@example.com", "nobody@example.com", f"{alice}@example.com"])
    msg = message("chunked", body=".not stuffed\r\n\r\n.\r\nafter a lone dot\r\n")
    a, b = msg[:37], msg[37:]
    r.send(f"BDAT {len(a)}\r\n".encode() + a)
    assert r.line() == f"250 2.0.0 {len(a)} octets received"
    assert r.one("DATA").startswith("503 5.5.1")  # no DATA once BDAT began
    r.send(f"BDAT {len(b)}\r\n".encode() + b)
    assert r.line() == f"250 2.0.0 {len(msg)} octets received"
    # LAST: one reply per accepted recipient, in order
    assert r.one("BDAT 0 LAST").startswith(f"250 2.1.5 <{bob}@example.com>")
    assert r.line().startswith(f"250 2.1.5 <{alice}@example.com>")
    assert r.one("NOOP").startswith("250")
    r.close()
    for u in (bob, alice):
        got = fetch_all(s, u)
        assert len(got) == 1 and got[0].endswith(msg), got
        assert got[0].startswith(b"Return-Path: <sender@example.com>\r\nFrom:")


def test_bdat_pipelined_single_last(lt):
    s, bob = lt.s, lt.bob
    r = RawLMTP(s)
    msg = message("one chunk")
    r.send(f"LHLO x\r\nMAIL FROM:<a@example.com>\r\nRCPT TO:<{bob}@example.com>\r\n"
           f"BDAT {len(msg)} LAST\r\n".encode() + msg + b"QUIT\r\n")
    assert r.reply()[-1].startswith("250 ")
    assert r.line() == "250 2.1.0 OK"
    assert r.line() == "250 2.1.5 OK"
    assert r.line().startswith(f"250 2.1.5 <{bob}@example.com>")
    assert r.line().startswith("221")
    assert fetch_all(s, bob)[0].endswith(msg)
    assert fetch_all(s, bob)[0].startswith(f"Return-Path: <a@example.com>\r\nDelivered-To: {bob}@example.com\r\n".encode())


def test_bdat_bare_lf_and_refusals(lt):
    s, bob = lt.s, lt.bob
    r = RawLMTP(s)
    r.cmd("LHLO x")
    # refused chunks are still read whole: their bytes are never commands
    chunk = b"QUIT\r\nRSET\r\n"
    r.send(f"BDAT {len(chunk)}\r\n".encode() + chunk)
    assert r.line().startswith("503 5.5.1")
    assert r.one("MAIL FROM:<a@example.com>").startswith("250")
    r.send(f"BDAT {len(chunk)} LAST\r\n".encode() + chunk)
    assert r.line().startswith("503 5.5.1")
    assert r.one(f"RCPT TO:<{bob}@example.com>").startswith("250")
    msg = b"Subject: lf\nMessage-ID: <bdat-lf@t>\n\nbody\n"
    r.send(f"BDAT {len(msg)} LAST\r\n".encode() + msg)
    assert r.line().startswith("250 2.1.5")
    assert fetch_all(s, bob)[0].endswith(b"Subject: lf\r\nMessage-ID: <bdat-lf@t>\r\n\r\nbody\r\n")
    # a size that is not a number: the stream cannot be followed, closed
    assert r.one("BDAT ten LAST").startswith("501 5.5.4")
    assert r.closed()


def test_bdat_too_big_and_dropped(make_server):
    s = make_server(conf={"maxmessagesize": "2000"})
    r = RawLMTP(s)
    r.start(rcpts=["bob@example.com", "alice@example.com"])
    big = message(body="x" * 1500 + "\r\n")
    for _ in range(2):
        r.send(f"BDAT {len(big)}\r\n".encode() + big)
        assert r.line().startswith("250 2.0.0")
    assert r.one("BDAT 0 LAST") == "552 5.3.4 <bob@example.com> Message too big"
    assert r.line() == "552 5.3.4 <alice@example.com> Message too big"
    # cut in the middle of a chunk: nothing stored
    r.start(rcpts=["bob@example.com"])
    small = message("cut")
    r.send(f"BDAT {len(small) + 100} LAST\r\n".encode() + small)
    r.close()
    time.sleep(0.5)
    assert count(s, "bob") == 0 and count(s, "alice") == 0
    assert spool_files(s) == ([], [])
