"""Crashes: kill -9 of one worker, of the whole server, during APPENDs and
LMTP deliveries. Whatever was acknowledged (APPEND's OK, LMTP's 250) must be
there afterwards, intact, once, under its UID; nothing half-written may be
visible; the master restarts a dead worker and only that worker's clients
notice."""
import hashlib
import imaplib
import os
import random
import re
import signal
import smtplib
import threading
import time


APPENDUID = re.compile(rb"\[APPENDUID (\d+) (\d+)\]")


def proc_stat(pid):
    """(state, ppid) of a process, or None when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    fields = data[data.rindex(")") + 2:].split()
    return fields[0], int(fields[1])


def alive(pid):
    st = proc_stat(pid)
    return st is not None and st[0] not in ("Z", "X")


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def all_children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            st = proc_stat(int(d))
            if st is not None and st[1] == pid and st[0] not in ("Z", "X"):
                out.append(int(d))
    return sorted(out)


def children(pid):
    """The worker processes (the auth process, agorad-auth, is not one)."""
    return [p for p in all_children(pid) if comm(p) != "agorad-auth"]


def wait_workers(s, n=2, seconds=20):
    end = time.time() + seconds
    while time.time() < end:
        kids = children(s.proc.pid)
        if len(kids) == n:
            return kids
        time.sleep(0.05)
    raise AssertionError(f"expected {n} workers, have {children(s.proc.pid)}\n" + s.log_text()[-3000:])


def socket_inodes(pid):
    out = set()
    try:
        for fd in os.listdir(f"/proc/{pid}/fd"):
            try:
                link = os.readlink(f"/proc/{pid}/fd/{fd}")
            except OSError:
                continue
            if link.startswith("socket:["):
                out.add(link[8:-1])
    except OSError:
        pass
    return out


def worker_of(server_port, client_port, workers):
    """The worker pid holding the server end of the connection from
    client_port, or None."""
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            p = line.split()
            if int(p[1].split(":")[1], 16) == server_port and int(p[2].split(":")[1], 16) == client_port:
                inode = p[9]
    if inode is None:
        return None
    for w in workers:
        if inode in socket_inodes(w):
            return w
    return None


def make_msg(rnd, who, i):
    size = rnd.choice([200, 1500, 8000, 40000, 120000, 250000])
    body = "".join(rnd.choice("abcdefghijklmnopqrstuvwxyz     \r\n") for _ in range(64))
    body = (body.replace("\r", "").replace("\n", "") + "\r\n") * max(1, size // 66)
    return (f"From: crash@example.com\r\nTo: bob@example.com\r\nSubject: {who} {i}\r\n"
            f"Message-ID: <{who}.{i}.{rnd.getrandbits(48):x}@crash.test>\r\n"
            f"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n\r\n{body}").encode()


class Appender(threading.Thread):
    """Logs in as bob and APPENDs to INBOX until stopped or disconnected."""

    def __init__(self, s, n, stop):
        super().__init__(daemon=True)
        self.n, self.stop = n, stop
        self.rnd = random.Random(1000 + n)
        self.m = s.imap("bob")
        self.port = self.m.sock.getsockname()[1]
        self.sent = []          # every message tried (acknowledged or not)
        self.acked = {}         # uid -> sha256
        self.uidvalidity = None
        self.error = None
        self.failure = None     # an answer that was not OK
        self.acked_after = 0    # acknowledged after `mark` was set
        self.mark = threading.Event()

    def run(self):
        i = 0
        while not self.stop.is_set():
            data = make_msg(self.rnd, f"t{self.n}", i)
            i += 1
            self.sent.append(data)
            try:
                typ, resp = self.m.append("INBOX", None, None, data)
            except Exception as e:     # disconnected
                self.error = e
                return
            if typ != "OK" or not APPENDUID.search(resp[0]):
                self.failure = (typ, resp)
                return
            uv, uid = APPENDUID.search(resp[0]).groups()
            self.uidvalidity = int(uv)
            if int(uid) in self.acked:
                self.failure = ("UID twice", uid)
            self.acked[int(uid)] = hashlib.sha256(data).hexdigest()
            if self.mark.is_set():
                self.acked_after += 1


def fetch_all(s):
    """{uid: (sha256, bytes)} of bob's INBOX, and its UIDVALIDITY."""
    m = s.imap("bob")
    typ, data = m.select("INBOX", readonly=True)
    assert typ == "OK"
    uidvalidity = int(m.response("UIDVALIDITY")[1][0])
    out = {}
    if int(data[0]) > 0:
        typ, data = m.uid("FETCH", "1:*", "(RFC822.SIZE BODY.PEEK[])")
        assert typ == "OK"
        for k, item in enumerate(data):
            if not isinstance(item, tuple):
                continue
            # UID and RFC822.SIZE may come before or after the literal
            rest = data[k + 1] if k + 1 < len(data) and isinstance(data[k + 1], bytes) else b""
            uid = int(re.search(rb"UID (\d+)", item[0] + rest).group(1))
            size = int(re.search(rb"RFC822.SIZE (\d+)", item[0] + rest).group(1))
            assert size == len(item[1]), f"UID {uid}: RFC822.SIZE {size} but {len(item[1])} bytes"
            out[uid] = (hashlib.sha256(item[1]).hexdigest(), item[1])
    m.logout()
    return out, uidvalidity


