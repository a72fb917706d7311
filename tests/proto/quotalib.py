"""Helpers shared by the quota tests: a tagged raw IMAP session, a raw LMTP
client that reads one reply per recipient, and parsers for QUOTA lines."""
import itertools
import os
import re
import socket

from conftest import RawClient, message

QUOTA_RE = re.compile(r'^\* QUOTA ("(?:[^"\\]|\\.)*"|\S+) \((.*)\)$')


def big_message(subject, size):
    """A message of exactly `size` bytes (size must leave room for headers)."""
    head = message(subject=subject, body="")
    assert len(head) + 2 <= size, (len(head), size)
    pad = size - len(head) - 2
    lines, rest = divmod(pad, 78)
    body = ("x" * 76 + "\r\n") * lines
    if rest:
        # a last line of `rest` bytes including its CRLF (rest >= 2), or
        # fold one byte into the first line
        if rest >= 2:
            body += "y" * (rest - 2) + "\r\n"
        else:
            body = "z" + body
    data = head + body.encode() + b"\r\n"
    assert len(data) == size, (len(data), size)
    return data


class Session:
    """A logged-in raw IMAP session with automatic tags."""

    def __init__(self, server, user):
        self.r = RawClient(server.imap_port)
        self.r.login(user)
        self.tags = (f"t{i}" for i in itertools.count())

    def cmd(self, text):
        return self.r.cmd(next(self.tags), text)

    def ok(self, text):
        lines = self.cmd(text)
        assert lines[-1].split(" ", 2)[1] == "OK", (text, lines)
        return lines

    def append(self, mbox, data, flags=None):
        tag = next(self.tags)
        fl = f" ({flags})" if flags else ""
        self.r.send(f"{tag} APPEND {mbox}{fl} {{{len(data)}}}\r\n".encode())
        cont = self.r.line()
        if not cont.startswith("+"):
            # refused before the literal
            return [cont] + ([] if cont.startswith(tag + " ") else self.r.until_tagged(tag))
        self.r.send(data + b"\r\n")
        return self.r.until_tagged(tag)

    def status(self, mbox, item="MESSAGES"):
        lines = self.ok(f"STATUS {mbox} ({item})")
        for line in lines:
            m = re.search(item + r" (\d+)", line)
            if line.startswith("* STATUS") and m:
                return int(m.group(1))
        raise AssertionError(lines)

    def getquota(self, root):
        lines = self.cmd(f"GETQUOTA {root}")
        return lines, parse_quotas(lines)

    def getquotaroot(self, mbox):
        lines = self.cmd(f"GETQUOTAROOT {mbox}")
        roots = [ln for ln in lines if ln.startswith("* QUOTAROOT ")]
        return lines, roots, parse_quotas(lines)

    def examine(self, mbox):
        lines = self.ok(f"EXAMINE {mbox}")
        self._exists = next(int(ln.split()[1]) for ln in lines if ln.endswith(" EXISTS"))
        return lines

    def fetch_sizes(self, mbox):
        self.examine(mbox)
        if self._exists == 0:
            return []
        lines = self.ok("FETCH 1:* (RFC822.SIZE)")
        return [int(m.group(1)) for m in (re.search(r"RFC822\.SIZE (\d+)", ln) for ln in lines) if m]

    def close(self):
        try:
            self.r.cmd("zz", "LOGOUT")
        except (ConnectionError, OSError):
            pass
        self.r.close()


def parse_quotas(lines):
    """{root: {"STORAGE": (used, limit), "MESSAGE": (used, limit)}}"""
    out = {}
    for line in lines:
        m = QUOTA_RE.match(line)
        if not m:
            continue
        root = m.group(1)
        if root.startswith('"'):
            root = root[1:-1]
        words = m.group(2).split()
        res = {}
        for i in range(0, len(words), 3):
            res[words[i]] = (int(words[i + 1]), int(words[i + 2]))
        out[root] = res
    return out


def tagged(lines):
    """("OK"|"NO"|"BAD", text) of the tagged line."""
    parts = lines[-1].split(" ", 2)
    return parts[1], parts[2] if len(parts) > 2 else ""


class Lmtp:
    """A raw LMTP client: LMTP answers once per recipient after DATA."""

    def __init__(self, server):
        self.sock = socket.create_connection(("127.0.0.1", server.lmtp_port), timeout=15)
        self.f = self.sock.makefile("rb")
        assert self.reply()[0].startswith("220")
        self.send("LHLO test.example")
        assert self.reply()[-1].startswith("250")

    def send(self, line):
        self.sock.sendall(line.encode() + b"\r\n")

    def reply(self):
        lines = []
        while True:
            ln = self.f.readline().decode().rstrip("\r\n")
            if not ln:
                raise ConnectionError("LMTP connection closed")
            lines.append(ln)
            if len(ln) < 4 or ln[3] != "-":
                return lines

    def deliver(self, rcpts, data, sender="sender@example.com"):
        """Returns (rcpt replies, data replies), one per recipient."""
        self.send(f"MAIL FROM:<{sender}>")
        assert self.reply()[-1].startswith("250")
        rr = []
        for r in rcpts:
            self.send(f"RCPT TO:<{r}>")
            rr.append(self.reply()[-1])
        accepted = sum(1 for x in rr if x.startswith("250"))
        if accepted == 0:
            self.send("RSET")
            self.reply()
            return rr, []
        self.send("DATA")
        assert self.reply()[-1].startswith("354")
        body = data.replace(b"\r\n.", b"\r\n..")
        if body.startswith(b"."):
            body = b"." + body
        if not body.endswith(b"\r\n"):
            body += b"\r\n"
        self.sock.sendall(body + b".\r\n")
        return rr, [self.reply()[-1] for _ in range(accepted)]

    def close(self):
        try:
            self.send("QUIT")
            self.reply()
        except (ConnectionError, OSError):
            pass
        self.sock.close()


def tmp_files(server):
    """Files left in the partition's tmp/ (absent until a delivery to
    several mailboxes needed it)."""
    d = os.path.join(server.settings["partition-default"], "tmp")
    return os.listdir(d) if os.path.isdir(d) else []


def spool_files(server):
    """Every file under the partition directory (tmp/ and mailbox dirs)."""
    root = server.settings["partition-default"]
    out = set()
    for d, _, files in os.walk(root):
        for f in files:
            out.add(os.path.join(d, f))
    return out
