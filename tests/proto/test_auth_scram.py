"""SASL: AUTHENTICATE LOGIN, SCRAM-SHA-1, SCRAM-SHA-256 (RFC 5802/7677) and
SCRAM-SHA-256-PLUS with tls-server-end-point (RFC 5929) and tls-exporter
(RFC 9266) channel binding, driven by a small SCRAM client written here
with hashlib/hmac. Wrong passwords, malformed messages, aborted exchanges,
nonce and channel binding mismatches."""
import base64
import hashlib
import hmac
import os
import socket
import ssl

import pytest

from conftest import STRICT, RawClient
from test_tls import make_cert, no_verify

HASHES = {"SCRAM-SHA-1": "sha1", "SCRAM-SHA-256": "sha256",
          "SCRAM-SHA-1-PLUS": "sha1", "SCRAM-SHA-256-PLUS": "sha256"}


def b64(b):
    return base64.b64encode(b).decode()


def saslname(s):
    return s.replace("=", "=3D").replace(",", "=2C")


class Scram:
    """One client exchange; each step can be tampered with."""

    def __init__(self, mech, user, password, authzid="", cb=None):
        self.mech = mech
        self.h = HASHES[mech]
        self.user = user
        self.password = password
        self.cnonce = b64(os.urandom(18))
        if cb is not None:
            flag = f"p={cb[0]}"
            self.cbdata = cb[1]
        else:
            flag = "n"
            self.cbdata = b""
        self.gs2 = f"{flag},{'a=' + saslname(authzid) if authzid else ''},"
        self.bare = f"n={saslname(user)},r={self.cnonce}"

    def first(self):
        return b64((self.gs2 + self.bare).encode())

    def final(self, server_first, nonce=None, cbind=None, proof_xor=0):
        attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
        assert attrs["r"].startswith(self.cnonce)
        salt = base64.b64decode(attrs["s"])
        it = int(attrs["i"])
        salted = hashlib.pbkdf2_hmac(self.h, self.password.encode(), salt, it)
        ck = hmac.new(salted, b"Client Key", self.h).digest()
        sk = hashlib.new(self.h, ck).digest()
        if cbind is None:
            cbind = b64(self.gs2.encode() + self.cbdata)
        without = f"c={cbind},r={nonce or attrs['r']}"
        self.auth = f"{self.bare},{server_first},{without}"
        sig = hmac.new(sk, self.auth.encode(), self.h).digest()
        proof = bytes(a ^ b for a, b in zip(ck, sig))
        if proof_xor:
            proof = bytes([proof[0] ^ proof_xor]) + proof[1:]
        self.server_key = hmac.new(salted, b"Server Key", self.h).digest()
        return b64(f"{without},p={b64(proof)}".encode())

    def check_server_final(self, data):
        want = hmac.new(self.server_key, self.auth.encode(), self.h).digest()
        assert data == f"v={b64(want)}", data


def cont(line):
    assert line.startswith("+ "), line
    return base64.b64decode(line[2:]).decode()


def scram_login(r, mech, user, password, tag="a", authzid="", cb=None, ir=True):
    """Runs the exchange; returns the tagged response line."""
    s = Scram(mech, user, password, authzid, cb)
    if ir:
        r.send(f"{tag} AUTHENTICATE {mech} {s.first()}\r\n")
    else:
        r.send(f"{tag} AUTHENTICATE {mech}\r\n")
        assert r.line().startswith("+")
        r.send(s.first() + "\r\n")
    line = r.line()
    if not line.startswith("+ "):
        return line
    r.send(s.final(cont(line)) + "\r\n")
    line = r.line()
    if not line.startswith("+ "):
        return line
    s.check_server_final(cont(line))
    r.send("\r\n")
    return r.until_tagged(tag)[-1]


