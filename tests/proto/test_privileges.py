"""agorad started as root runs its workers as the `user` option's account;
the master and the auth process (which alone reads secrets.db) stay root."""
import os
import pwd

import pytest


def proc_uid(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return int(line.split()[1])
    raise AssertionError("no Uid line")


def children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as f:
                    if int(f.read().rsplit(")", 1)[1].split()[1]) == pid:
                        out.append(int(d))
            except OSError:
                pass
    return out


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to test dropping privileges")
def test_root_start_drops_to_user(make_server):
    nobody = pwd.getpwnam("nobody")
    s = make_server(conf={"user": "nobody"}, start=False)
    # the test's temporary directory must be reachable by that user
    os.chmod(s.tmp, 0o755)
    s.start()
    m = s.imap("bob")
    m.append("INBOX", None, None, b"Subject: x\r\n\r\nbody\r\n")
    m.logout()
    assert proc_uid(s.proc.pid) == 0
    kids = children(s.proc.pid)
    auth = [k for k in kids if open(f"/proc/{k}/comm").read().strip() == "agorad-auth"]
    workers = [k for k in kids if k not in auth]
    assert len(auth) == 1 and proc_uid(auth[0]) == 0
    assert workers and all(proc_uid(w) == nobody.pw_uid for w in workers)
    # the store it created belongs to that user
    st = os.stat(os.path.join(s.tmp, "conf", "agora.db"))
    assert st.st_uid == nobody.pw_uid


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root")
def test_unknown_user_option_refuses_to_start(make_server):
    import subprocess
    from conftest import AGORAD
    s = make_server(conf={"user": "no-such-account-here"}, start=False)
    r = subprocess.run([AGORAD, "-C", s.conf_path], capture_output=True, text=True, timeout=20)
    assert r.returncode == 2
    assert "no-such-account-here" in r.stderr
