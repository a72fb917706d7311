"""A byte-exact IMAP client for the protocol tests: reads responses with
their literals (`{n}`, `~{n}`) and parses them into Python values so tests
can assert exact response data.

Parsed values: atoms (and numbers) are `str`, quoted strings and literals
are `bytes`, NIL is `None`, parenthesised lists are `list`. An atom with a
bracketed part (`BODY[HEADER.FIELDS (A B)]<0>`) is one atom.
"""
import re
import socket
import time


class ParseError(Exception):
    pass


def parse(data, pos=0, end_char=None):
    """Parses `data` (bytes) from pos into a list of values."""
    out = []
    n = len(data)
    while pos < n:
        c = data[pos:pos + 1]
        if c == b" ":
            pos += 1
        elif c == b"(":
            lst, pos = parse(data, pos + 1, b")")
            out.append(lst)
        elif c == b")":
            if end_char != b")":
                raise ParseError(f"unexpected ) at {pos} in {data!r}")
            return out, pos + 1
        elif c == b'"':
            pos += 1
            s = bytearray()
            while True:
                if pos >= n:
                    raise ParseError(f"unterminated string in {data!r}")
                ch = data[pos:pos + 1]
                if ch == b"\\":
                    s += data[pos + 1:pos + 2]
                    pos += 2
                elif ch == b'"':
                    pos += 1
                    break
                else:
                    s += ch
                    pos += 1
            out.append(bytes(s))
        elif c in (b"{", b"~") and re.match(rb"~?\{(\d+)\+?\}\r\n", data[pos:]):
            m = re.match(rb"~?\{(\d+)\+?\}\r\n", data[pos:])
            size = int(m.group(1))
            start = pos + m.end()
            out.append(bytes(data[start:start + size]))
            pos = start + size
        else:
            start = pos
            depth = 0
            while pos < n:
                ch = data[pos:pos + 1]
                if ch == b"[":
                    depth += 1
                elif ch == b"]":
                    depth -= 1
                elif depth == 0 and ch in (b" ", b"(", b")"):
                    if ch == b"(" and pos > start:
                        raise ParseError(f"( inside atom at {pos} in {data!r}")
                    break
                pos += 1
            atom = data[start:pos].decode("utf-8", "replace")
            out.append(None if atom.upper() == "NIL" else atom)
    if end_char is not None:
        raise ParseError(f"missing {end_char!r} in {data!r}")
    return out, pos


def parse_all(data):
    return parse(data)[0]


class Response:
    """One response: `raw` bytes (literals included, final CRLF removed) and
    `tokens` as parsed."""

    def __init__(self, raw):
        self.raw = raw
        try:
            self.tokens = parse_all(raw)
        except ParseError:
            # status responses carry free text that need not parse
            self.tokens = [x.decode("utf-8", "replace") for x in raw.split(b" ", 2)]
        self.text = raw.decode("utf-8", "replace")

    def __repr__(self):
        return f"Response({self.raw!r})"


