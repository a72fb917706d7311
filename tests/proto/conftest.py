"""Protocol-test harness: starts the real agorad on free loopback ports with
a temporary store, creates users with the real `agora` tool, and hands tests
real clients (imaplib, smtplib.LMTP, raw sockets).

AGORA_BUILD names the build directory (default: ./build-asan, else ./build).
AGORA_TEST_STRICT=1 (scripts/test.sh sets it, having installed every tool
the tests drive) makes a missing tool an error instead of a skip.
"""
import imaplib
import os
import shutil
import signal
import smtplib
import socket
import subprocess
import tempfile
import time

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
STRICT = os.environ.get("AGORA_TEST_STRICT") == "1"


def needs_tool(path, what):
    """A mark for tests that drive a real program: skipped where it is not
    installed, except under scripts/test.sh, which installs it, so that its
    absence there fails the run instead of passing it silently."""
    if path is None and STRICT:
        raise RuntimeError(f"{what} is not installed, but scripts/test.sh should have installed it")
    return pytest.mark.skipif(path is None, reason=f"{what} is not installed")


def cannot_run(why):
    """A test whose machine lacks something it needs (a second file
    system, a high enough descriptor limit): skipped, except under
    scripts/test.sh, where the suite is meant to run whole."""
    if STRICT:
        raise AssertionError(f"cannot run here: {why}")
    pytest.skip(why)


def build_dir():
    env = os.environ.get("AGORA_BUILD")
    if env:
        return env
    for d in ("build-asan", "build"):
        if os.path.exists(os.path.join(ROOT, d, "agorad")):
            return os.path.join(ROOT, d)
    raise RuntimeError("no build directory with agorad; run scripts/test.sh")


BUILD = build_dir()
AGORAD = os.path.join(BUILD, "agorad")
AGORA = os.path.join(BUILD, "agora")

SAN_ENV = dict(os.environ,
               ASAN_OPTIONS="abort_on_error=1:detect_leaks=0",
               UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, seconds=20):
    end = time.time() + seconds
    while time.time() < end:
        if proc is not None and proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


class Server:
    """One agorad with its own store. `conf` entries override defaults."""

    def __init__(self, tmp, conf=None, users=("admin", "bob", "alice")):
        self.tmp = tmp
        self.imap_port = free_port()
        self.lmtp_port = free_port()
        self.conf_path = os.path.join(tmp, "agora.conf")
        settings = {
            "configdirectory": os.path.join(tmp, "conf"),
            "partition-default": os.path.join(tmp, "spool"),
            "imap_listen": f"127.0.0.1:{self.imap_port}",
            "lmtp_listen": f"127.0.0.1:{self.lmtp_port}",
            "admins": "admin",
            "altnamespace": "no",
            "unixhierarchysep": "no",
            "autocreate_quota": "0",
            "autocreate_post": "yes",
            "failedloginpause": "0",
            "workers": "2",
        }
        settings.update(conf or {})
        self.settings = settings
        self.write_conf()
        self.proc = None
        self.log_path = os.path.join(tmp, "agorad.log")
        for u in users:
            self.agora("user", "add", u, input=f"{u}pw\n")

    def write_conf(self):
        with open(self.conf_path, "w") as f:
            for k, v in self.settings.items():
                if v is not None:
                    f.write(f"{k}: {v}\n")

    def agora(self, *args, input=None, check=True):
        r = subprocess.run([AGORA, "-C", self.conf_path, *args], input=input,
                           capture_output=True, text=True, timeout=60, env=SAN_ENV)
        if check and r.returncode != 0:
            raise AssertionError(f"agora {' '.join(args)} failed ({r.returncode}): {r.stderr}")
        return r

    def start(self):
        for attempt in range(3):
            self.log = open(self.log_path, "a")
            self.proc = subprocess.Popen([AGORAD, "-C", self.conf_path], stdout=self.log,
                                         stderr=self.log, env=SAN_ENV)
            if wait_port(self.imap_port, self.proc):
                return self
            # free_port() cannot reserve a port: another test run on this
            # machine may take it first. Pick new ones and try again.
            if self.proc.poll() is not None and "Address already in use" in self.log_text() and attempt < 2:
                self.imap_port, self.lmtp_port = free_port(), free_port()
                if self.settings.get("imap_listen", "").startswith("127.0.0.1:"):
                    self.settings["imap_listen"] = f"127.0.0.1:{self.imap_port}"
                if self.settings.get("lmtp_listen", "").startswith("127.0.0.1:"):
                    self.settings["lmtp_listen"] = f"127.0.0.1:{self.lmtp_port}"
                self.write_conf()
                with open(self.log_path, "a") as f:
                    f.write("(test harness: port taken, retrying with new ports)\n")
                continue
            break
        raise AssertionError("agorad did not start:\n" + self.log_text())

    def stop(self, sig=signal.SIGTERM):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        rc = self.proc.returncode if self.proc else None
        self.proc = None
        return rc

    def log_text(self):
        try:
            with open(self.log_path) as f:
                return f.read()
        except OSError:
            return ""

    def imap(self, user=None, password=None):
        m = imaplib.IMAP4("127.0.0.1", self.imap_port, timeout=15)
        if user is not None:
            m.login(user, password if password is not None else f"{user}pw")
        return m

    def lmtp(self):
        return smtplib.LMTP("127.0.0.1", self.lmtp_port, timeout=15)

    def raw(self):
        return RawClient(self.imap_port)


