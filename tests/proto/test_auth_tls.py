"""TLS settings: tls_versions (nothing below TLS 1.2), tls_ciphers,
tls_prefer_server_ciphers, and the certificate reloaded on SIGHUP for new
connections while existing ones go on."""
import os
import shutil
import signal
import socket
import ssl
import subprocess
import time

import pytest

from conftest import AGORAD, SAN_ENV, free_port
from test_tls import make_cert, no_verify


@pytest.fixture
def imaps(make_server):
    def make(extra=None):
        s = make_server(start=False)
        cert, key = make_cert(s.tmp)
        s.cert, s.key = cert, key
        s.imaps_port = free_port()
        s.settings.update({"tls_server_cert": cert, "tls_server_key": key,
                           "imaps_listen": f"127.0.0.1:{s.imaps_port}"})
        s.settings.update(extra or {})
        s.write_conf()
        return s.start()
    return make


def connect(s, ctx=None):
    sock = socket.create_connection(("127.0.0.1", s.imaps_port), timeout=15)
    t = (ctx or no_verify()).wrap_socket(sock)
    greeting = t.recv(4096)
    assert greeting.startswith(b"* OK"), greeting
    return t


def ctx_versions(lo, hi):
    ctx = no_verify()
    ctx.minimum_version = lo
    ctx.maximum_version = hi
    return ctx


def test_default_versions_are_1_2_and_1_3(imaps):
    s = imaps()
    assert connect(s, ctx_versions(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)).version() == "TLSv1.2"
    assert connect(s, ctx_versions(ssl.TLSVersion.TLSv1_3, ssl.TLSVersion.TLSv1_3)).version() == "TLSv1.3"
    # openssl s_client agrees: TLS 1.1 is refused
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{s.imaps_port}", "-tls1_1"],
                       input="", capture_output=True, text=True, timeout=30)
    assert "Cipher is (NONE)" in r.stdout or "Cipher    : 0000" in r.stdout, r.stdout
    r = subprocess.run(["openssl", "s_client", "-connect", f"127.0.0.1:{s.imaps_port}", "-tls1_2"],
                       input="", capture_output=True, text=True, timeout=30)
    assert "Protocol  : TLSv1.2" in r.stdout and "Cipher is (NONE)" not in r.stdout, r.stdout


def test_tls_versions_only_1_3(imaps):
    s = imaps({"tls_versions": "tls1_3"})
    assert connect(s, ctx_versions(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_3)).version() == "TLSv1.3"
    with pytest.raises(ssl.SSLError):
        connect(s, ctx_versions(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2))


@pytest.mark.parametrize("bad", ["tls1_0", "tls1_1 tls1_2", "ssl3", "tls9", ""])
def test_tls_versions_below_floor_refused(make_server, bad):
    s = make_server(start=False)
    cert, key = make_cert(s.tmp)
    s.settings.update({"tls_server_cert": cert, "tls_server_key": key, "tls_versions": bad})
    s.write_conf()
    r = subprocess.run([AGORAD, "-C", s.conf_path], capture_output=True, text=True, timeout=20, env=SAN_ENV)
    assert r.returncode == 2, r.stderr
    assert "tls_versions" in r.stderr


def test_tls_ciphers(imaps):
    s = imaps({"tls_versions": "tls1_2", "tls_ciphers": "ECDHE-RSA-AES128-GCM-SHA256"})
    ctx = ctx_versions(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers("ECDHE-RSA-AES256-GCM-SHA384")
    with pytest.raises(ssl.SSLError):
        connect(s, ctx)
    ctx = ctx_versions(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
    assert connect(s, ctx).cipher()[0] == "ECDHE-RSA-AES128-GCM-SHA256"


def test_bad_tls_ciphers_refused(make_server):
    s = make_server(start=False)
    cert, key = make_cert(s.tmp)
    s.settings.update({"tls_server_cert": cert, "tls_server_key": key, "tls_ciphers": "NO-SUCH-CIPHER"})
    s.write_conf()
    r = subprocess.run([AGORAD, "-C", s.conf_path], capture_output=True, text=True, timeout=20, env=SAN_ENV)
    assert r.returncode == 2 and "tls_ciphers" in r.stderr, r.stderr


@pytest.mark.parametrize("prefer,want", [("yes", "ECDHE-RSA-AES256-GCM-SHA384"),
                                         ("no", "ECDHE-RSA-AES128-GCM-SHA256")])
def test_tls_prefer_server_ciphers(imaps, prefer, want):
    s = imaps({"tls_versions": "tls1_2", "tls_prefer_server_ciphers": prefer,
               "tls_ciphers": "ECDHE-RSA-AES256-GCM-SHA384:ECDHE-RSA-AES128-GCM-SHA256"})
    ctx = ctx_versions(ssl.TLSVersion.TLSv1_2, ssl.TLSVersion.TLSv1_2)
    ctx.set_ciphers("ECDHE-RSA-AES128-GCM-SHA256:ECDHE-RSA-AES256-GCM-SHA384")
    assert connect(s, ctx).cipher()[0] == want


def served_cert(s):
    return connect(s).getpeercert(binary_form=True)


def test_certificate_reload_on_sighup(imaps):
    s = imaps()
    old = served_cert(s)
    # a session that stays open across the reload
    keep = connect(s)
    keep.sendall(b"a LOGIN bob bobpw\r\n")
    assert b"a OK" in keep.recv(4096)
    d = os.path.join(s.tmp, "new")
    os.mkdir(d)
    cert2, key2 = make_cert(d, "second")
    shutil.copy(cert2, s.cert)
    shutil.copy(key2, s.key)
    s.proc.send_signal(signal.SIGHUP)
    end = time.time() + 10
    while served_cert(s) == old:
        assert time.time() < end, "certificate not reloaded:\n" + s.log_text()[-2000:]
        time.sleep(0.1)
    with open(cert2) as f:
        assert ssl.DER_cert_to_PEM_cert(served_cert(s)).split()[3] in f.read()
    # the existing connection goes on with its session
    keep.sendall(b"b NOOP\r\n")
    assert b"b OK" in keep.recv(4096)
    assert "reloading the TLS certificate" in s.log_text()


def test_bad_certificate_on_sighup_keeps_the_old_one(imaps):
    s = imaps()
    old = served_cert(s)
    with open(s.key, "w") as f:
        f.write("not a key\n")
    s.proc.send_signal(signal.SIGHUP)
    time.sleep(1)
    assert s.proc.poll() is None
    assert served_cert(s) == old
    assert "keeping the previous certificate" in s.log_text()