class Wire:
    def __init__(self, port, timeout=15):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=timeout)
        self.buf = b""
        self.ntag = 0
        self.greeting = self.read()

    # -- input
    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed; unread: %r" % self.buf)
        self.buf += chunk

    def read(self):
        """One complete response, literals included."""
        raw = b""
        while True:
            while b"\r\n" not in self.buf:
                self._fill()
            line, self.buf = self.buf.split(b"\r\n", 1)
            raw += line
            m = re.search(rb"~?\{(\d+)\}$", line)
            if not m:
                return Response(raw)
            size = int(m.group(1))
            while len(self.buf) < size:
                self._fill()
            raw += b"\r\n" + self.buf[:size]
            self.buf = self.buf[size:]

    def read_until_tagged(self, tag):
        untagged = []
        while True:
            r = self.read()
            if r.raw.startswith(tag.encode() + b" "):
                return untagged, r
            untagged.append(r)

    def pending(self, wait=0.3):
        """Responses that arrive within `wait` seconds without a command."""
        out = []
        end = time.time() + wait
        while True:
            left = end - time.time()
            if left <= 0 and b"\r\n" not in self.buf:
                return out
            if b"\r\n" not in self.buf:
                self.sock.settimeout(max(left, 0.01))
                try:
                    self._fill()
                except socket.timeout:
                    pass
                finally:
                    self.sock.settimeout(15)
                continue
            out.append(self.read())

    # -- output
    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def tag(self):
        self.ntag += 1
        return f"t{self.ntag}"

    def cmd(self, text):
        """Sends `tag text` and returns (untagged responses, tagged one).
        `text` may be str or bytes, or a list of pieces where each bytes
        piece after the first is sent as a synchronizing literal."""
        tag = self.tag()
        if isinstance(text, list):
            first, *lits = text
            if isinstance(first, str):
                first = first.encode()
            self.send(tag.encode() + b" " + first)
            for i, piece in enumerate(lits):
                if isinstance(piece, str):
                    piece = piece.encode()
                if i % 2 == 0:
                    self.send(b"{%d}\r\n" % len(piece))
                    r = self.read()
                    if not r.raw.startswith(b"+"):
                        # the command was refused before the literal
                        return self.read_until_tagged_after(tag, r)
                    self.send(piece)
                else:
                    self.send(piece)
            self.send(b"\r\n")
        else:
            if isinstance(text, str):
                text = text.encode()
            self.send(tag.encode() + b" " + text + b"\r\n")
        return self.read_until_tagged(tag)

    def read_until_tagged_after(self, tag, first):
        if first.raw.startswith(tag.encode() + b" "):
            return [], first
        u, t = self.read_until_tagged(tag)
        return [first] + u, t

    def ok(self, text):
        """Runs a command that must succeed; returns the untagged responses."""
        u, t = self.cmd(text)
        assert t.tokens[1] == "OK", f"expected OK for {text!r}, got {t.raw!r} after {[r.raw for r in u]}"
        return u

    def login(self, user, password=None):
        self.ok(f"LOGIN {user} {password or user + 'pw'}")
        return self

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


def status_of(tagged):
    """OK / NO / BAD of a tagged response."""
    return tagged.tokens[1].upper()


def untagged(responses, name):
    """Untagged responses whose first word after `*` (or after a number) is
    `name`, as token lists without the leading `*`."""
    out = []
    for r in responses:
        t = r.tokens
        if not t or t[0] != "*":
            continue
        if len(t) > 1 and isinstance(t[1], str) and t[1].upper() == name.upper():
            out.append(t[1:])
        elif len(t) > 2 and isinstance(t[2], str) and t[2].upper() == name.upper():
            out.append(t[1:])
    return out


def fetch_map(responses):
    """{seq: {ITEM: value}} from the FETCH responses among `responses`."""
    out = {}
    for r in responses:
        t = r.tokens
        if len(t) >= 4 and t[0] == "*" and isinstance(t[2], str) and t[2].upper() == "FETCH":
            items = t[3]
            d = out.setdefault(int(t[1]), {})
            for i in range(0, len(items), 2):
                d[items[i].upper()] = items[i + 1]
    return out


def numbers(responses, name="SEARCH"):
    """The numbers of the (single) `* SEARCH` response."""
    found = [r.tokens for r in responses if r.tokens[:2] == ["*", name]]
    assert len(found) == 1, f"expected one * {name} response, got {[r.raw for r in responses]}"
    return [int(x) for x in found[0][2:] if isinstance(x, str) and x.isdigit()]


def connect(server, user=None):
    """A Wire client on `server`, logged in as `user` when given."""
    w = Wire(server.imap_port)
    if user is not None:
        w.login(user)
    return w


def append(w, mailbox, msg, flags="", date=None):
    """APPENDs bytes `msg` (synchronizing literal); returns the tagged response."""
    opts = ""
    if flags is not None and flags != "":
        opts += f" ({flags})"
    if date is not None:
        opts += f' "{date}"'
    u, t = w.cmd([f"APPEND {mailbox}{opts} ", msg])
    assert status_of(t) == "OK", f"APPEND to {mailbox} failed: {t.raw!r}"
    return t