def check_acknowledged(s, appenders):
    for a in appenders:
        assert a.failure is None, f"client {a.n}: {a.failure}"
    have, uidvalidity = fetch_all(s)
    sent = {hashlib.sha256(d).hexdigest() for a in appenders for d in a.sent}
    acked = {}
    for a in appenders:
        if a.uidvalidity is not None:
            assert a.uidvalidity == uidvalidity, "UIDVALIDITY changed"
        for uid, h in a.acked.items():
            assert uid not in acked, f"UID {uid} acknowledged twice"
            acked[uid] = h
    assert acked, "no APPEND was acknowledged before the kill"
    for uid, h in acked.items():
        assert uid in have, f"acknowledged UID {uid} is missing"
        assert have[uid][0] == h, f"acknowledged UID {uid} has other content"
    seen = set()
    for uid, (h, data) in have.items():
        assert h in sent, f"UID {uid} is not any message that was sent: {data[:200]!r}"
        assert h not in seen, f"UID {uid}: the same message twice"
        seen.add(h)
    return have, acked


def kill_server(s):
    """kill -9 the master, every worker and the auth process, as a power cut would."""
    pids = [s.proc.pid] + all_children(s.proc.pid)
    for p in pids:
        os.kill(p, signal.SIGKILL)
    s.proc.wait(timeout=10)
    s.proc = None
    end = time.time() + 10
    while any(alive(p) for p in pids):
        assert time.time() < end, "killed processes did not go away"
        time.sleep(0.05)


def test_kill_worker_during_appends(make_server):
    s = make_server(conf={"workers": "2"})
    workers = wait_workers(s)
    stop = threading.Event()
    # Clients on both workers: keep connecting until each has some.
    apps = []
    for n in range(40):
        a = Appender(s, n, stop)
        a.worker = worker_of(s.imap_port, a.port, workers)
        assert a.worker in workers, (a.worker, workers)
        apps.append(a)
        on = {w: sum(1 for x in apps if x.worker == w) for w in workers}
        if len(apps) >= 6 and min(on.values()) >= 2:
            break
    victim = max(workers, key=lambda w: sum(1 for a in apps if a.worker == w))
    survivor = [w for w in workers if w != victim][0]
    for a in apps:
        a.start()
    deadline = time.time() + 10
    while sum(len(a.acked) for a in apps if a.worker == victim) < 10 and time.time() < deadline:
        time.sleep(0.02)
    os.kill(victim, signal.SIGKILL)
    t_kill = time.time()
    for a in apps:
        a.mark.set()
    time.sleep(1.5)
    stop.set()
    for a in apps:
        a.join(timeout=30)
        assert not a.is_alive()

    on_victim = [a for a in apps if a.worker == victim]
    on_survivor = [a for a in apps if a.worker == survivor]
    for a in on_victim:
        assert a.error is not None, f"client {a.n} on the killed worker was not disconnected"
    for a in on_survivor:
        assert a.error is None, f"client {a.n} on the other worker failed: {a.error!r}"
        assert a.acked_after > 0, f"client {a.n} on the other worker made no progress after the kill"
        a.m.logout()

    # The master restarted the worker.
    end = time.time() + 10
    while (victim in children(s.proc.pid) or len(children(s.proc.pid)) != 2) and time.time() < end:
        time.sleep(0.05)
    kids = children(s.proc.pid)
    assert victim not in kids and survivor in kids and len(kids) == 2, (victim, kids)
    assert re.search(rf"worker \d \(pid {victim}\) died of signal 9; restarting", s.log_text()), \
        s.log_text()[-3000:]
    for _ in range(6):  # new connections work, whichever worker takes them
        m = s.imap("alice")
        assert m.select("INBOX")[0] == "OK"
        m.logout()
    assert time.time() - t_kill < 40

    have, acked = check_acknowledged(s, apps)
    assert len(have) >= len(acked)