@pytest.mark.parametrize("mech", ["SCRAM-SHA-1", "SCRAM-SHA-256"])
def test_scram_login(server, mech):
    r = server.raw()
    assert f"AUTH={mech}" in r.greeting and "-PLUS" not in r.greeting
    assert scram_login(r, mech, "bob", "bobpw").startswith("a OK")
    assert r.cmd("b", "SELECT INBOX")[-1].startswith("b OK")
    assert f"login user=bob addr=127.0.0.1 mech={mech}" in server.log_text()


def test_scram_without_initial_response(server):
    r = server.raw()
    assert scram_login(r, "SCRAM-SHA-256", "alice", "alicepw", ir=False).startswith("a OK")


def test_scram_wrong_password_and_unknown_user(server):
    r = server.raw()
    assert scram_login(r, "SCRAM-SHA-256", "bob", "wrong").startswith("a NO [AUTHENTICATIONFAILED]")
    assert scram_login(r, "SCRAM-SHA-1", "nosuch", "x", tag="b").startswith("b NO [AUTHENTICATIONFAILED]")
    # an unknown user gets the same salt each time (no hint whether it exists)
    salts = []
    for t in ("c", "d"):
        s = Scram("SCRAM-SHA-256", "nosuch", "x")
        r.send(f"{t} AUTHENTICATE SCRAM-SHA-256 {s.first()}\r\n")
        first = cont(r.line())
        salts.append(dict(kv.split("=", 1) for kv in first.split(","))["s"])
        r.send("*\r\n")
        assert r.line().startswith(f"{t} BAD")
    assert salts[0] == salts[1]
    assert r.cmd("e", "LOGIN bob bobpw")[-1].startswith("e OK")
    assert "login failed user=bob" in server.log_text()


def test_scram_password_change_updates_keys(server):
    server.agora("user", "passwd", "bob", input="newpw\n")
    r = server.raw()
    assert scram_login(r, "SCRAM-SHA-256", "bob", "bobpw").startswith("a NO")
    assert scram_login(r, "SCRAM-SHA-256", "bob", "newpw", tag="b").startswith("b OK")


@pytest.mark.parametrize("data", ["!!!notbase64", "bixuPWJvYg==",  # "n,n=bob": no authzid field
                                  b64(b"q,,n=bob,r=x"), b64(b"n,,r=x,n=bob"), b64(b"n,,n=bob"),
                                  b64(b"n,,m=ext,n=bob,r=x"), b64(b"n,,n=b=ZZob,r=x"), b64(b"n,,n=bob,r=a\0b")])
def test_scram_malformed_client_first(server, data):
    r = server.raw()
    resp = r.cmd("a", f"AUTHENTICATE SCRAM-SHA-256 {data}")
    assert resp[-1].startswith("a BAD") or resp[-1].startswith("a NO"), resp
    assert r.cmd("b", "NOOP")[-1].startswith("b OK")
    assert r.cmd("c", "LOGIN bob bobpw")[-1].startswith("c OK")


def test_scram_malformed_client_final(server):
    r = server.raw()
    for i, final in enumerate([b"garbage", b"c=biws", b"c=biws,r=x", b"c=biws,r=x,p=!!",
                               b"r=x,c=biws,p=AAAA"]):
        s = Scram("SCRAM-SHA-256", "bob", "bobpw")
        r.send(f"t{i} AUTHENTICATE SCRAM-SHA-256 {s.first()}\r\n")
        cont(r.line())
        r.send(b64(final) + "\r\n")
        resp = r.until_tagged(f"t{i}")
        assert resp[-1].startswith(f"t{i} BAD") or resp[-1].startswith(f"t{i} NO"), resp
    assert r.cmd("z", "LOGIN bob bobpw")[-1].startswith("z OK")


