"""The TLS floor seen by a real client, Debian's `openssl s_client`: on
implicit TLS IMAP, STARTTLS IMAP and STARTTLS LMTP, TLS 1.0 and 1.1 are
refused by the server and 1.2 and 1.3 work; `tls_versions: tls1_3` refuses
1.2; `tls_ciphers` refuses a TLS 1.2 cipher outside its list. The client
runs at SECLEVEL=0 so that a refusal is the server's, not its own. And
testssl.sh, when installed, finds nothing below TLS 1.2 offered."""
import re
import shutil
import subprocess

import pytest

from conftest import free_port, needs_tool
from test_tls import make_cert

VERSIONS = {"1.0": "-tls1", "1.1": "-tls1_1", "1.2": "-tls1_2", "1.3": "-tls1_3"}


@pytest.fixture
def tls_server(make_server):
    def make(extra=None):
        s = make_server(start=False, conf={"workers": "1"})
        cert, key = make_cert(s.tmp)
        s.imaps_port = free_port()
        s.settings.update({"tls_server_cert": cert, "tls_server_key": key,
                           "imaps_listen": f"127.0.0.1:{s.imaps_port}"})
        s.settings.update(extra or {})
        s.write_conf()
        return s.start()
    return make


def s_client(s, how, version, cipher="DEFAULT@SECLEVEL=0"):
    port = {"imaps": s.imaps_port, "imap": s.imap_port, "lmtp": s.lmtp_port}[how]
    args = ["openssl", "s_client", "-brief", "-connect", f"127.0.0.1:{port}", VERSIONS[version]]
    if how != "imaps":
        args += ["-starttls", how]
    if version != "1.3":
        args += ["-cipher", cipher]
    r = subprocess.run(args, input="", capture_output=True, text=True, timeout=30)
    out = r.stdout + r.stderr
    ok = r.returncode == 0 and "CONNECTION ESTABLISHED" in out
    return ok, out


@pytest.mark.parametrize("how", ["imaps", "imap", "lmtp"])
def test_default_floor_is_tls_1_2(tls_server, how):
    s = tls_server()
    for version in ("1.0", "1.1"):
        ok, out = s_client(s, how, version)
        assert not ok, (version, out[-1500:])
        # refused by the server (its alert), not by the client itself
        assert "no protocols available" not in out and "alert" in out, out[-1500:]
    for version in ("1.2", "1.3"):
        ok, out = s_client(s, how, version)
        assert ok, (version, out[-1500:])
        assert f"Protocol version: TLSv{version}" in out, out[-1500:]


@pytest.mark.parametrize("how", ["imaps", "imap", "lmtp"])
def test_floor_tls_1_3(tls_server, how):
    s = tls_server({"tls_versions": "tls1_3"})
    for version in ("1.0", "1.1", "1.2"):
        ok, out = s_client(s, how, version)
        assert not ok, (version, out[-1500:])
    ok, out = s_client(s, how, "1.3")
    assert ok and "Protocol version: TLSv1.3" in out, out[-1500:]


def test_cipher_outside_tls_ciphers_refused(tls_server):
    s = tls_server({"tls_ciphers": "ECDHE-RSA-AES128-GCM-SHA256"})
    for how in ("imaps", "imap", "lmtp"):
        ok, out = s_client(s, how, "1.2", cipher="ECDHE-RSA-AES256-GCM-SHA384:@SECLEVEL=0")
        assert not ok, (how, out[-1500:])
        ok, out = s_client(s, how, "1.2", cipher="ECDHE-RSA-AES128-GCM-SHA256:@SECLEVEL=0")
        assert ok and "Ciphersuite: ECDHE-RSA-AES128-GCM-SHA256" in out, (how, out[-1500:])


TESTSSL = shutil.which("testssl") or shutil.which("testssl.sh")


@needs_tool(TESTSSL, "testssl.sh (Debian package testssl.sh)")
def test_testssl_offers_nothing_below_tls_1_2(tls_server):
    s = tls_server()
    r = subprocess.run([TESTSSL, "--protocols", "--quiet", "--color", "0", "--warnings", "off",
                        "--ip", "127.0.0.1", f"127.0.0.1:{s.imaps_port}"],
                       capture_output=True, text=True, timeout=300)
    out = r.stdout
    lines = {}
    for name in ("SSLv2", "SSLv3", "TLS 1 ", "TLS 1.1", "TLS 1.2", "TLS 1.3"):
        m = re.search(r"^\s*" + re.escape(name) + r"\s+(.*)$", out, re.M)
        assert m, (name, out[-3000:])
        lines[name.strip()] = m.group(1)
    for old in ("SSLv2", "SSLv3", "TLS 1", "TLS 1.1"):
        assert lines[old].startswith("not offered"), (old, lines)
    assert lines["TLS 1.2"].startswith("offered") and lines["TLS 1.3"].startswith("offered"), lines