def test_kill_whole_server_during_appends(make_server):
    s = make_server(conf={"workers": "2"})
    stop = threading.Event()
    apps = [Appender(s, n, stop) for n in range(6)]
    for a in apps:
        a.start()
    deadline = time.time() + 10
    while sum(len(a.acked) for a in apps) < 30 and time.time() < deadline:
        time.sleep(0.02)
    kill_server(s)
    # Each appender must meet the dead server (its next APPEND fails);
    # `stop` is only the safety net, set after they had the time to.
    for a in apps:
        a.join(timeout=30)
    stop.set()
    for a in apps:
        a.join(timeout=30)
        assert a.error is not None
    s.start()
    have, acked = check_acknowledged(s, apps)
    # The store still takes new mail, after the UIDs already given.
    m = s.imap("bob")
    typ, resp = m.append("INBOX", None, None, b"Subject: after\r\n\r\nafter the crash\r\n")
    assert typ == "OK"
    assert int(APPENDUID.search(resp[0]).group(2)) > max(have)
    m.logout()


class Deliverer(threading.Thread):
    def __init__(self, s, n, stop):
        super().__init__(daemon=True)
        self.n, self.stop = n, stop
        self.rnd = random.Random(2000 + n)
        self.lmtp = s.lmtp()
        self.sent = {}      # Message-ID -> bytes, every one tried
        self.acked = set()
        self.error = None

    def run(self):
        i = 0
        while not self.stop.is_set():
            data = make_msg(self.rnd, f"l{self.n}", i)
            i += 1
            mid = re.search(rb"Message-ID: (<[^>]+>)", data).group(1)
            self.sent[mid] = data
            try:
                refused = self.lmtp.sendmail("sender@example.com", ["bob@example.com"], data)
            except Exception as e:     # disconnected (or 4xx)
                self.error = e
                return
            assert refused == {}
            self.acked.add(mid)


def test_kill_during_lmtp_deliveries(make_server):
    s = make_server(conf={"workers": "2"})
    # bob's INBOX must exist before delivery
    s.imap("bob").logout()
    stop = threading.Event()
    ds = [Deliverer(s, n, stop) for n in range(4)]
    for d in ds:
        d.start()
    deadline = time.time() + 10
    while sum(len(d.acked) for d in ds) < 30 and time.time() < deadline:
        time.sleep(0.02)
    kill_server(s)
    # Each deliverer must meet the dead server (its next transaction
    # fails); `stop` is only the safety net, set after they had the time to.
    for d in ds:
        d.join(timeout=30)
    stop.set()
    for d in ds:
        d.join(timeout=30)
        assert d.error is not None
    s.start()
    have, _ = fetch_all(s)
    sent = {}
    for d in ds:
        sent.update(d.sent)
    found = {}
    for uid, (_, data) in have.items():
        mid = re.search(rb"Message-ID: (<[^>]+>)", data).group(1)
        assert mid not in found, f"{mid} delivered twice (UIDs {found.get(mid)} and {uid})"
        found[mid] = uid
        prefix = b"Return-Path: <sender@example.com>\r\nDelivered-To: bob@example.com\r\n"
        assert data == prefix + sent[mid], f"UID {uid}: not the message sent: {data[:300]!r}"
    acked = set().union(*(d.acked for d in ds))
    assert acked, "no delivery was acknowledged before the kill"
    missing = acked - set(found)
    assert not missing, f"acknowledged deliveries missing: {sorted(missing)[:5]}"