def test_scram_aborted_exchange(server):
    r = server.raw()
    s = Scram("SCRAM-SHA-256", "bob", "bobpw")
    r.send(f"a AUTHENTICATE SCRAM-SHA-256 {s.first()}\r\n")
    cont(r.line())
    r.send("*\r\n")
    assert r.line().startswith("a BAD")
    # aborted at the very start
    r.send("b AUTHENTICATE SCRAM-SHA-1\r\n")
    assert r.line().startswith("+")
    r.send("*\r\n")
    assert r.line().startswith("b BAD")
    # and after server-final, instead of the empty line
    s = Scram("SCRAM-SHA-256", "bob", "bobpw")
    r.send(f"c AUTHENTICATE SCRAM-SHA-256 {s.first()}\r\n")
    r.send(s.final(cont(r.line())) + "\r\n")
    s.check_server_final(cont(r.line()))
    r.send("*\r\n")
    assert r.line().startswith("c BAD")
    assert r.cmd("d", "SELECT INBOX")[-1].startswith("d BAD")   # not logged in
    assert scram_login(r, "SCRAM-SHA-256", "bob", "bobpw", tag="e").startswith("e OK")


def test_scram_nonce_mismatch(server):
    r = server.raw()
    s = Scram("SCRAM-SHA-256", "bob", "bobpw")
    r.send(f"a AUTHENTICATE SCRAM-SHA-256 {s.first()}\r\n")
    first = cont(r.line())
    r.send(s.final(first, nonce=s.cnonce + "forged") + "\r\n")
    resp = r.until_tagged("a")
    assert resp[-1].startswith("a BAD") or resp[-1].startswith("a NO"), resp
    assert r.cmd("b", "SELECT INBOX")[-1].startswith("b BAD")


def test_scram_bad_proof(server):
    r = server.raw()
    s = Scram("SCRAM-SHA-256", "bob", "bobpw")
    r.send(f"a AUTHENTICATE SCRAM-SHA-256 {s.first()}\r\n")
    r.send(s.final(cont(r.line()), proof_xor=1) + "\r\n")
    assert r.until_tagged("a")[-1].startswith("a NO [AUTHENTICATIONFAILED]")


def test_scram_plus_not_offered_without_tls(server):
    r = server.raw()
    resp = r.cmd("a", "AUTHENTICATE SCRAM-SHA-256-PLUS " + b64(b"p=tls-exporter,,n=bob,r=abc"))
    assert resp[-1].startswith("a NO"), resp


def test_authenticate_login_mechanism(server):
    r = server.raw()
    assert "AUTH=LOGIN" in r.greeting
    r.send("a AUTHENTICATE LOGIN\r\n")
    assert cont(r.line()) == "Username:"
    r.send(b64(b"bob") + "\r\n")
    assert cont(r.line()) == "Password:"
    r.send(b64(b"bobpw") + "\r\n")
    assert r.until_tagged("a")[-1].startswith("a OK")
    r = server.raw()
    r.send(f"b AUTHENTICATE LOGIN {b64(b'bob')}\r\n")
    assert cont(r.line()) == "Password:"
    r.send(b64(b"wrong") + "\r\n")
    assert r.until_tagged("b")[-1].startswith("b NO [AUTHENTICATIONFAILED]")
    r.send("c AUTHENTICATE LOGIN\r\n")
    r.line()
    r.send("*\r\n")
    assert r.line().startswith("c BAD")
    r.send("d AUTHENTICATE LOGIN\r\n")
    r.line()
    r.send("%%%\r\n")
    assert r.line().startswith("d BAD")


# -PLUS over TLS

class TLSRaw(RawClient):
    def __init__(self, port, tls13=True):
        sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        ctx = no_verify()
        if not tls13:
            ctx.maximum_version = ssl.TLSVersion.TLSv1_2
        self.sock = ctx.wrap_socket(sock)
        self.buf = b""
        self.greeting = self.line()

    def end_point(self):
        cert = self.sock.getpeercert(binary_form=True)
        return hashlib.sha256(cert).digest()


@pytest.fixture
def imaps(make_server):
    s = make_server(start=False)
    cert, key = make_cert(s.tmp)
    s.imaps_port = s.imap_port + 0
    from conftest import free_port
    s.imaps_port = free_port()
    s.settings.update({"tls_server_cert": cert, "tls_server_key": key,
                       "imaps_listen": f"127.0.0.1:{s.imaps_port}"})
    s.write_conf()
    return s.start()


