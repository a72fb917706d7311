"""TLS: STARTTLS, implicit TLS (imaps_listen), LOGINDISABLED/PRIVACYREQUIRED
before TLS, STARTTLS command injection, old protocol versions refused, and a
bad certificate/key configuration stopping agorad with exit status 2."""
import imaplib
import os
import socket
import ssl
import subprocess

import pytest

from conftest import AGORAD, SAN_ENV, free_port


def make_cert(d, name="server"):
    cert = os.path.join(d, f"{name}.crt")
    key = os.path.join(d, f"{name}.key")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                    "-subj", "/CN=localhost", "-keyout", key, "-out", cert],
                   check=True, capture_output=True, timeout=60)
    return cert, key


def no_verify():
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


@pytest.fixture
def tls_server(make_server):
    def make(extra=None):
        s = make_server(start=False)
        cert, key = make_cert(s.tmp)
        s.imaps_port = free_port()
        s.settings.update({"tls_server_cert": cert, "tls_server_key": key,
                           "imaps_listen": f"127.0.0.1:{s.imaps_port}"})
        s.settings.update(extra or {})
        s.write_conf()
        return s.start()
    return make


def test_capability_before_tls_and_login_refused(tls_server):
    s = tls_server()
    r = s.raw()
    assert "STARTTLS" in r.greeting and "LOGINDISABLED" in r.greeting, r.greeting
    assert "AUTH=PLAIN" not in r.greeting
    caps = r.cmd("a", "CAPABILITY")
    assert "STARTTLS" in caps[0] and "LOGINDISABLED" in caps[0], caps
    resp = r.cmd("b", "LOGIN bob bobpw")
    assert resp[-1].startswith("b NO [PRIVACYREQUIRED]"), resp
    resp = r.cmd("c", "AUTHENTICATE PLAIN AGJvYgBib2Jwdw==")
    assert resp[-1].startswith("c NO [PRIVACYREQUIRED]"), resp
    # still not logged in
    assert r.cmd("d", "SELECT INBOX")[-1].startswith("d BAD")


def test_starttls_then_login(tls_server):
    s = tls_server()
    m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=15)
    assert "LOGINDISABLED" in m.capabilities
    typ, _ = m.starttls(ssl_context=no_verify())
    assert typ == "OK"
    assert "STARTTLS" not in m.capabilities and "LOGINDISABLED" not in m.capabilities
    assert "AUTH=PLAIN" in m.capabilities
    # a second STARTTLS is refused
    with pytest.raises(imaplib.IMAP4.error, match="already"):
        m._simple_command("STARTTLS")
    assert m.login("bob", "bobpw")[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()
    assert "tls=yes" in s.log_text()


def test_implicit_tls(tls_server):
    s = tls_server()
    m = imaplib.IMAP4_SSL("127.0.0.1", s.imaps_port, ssl_context=no_verify(), timeout=15)
    assert "STARTTLS" not in m.capabilities and "AUTH=PLAIN" in m.capabilities
    assert m.login("alice", "alicepw")[0] == "OK"
    assert m.select("INBOX")[0] == "OK"
    m.logout()


def test_allowplaintext_yes(tls_server):
    s = tls_server({"allowplaintext": "yes"})
    m = s.imap()
    assert "STARTTLS" in m.capabilities and "LOGINDISABLED" not in m.capabilities
    assert m.login("bob", "bobpw")[0] == "OK"
    m.logout()


def test_starttls_command_injection(tls_server):
    s = tls_server()
    sock = socket.create_connection(("127.0.0.1", s.imap_port), timeout=10)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"* OK")
    sock.sendall(b"a STARTTLS\r\nb CAPABILITY\r\n")
    line = f.readline()
    assert line.startswith(b"a OK"), line
    # Nothing else may come in plaintext, before the handshake.
    sock.settimeout(0.5)
    try:
        extra = sock.recv(4096, socket.MSG_PEEK)
    except socket.timeout:
        extra = b""
    assert extra == b"" or extra[:1] == b"\x16", extra  # at most a TLS record
    sock.settimeout(10)
    tls = no_verify().wrap_socket(sock, server_hostname="localhost")
    tls.settimeout(1.5)
    got = b""
    try:
        while True:
            chunk = tls.recv(4096)
            if not chunk:
                break
            got += chunk
    except (socket.timeout, TimeoutError):
        pass
    assert b"b " not in got and b"CAPABILITY" not in got, got
    # the session itself works over TLS
    tls.settimeout(10)
    tls.sendall(b"c CAPABILITY\r\n")
    got = b""
    while b"c OK" not in got:
        chunk = tls.recv(4096)
        assert chunk, got
        got += chunk
    assert b"AUTH=PLAIN" in got and b"b OK" not in got, got
    tls.close()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
@pytest.mark.parametrize("starttls", [False, True])
def test_tls_1_1_refused(tls_server, starttls):
    s = tls_server()
    ctx = no_verify()
    # Let the client really offer TLS 1.0/1.1 (its own security level would
    # otherwise refuse before the server is asked).
    ctx.set_ciphers("DEFAULT:@SECLEVEL=0")
    ctx.minimum_version = ssl.TLSVersion.TLSv1
    ctx.maximum_version = ssl.TLSVersion.TLSv1_1
    if starttls:
        m = imaplib.IMAP4("127.0.0.1", s.imap_port, timeout=15)
        with pytest.raises(ssl.SSLError) as e:
            m.starttls(ssl_context=ctx)
    else:
        with pytest.raises(ssl.SSLError) as e:
            imaplib.IMAP4_SSL("127.0.0.1", s.imaps_port, ssl_context=ctx, timeout=15)
    # the server's alert, not the client refusing by itself
    assert "PROTOCOL_VERSION" in str(e.value).upper(), e.value
    # and TLS 1.2 on the same server works
    m = imaplib.IMAP4_SSL("127.0.0.1", s.imaps_port, ssl_context=no_verify(), timeout=15)
    assert m.login("bob", "bobpw")[0] == "OK"
    m.logout()


def run_agorad(s):
    return subprocess.run([AGORAD, "-C", s.conf_path], capture_output=True, text=True,
                          timeout=30, env=SAN_ENV)


def test_key_not_matching_cert_exits_2(make_server):
    s = make_server(start=False)
    cert, _ = make_cert(s.tmp, "one")
    _, key = make_cert(s.tmp, "two")
    s.settings.update({"tls_server_cert": cert, "tls_server_key": key})
    s.write_conf()
    r = run_agorad(s)
    assert r.returncode == 2, r.stderr
    assert key in r.stderr, r.stderr


@pytest.mark.parametrize("which", ["tls_server_cert", "tls_server_key"])
def test_missing_cert_or_key_file_exits_2(make_server, which):
    s = make_server(start=False)
    cert, key = make_cert(s.tmp)
    missing = os.path.join(s.tmp, "nonexistent.pem")
    s.settings.update({"tls_server_cert": cert, "tls_server_key": key, which: missing})
    s.write_conf()
    r = run_agorad(s)
    assert r.returncode == 2, r.stderr
    assert missing in r.stderr, r.stderr
