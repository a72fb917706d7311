"""End to end with the real Postfix from Debian, configured as in the seed
(the Cyrus shared "contact" mailbox): a private Postfix instance (its own
main.cf, master.cf, queue and alias file in the test's temporary directory,
loopback only) takes mail over SMTP and hands it to Agora's LMTP, with the
alias `contact: sharedboxmngr+shared.contact`.

Postfix expands aliases in local(8), so local delivery stays with local(8)
and its mailbox_transport is Agora's LMTP: the classic Cyrus setup
(`mailbox_transport = lmtp:unix:/var/run/cyrus/socket/lmtp`)."""
import os
import re
import shutil
import signal
import smtplib
import subprocess
import tempfile
import time

import pytest

from conftest import free_port, message, needs_tool, wait_port

POSTFIX = shutil.which("postfix") or ("/usr/sbin/postfix" if os.path.exists("/usr/sbin/postfix") else None)
SBIN = os.path.dirname(POSTFIX) if POSTFIX else "/usr/sbin"

pytestmark = needs_tool(POSTFIX, "postfix (scripts/install-deps.sh --test installs it)")

MASTER_CF = """\
{smtp_port} inet n - n - - smtpd
pickup    unix  n - n 60 1 pickup
cleanup   unix  n - n - 0 cleanup
qmgr      unix  n - n 300 1 qmgr
rewrite   unix  - - n - - trivial-rewrite
bounce    unix  - - n - 0 bounce
defer     unix  - - n - 0 bounce
trace     unix  - - n - 0 bounce
verify    unix  - - n - 1 verify
flush     unix  n - n 1000? 0 flush
proxymap  unix  - - n - - proxymap
proxywrite unix - - n - 1 proxymap
smtp      unix  - - n - - smtp
relay     unix  - - n - - smtp
showq     unix  n - n - - showq
error     unix  - - n - - error
retry     unix  - - n - - error
discard   unix  - - n - - discard
local     unix  - n n - - local
lmtp      unix  - - n - - lmtp
anvil     unix  - - n - 1 anvil
scache    unix  - - n - 1 scache
postlog   unix-dgram n - n - 1 postlogd
"""

MAIN_CF = """\
compatibility_level = 3.6
config_directory = {etc}
queue_directory = {queue}
data_directory = {data}
command_directory = {sbin}
mail_owner = postfix
setgid_group = postdrop
myhostname = mx.example.test
mydomain = example.test
myorigin = example.test
mydestination = example.test
inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject
relayhost =
alias_maps = hash:{etc}/aliases
alias_database = hash:{etc}/aliases
local_recipient_maps =
recipient_delimiter = +
mailbox_transport = lmtp:inet:[127.0.0.1]:{lmtp_port}
maillog_file_prefixes = {root}
maillog_file = {root}/maillog
biff = no
smtputf8_enable = no
queue_run_delay = 2s
minimal_backoff_time = 2s
maximal_backoff_time = 4s
"""