class RawClient:
    """A line-level IMAP client for malformed input and exact responses."""

    def __init__(self, port):
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        self.buf = b""
        self.greeting = self.line()

    def send(self, data):
        if isinstance(data, str):
            data = data.encode()
        self.sock.sendall(data)

    def line(self):
        while b"\r\n" not in self.buf:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("connection closed; got so far: %r" % self.buf)
            self.buf += chunk
        line, self.buf = self.buf.split(b"\r\n", 1)
        return line.decode("utf-8", "replace")

    def until_tagged(self, tag):
        """Lines up to and including the tagged response for `tag`."""
        lines = []
        while True:
            line = self.line()
            lines.append(line)
            if line.startswith(tag + " "):
                return lines

    def cmd(self, tag, text):
        self.send(f"{tag} {text}\r\n")
        return self.until_tagged(tag)

    def login(self, user, password=None):
        r = self.cmd("L0", f"LOGIN {user} {password or user + 'pw'}")
        assert r[-1].startswith("L0 OK"), r
        return self

    def closed(self, timeout=5):
        """True when the server has closed the connection."""
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


@pytest.fixture
def make_server():
    """Factory: make_server(conf={...}, users=[...]) -> started Server."""
    servers = []
    tmps = []

    def make(conf=None, users=("admin", "bob", "alice"), start=True):
        tmp = tempfile.mkdtemp(prefix="agora-test-")
        tmps.append(tmp)
        s = Server(tmp, conf, users)
        servers.append(s)
        if start:
            s.start()
        return s

    yield make
    for s in servers:
        rc = s.stop()
        log = s.log_text()
        # A sanitizer report in any process fails the test that caused it.
        assert "ERROR: AddressSanitizer" not in log and "runtime error:" not in log, log[-4000:]
        assert rc in (None, 0), f"agorad exited {rc}:\n{log[-3000:]}"
    for t in tmps:
        shutil.rmtree(t, ignore_errors=True)


@pytest.fixture
def server(make_server):
    return make_server()


def message(subject="Test", body="Hello\r\n", frm="Alice <alice@example.com>",
            to="bob@example.com", extra=""):
    return (f"From: {frm}\r\nTo: {to}\r\nSubject: {subject}\r\n"
            f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <{subject.replace(' ', '.')}@test>\r\n"
            f"{extra}\r\n{body}").encode()