@pytest.mark.parametrize("tls13", [True, False])
def test_scram_plus_tls_server_end_point(imaps, tls13):
    r = TLSRaw(imaps.imaps_port, tls13)
    assert "AUTH=SCRAM-SHA-256-PLUS" in r.greeting and "AUTH=PLAIN" in r.greeting
    assert scram_login(r, "SCRAM-SHA-256-PLUS", "bob", "bobpw",
                       cb=("tls-server-end-point", r.end_point())).startswith("a OK")
    want = "TLSv1.3" if tls13 else "TLSv1.2"
    assert f"mech=SCRAM-SHA-256-PLUS tls=yes tls_version={want}" in imaps.log_text()


def test_scram_plus_binding_mismatch(imaps):
    r = TLSRaw(imaps.imaps_port)
    resp = scram_login(r, "SCRAM-SHA-256-PLUS", "bob", "bobpw",
                       cb=("tls-server-end-point", b"\0" * 32))
    assert resp.startswith("a NO [AUTHENTICATIONFAILED]"), resp
    # an unknown binding type is refused at once
    resp = scram_login(r, "SCRAM-SHA-256-PLUS", "bob", "bobpw", tag="b", cb=("tls-unique", b"x"))
    assert resp.startswith("b BAD") or resp.startswith("b NO"), resp
    # a client that says "y" (it thinks the server cannot bind) is a downgrade here
    resp = r.cmd("c", "AUTHENTICATE SCRAM-SHA-256 " + b64(b"y,,n=bob,r=abcdef"))
    assert resp[-1].startswith("c BAD") or resp[-1].startswith("c NO"), resp
    # -PLUS without binding is malformed
    resp = r.cmd("d", "AUTHENTICATE SCRAM-SHA-256-PLUS " + b64(b"n,,n=bob,r=abcdef"))
    assert resp[-1].startswith("d BAD") or resp[-1].startswith("d NO"), resp
    # plain SCRAM over TLS still works
    assert scram_login(r, "SCRAM-SHA-1", "bob", "bobpw", tag="e").startswith("e OK")


def test_scram_plus_tls_exporter(imaps):
    if not STRICT:
        pytest.importorskip("OpenSSL")
    from OpenSSL import SSL
    ctx = SSL.Context(SSL.TLS_METHOD)
    ctx.set_min_proto_version(SSL.TLS1_3_VERSION)
    import select
    sock = socket.create_connection(("127.0.0.1", imaps.imaps_port), timeout=15)
    sock.setblocking(True)
    conn = SSL.Connection(ctx, sock)
    conn.set_connect_state()
    conn.do_handshake()
    exporter = conn.export_keying_material(b"EXPORTER-Channel-Binding", 32)

    class Wrap(RawClient):
        def __init__(self):
            self.sock = conn
            self.buf = b""
            self.greeting = self.line()

        def line(self):
            while b"\r\n" not in self.buf:
                if not conn.pending():
                    assert select.select([sock], [], [], 15)[0], "timed out"
                try:
                    self.buf += conn.recv(65536)
                except SSL.WantReadError:
                    continue
            line, self.buf = self.buf.split(b"\r\n", 1)
            return line.decode()

        def send(self, data):
            if isinstance(data, str):
                data = data.encode()
            conn.sendall(data)

    r = Wrap()
    assert scram_login(r, "SCRAM-SHA-256-PLUS", "bob", "bobpw",
                       cb=("tls-exporter", exporter)).startswith("a OK")
    r2 = TLSRaw(imaps.imaps_port)
    # another connection's exporter does not fit this one
    resp = scram_login(r2, "SCRAM-SHA-256-PLUS", "bob", "bobpw", cb=("tls-exporter", exporter))
    assert resp.startswith("a NO [AUTHENTICATIONFAILED]"), resp