class Postfix:
    def __init__(self, lmtp_port):
        self.root = tempfile.mkdtemp(prefix="agora-postfix-")
        os.chmod(self.root, 0o755)  # the daemons run as postfix
        self.etc = os.path.join(self.root, "etc")
        self.queue = os.path.join(self.root, "queue")
        self.data = os.path.join(self.root, "data")
        for d in (self.etc, self.queue, self.data):
            os.mkdir(d, 0o755)
        shutil.chown(self.data, "postfix")
        self.smtp_port = free_port()
        self.lmtp_port = lmtp_port

    def configure(self):
        with open(os.path.join(self.etc, "main.cf"), "w") as f:
            f.write(MAIN_CF.format(etc=self.etc, queue=self.queue, data=self.data, sbin=SBIN,
                                   root=self.root, lmtp_port=self.lmtp_port))
        with open(os.path.join(self.etc, "master.cf"), "w") as f:
            f.write(MASTER_CF.format(smtp_port=f"127.0.0.1:{self.smtp_port}"))
        with open(os.path.join(self.etc, "aliases"), "w") as f:
            f.write("# the seed's alias: contact -> the shared mailbox through postuser\n"
                    "contact: sharedboxmngr+shared.contact\n")
        self.run(os.path.join(SBIN, "postalias"), "-c", self.etc, os.path.join(self.etc, "aliases"))

    def run(self, *cmd):
        r = subprocess.run(list(cmd), capture_output=True, text=True, timeout=60)
        assert r.returncode == 0, f"{' '.join(cmd)}: {r.returncode}\n{r.stdout}{r.stderr}\n{self.maillog()}"
        return r

    def start(self):
        self.configure()
        self.run(POSTFIX, "-c", self.etc, "start")
        assert wait_port(self.smtp_port, None, 20), "postfix smtpd did not listen\n" + self.maillog()

    def flush(self):
        subprocess.run([os.path.join(SBIN, "postqueue"), "-c", self.etc, "-f"],
                       capture_output=True, timeout=30)

    def queue_listing(self):
        r = subprocess.run([os.path.join(SBIN, "postqueue"), "-c", self.etc, "-p"],
                           capture_output=True, text=True, timeout=30)
        return r.stdout + r.stderr

    def master_pid(self):
        try:
            with open(os.path.join(self.queue, "pid", "master.pid")) as f:
                return int(f.read().strip())
        except (OSError, ValueError):
            return None

    def stop(self):
        pid = self.master_pid()
        subprocess.run([POSTFIX, "-c", self.etc, "stop"], capture_output=True, timeout=60)
        end = time.time() + 10
        while pid is not None and time.time() < end:
            try:
                os.kill(pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.1)
        else:
            if pid is not None:
                try:
                    os.kill(pid, signal.SIGKILL)  # our own instance's master only
                except ProcessLookupError:
                    pass

    def maillog(self):
        try:
            with open(os.path.join(self.root, "maillog")) as f:
                return f.read()[-4000:]
        except OSError:
            return "(no maillog)"

    def cleanup(self):
        shutil.rmtree(self.root, ignore_errors=True)


@pytest.fixture
def postfix_and_agora(make_server):
    s = make_server(conf={"postuser": "sharedboxmngr"})
    m = s.imap("admin")
    # the seed: cm shared.contact; setaclmailbox anyone p; bob lrswipcd
    assert m.create("shared.contact")[0] == "OK"
    assert m.setacl("shared.contact", "anyone", "p")[0] == "OK"
    assert m.setacl("shared.contact", "bob", "lrswipcd")[0] == "OK"
    m.logout()
    pf = Postfix(s.lmtp_port)
    try:
        pf.start()
        yield s, pf
    finally:
        pf.stop()
        pf.cleanup()


def messages(m, mailbox):
    typ, data = m.status(mailbox, "(MESSAGES)")
    assert typ == "OK", data
    return int(re.search(rb"MESSAGES (\d+)", data[0]).group(1))


def test_postfix_delivers_to_user_and_shared_contact(postfix_and_agora):
    s, pf = postfix_and_agora
    with smtplib.SMTP("127.0.0.1", pf.smtp_port, timeout=20) as c:
        c.ehlo("client.example.org")
        assert c.sendmail("alice@example.org", ["bob@example.test"],
                          message("for bob", to="bob@example.test")) == {}
        assert c.sendmail("alice@example.org", ["contact@example.test"],
                          message("for contact", to="contact@example.test")) == {}
    m = s.imap("bob")
    end = time.time() + 20
    last_flush = time.time()
    while time.time() < end:
        if messages(m, "INBOX") >= 1 and messages(m, "shared.contact") >= 1:
            break
        if time.time() - last_flush > 2:
            pf.flush()
            last_flush = time.time()
        time.sleep(0.2)
    inbox, contact = messages(m, "INBOX"), messages(m, "shared.contact")
    assert (inbox, contact) == (1, 1), (f"INBOX {inbox}, shared.contact {contact}\n"
                                        f"queue:\n{pf.queue_listing()}\nmaillog:\n{pf.maillog()}\n"
                                        f"agorad:\n{s.log_text()[-2000:]}")
    m.select("INBOX", readonly=True)
    _, data = m.fetch("1", "(BODY.PEEK[])")
    bob_msg = data[0][1]
    assert b"Subject: for bob" in bob_msg
    assert b"Delivered-To: bob@example.test" in bob_msg
    assert b"Return-Path: <alice@example.org>" in bob_msg
    m.select("shared.contact", readonly=True)
    _, data = m.fetch("1", "(BODY.PEEK[])")
    contact_msg = data[0][1]
    assert b"Subject: for contact" in contact_msg
    assert b"Delivered-To: sharedboxmngr+shared.contact@example.test" in contact_msg
    m.logout()
