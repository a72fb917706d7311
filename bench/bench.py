#!/usr/bin/python3
"""Agora vs Dovecot: IMAP mixed load, login storm, memory per IDLE
connection, LMTP delivery. Standard library only; run via bench/run.sh.

Every loop is bounded in count and time; everything is on 127.0.0.1.
"""
import argparse
import json
import multiprocessing as mp
import os
import platform
import random
import re
import resource
import selectors
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import msgs  # noqa: E402
from servers import PASSWORD, Agora, Dovecot, cheap_hash  # noqa: E402

LIT_RE = re.compile(rb"\{(\d+)\}\r\n$")
UID_RE = re.compile(rb"UID (\d+)")
EXISTS_RE = re.compile(rb"^\* (\d+) EXISTS")

# Source addresses for client sockets: spreading connections over several
# loopback addresses keeps TIME_WAIT from exhausting ephemeral ports.
SRC_ADDRS = [f"127.0.0.{i}" for i in range(2, 34)]


def connect(port, src=None, timeout=30):
    s = socket.socket()
    s.settimeout(timeout)
    if src:
        s.bind((src, 0))
    s.connect(("127.0.0.1", port))
    s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    return s


class Imap:
    """A small blocking IMAP client: raw lines, literals, LITERAL+."""

    def __init__(self, port, src=None, timeout=30):
        self.sock = connect(port, src, timeout)
        self.f = self.sock.makefile("rb", buffering=1 << 16)
        self.n = 0
        self.greeting = self.f.readline()
        if not self.greeting.startswith(b"* OK"):
            raise RuntimeError(f"greeting {self.greeting!r}")

    def cmd(self, text, literal=None):
        """Send one command; return (ok, untagged lines incl. literals)."""
        self.n += 1
        tag = b"a%d" % self.n
        if literal is None:
            self.sock.sendall(tag + b" " + text + b"\r\n")
        else:
            self.sock.sendall(tag + b" " + text + b" {%d+}\r\n" % len(literal) + literal + b"\r\n")
        lines = []
        while True:
            line = self.f.readline()
            if not line:
                raise ConnectionError("closed by server")
            m = LIT_RE.search(line)
            while m:  # a literal, then the rest of the same response line
                data = self.f.read(int(m.group(1)))
                rest = self.f.readline()
                line = line + data + rest
                m = LIT_RE.search(rest)
            if line.startswith(tag + b" "):
                return line[len(tag) + 1:].startswith(b"OK"), lines
            lines.append(line)

    def login(self, user):
        ok, _ = self.cmd(b"LOGIN %s %s" % (user.encode(), PASSWORD.encode()))
        if not ok:
            raise RuntimeError(f"login {user} failed")

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass


# --------------------------------------------------------------------------
# Prefill


def prefill(port, users, corpus, parallel=4):
    """APPEND the same corpus into every user's INBOX."""
    errors = []

    def run(us):
        try:
            for u in us:
                c = Imap(port)
                c.login(u)
                for m in corpus:
                    ok, _ = c.cmd(b"APPEND INBOX", m)
                    if not ok:
                        raise RuntimeError(f"APPEND for {u} failed")
                c.cmd(b"LOGOUT")
                c.close()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=run, args=(users[i::parallel],)) for i in range(parallel)]
    for t in ts:
        t.start()
    for t in ts:
        t.join()
    if errors:
        raise errors[0]


# --------------------------------------------------------------------------
# Parallel runner: processes x threads, common start, fixed duration.


def _proc_main(fn, args_list, ready, go, start_at, duration, q):
    results = [None] * len(args_list)
    setup = threading.Barrier(len(args_list) + 1)

    def th(i, args):
        state = None
        try:
            state = fn("setup", None, args)
        except Exception as e:  # noqa: BLE001
            results[i] = {"error": repr(e)}
        setup.wait()
        go.wait()
        if state is None:
            return
        try:
            results[i] = fn("run", state, (start_at.value, start_at.value + duration))
        except Exception as e:  # noqa: BLE001
            results[i] = {"error": repr(e)}

    ts = [threading.Thread(target=th, args=(i, a)) for i, a in enumerate(args_list)]
    for t in ts:
        t.start()
    setup.wait()
    ready.release()
    for t in ts:
        t.join(timeout=duration + 120)
    q.put(results)


def parallel(fn, args_list, duration, nprocs=4):
    """Run fn for every args in args_list (each in its own thread, spread
    over nprocs processes): fn("setup", None, args) -> state, then all start
    together: fn("run", state, (t0, t1)) -> dict. Returns the dicts."""
    ctx = mp.get_context("fork")
    nprocs = min(nprocs, len(args_list))
    ready = ctx.Semaphore(0)
    go = ctx.Event()
    start_at = ctx.Value("d", 0.0)
    q = ctx.Queue()
    ps = [ctx.Process(target=_proc_main,
                      args=(fn, args_list[i::nprocs], ready, go, start_at, duration, q))
          for i in range(nprocs)]
    for p in ps:
        p.start()
    for _ in ps:
        if not ready.acquire(timeout=300):
            raise RuntimeError("clients did not get ready")
    start_at.value = time.time() + 0.2
    go.set()
    out = []
    for _ in ps:
        out.extend(q.get(timeout=duration + 300))
    for p in ps:
        p.join(timeout=30)
    return out


# --------------------------------------------------------------------------
# 1. IMAP mixed load

APPEND_MSG = msgs.make(random.Random(5), 99999, 5 * 1024)
COMMANDS = ["SELECT", "FETCH-window", "FETCH-body", "STORE+", "STORE-",
            "SEARCH-UNSEEN", "SEARCH-SUBJECT", "APPEND", "NOOP"]


def mixed_loop(c, rng, stats, t0, t1):
    """One realistic client iteration; stats[name] = [count, seconds]; only
    commands that complete inside [t0, t1] are counted. Returns False at t1."""
    def do(name, text, literal=None):
        s = time.time()
        ok, lines = c.cmd(text, literal)
        e = time.time()
        if not ok:
            raise RuntimeError(f"{name} failed")
        if s >= t0 and e <= t1:
            st = stats.setdefault(name, [0, 0.0])
            st[0] += 1
            st[1] += e - s
        return lines, e < t1

    lines, more = do("SELECT", b"SELECT INBOX")
    exists = 0
    for line in lines:
        m = EXISTS_RE.match(line)
        if m:
            exists = int(m.group(1))
    if not more or exists == 0:
        return more and exists > 0
    lo = rng.randint(1, max(1, exists - 49))
    lines, more = do("FETCH-window", b"FETCH %d:%d (FLAGS UID RFC822.SIZE ENVELOPE)"
                     % (lo, min(exists, lo + 49)))
    uids = [int(m.group(1)) for m in (UID_RE.search(x) for x in lines) if m]
    if not more:
        return False
    _, more = do("FETCH-body", b"FETCH %d BODY.PEEK[]" % rng.randint(1, exists))
    if not more:
        return False
    uid = rng.choice(uids) if uids else 1
    for name, op in (("STORE+", b"+"), ("STORE-", b"-")):
        _, more = do(name, b"UID STORE %d %sFLAGS (\\Seen)" % (uid, op))
        if not more:
            return False
    for name, text in (("SEARCH-UNSEEN", b"UID SEARCH UNSEEN"),
                       ("SEARCH-SUBJECT", b'SEARCH SUBJECT "x"')):
        _, more = do(name, text)
        if not more:
            return False
    _, more = do("APPEND", b"APPEND INBOX", APPEND_MSG)
    if not more:
        return False
    _, more = do("NOOP", b"NOOP")
    return more


def mixed_client(phase, state, args):
    if phase == "setup":
        port, user, seed = args
        c = Imap(port, src=SRC_ADDRS[seed % len(SRC_ADDRS)], timeout=60)
        c.login(user)
        rng = random.Random(seed)
        mixed_loop(c, rng, {}, 0, float("inf"))  # warm-up: one full loop
        return c, rng
    c, rng = state
    t0, t1 = args
    stats = {}
    while time.time() < t0:
        time.sleep(0.001)
    for _ in range(10_000_000):
        if not mixed_loop(c, rng, stats, t0, t1):
            break
    c.close()
    return {"stats": stats}


IMAPLOAD = None


def build_imapload():
    """Compiles bench/imapload.c (the same loop in C) into a temporary
    directory; None if there is no C compiler (the Python client is used)."""
    global IMAPLOAD
    out = os.path.join(tempfile.mkdtemp(prefix="imapload-"), "imapload")
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "imapload.c")
    r = subprocess.run(["cc", "-std=c17", "-O2", "-pthread", "-o", out, src], capture_output=True, text=True)
    if r.returncode != 0:
        log(f"imapload not built ({r.stderr.strip()[:200]}); the mixed load uses the Python client")
        return None
    IMAPLOAD = out
    return out


def bench_mixed_c(srv, clients, duration):
    with tempfile.NamedTemporaryFile(prefix="append-", suffix=".eml", delete=False) as f:
        f.write(APPEND_MSG)
    try:
        users = [f"{srv.users[i % len(srv.users)]}:{PASSWORD}" for i in range(clients)]
        r = subprocess.run([IMAPLOAD, str(srv.imap_port), str(duration), f.name] + users,
                           capture_output=True, text=True, timeout=duration + 600)
    finally:
        os.unlink(f.name)
    if r.returncode != 0:
        raise RuntimeError(f"imapload: {r.stderr.strip()}")
    return json.loads(r.stdout)


def bench_mixed(srv, clients, duration):
    if IMAPLOAD is not None:
        return bench_mixed_c(srv, clients, duration)
    args = [(srv.imap_port, srv.users[i % len(srv.users)], i) for i in range(clients)]
    res = parallel(mixed_client, args, duration)
    errs = [r["error"] for r in res if r and "error" in r]
    per = {}
    for r in res:
        if r and "stats" in r:
            for k, (n, s) in r["stats"].items():
                p = per.setdefault(k, [0, 0.0])
                p[0] += n
                p[1] += s
    total = sum(n for n, _ in per.values())
    return {"cmds_per_s": total / duration, "errors": errs[:3], "n_errors": len(errs),
            "per_command": {k: {"count": n, "mean_ms": 1000 * s / n if n else 0}
                            for k, (n, s) in sorted(per.items())}}


# --------------------------------------------------------------------------
# 2. Login storm


def login_client(phase, state, args):
    if phase == "setup":
        port, user, seed = args
        c = Imap(port, src=SRC_ADDRS[seed % len(SRC_ADDRS)])  # warm-up
        c.login(user)
        c.cmd(b"LOGOUT")
        c.close()
        return args
    port, user, seed = state
    t0, t1 = args
    src = SRC_ADDRS[seed % len(SRC_ADDRS)]
    n = 0
    while time.time() < t0:
        time.sleep(0.001)
    for _ in range(10_000_000):
        if time.time() >= t1:
            break
        c = Imap(port, src=src)
        c.login(user)
        c.cmd(b"LOGOUT")
        c.close()
        if time.time() <= t1:
            n += 1
    return {"logins": n}


def bench_login(srv, clients, duration):
    args = [(srv.imap_port, srv.users[i % len(srv.users)], i) for i in range(clients)]
    res = parallel(login_client, args, duration)
    errs = [r["error"] for r in res if r and "error" in r]
    return {"logins_per_s": sum(r.get("logins", 0) for r in res if r) / duration,
            "errors": errs[:3], "n_errors": len(errs)}


# --------------------------------------------------------------------------
# 3. Memory per IDLE connection


def open_idle(port, users, n, timeout, inflight=64):
    """Open n connections (non-blocking, selectors): LOGIN, SELECT INBOX,
    IDLE. Returns (list of idling sockets, failures)."""
    sel = selectors.DefaultSelector()
    idling, failed = [], 0
    started = 0
    pending = 0
    deadline = time.time() + timeout
    steps = [b"a LOGIN %s " + PASSWORD.encode() + b"\r\n", b"b SELECT INBOX\r\n", b"c IDLE\r\n"]

    def start(i):
        s = socket.socket()
        s.setblocking(False)
        s.bind((SRC_ADDRS[i % len(SRC_ADDRS)], 0))
        s.connect_ex(("127.0.0.1", port))
        st = {"sock": s, "buf": b"", "step": -1, "user": users[i % len(users)].encode()}
        sel.register(s, selectors.EVENT_READ, st)

    while (len(idling) + failed < n) and time.time() < deadline:
        while started < n and pending < inflight:
            start(started)
            started += 1
            pending += 1
        for key, _ in sel.select(timeout=1.0):
            st = key.data
            s = st["sock"]
            try:
                data = s.recv(65536)
            except BlockingIOError:
                continue
            except OSError:
                data = b""
            if not data:
                sel.unregister(s)
                s.close()
                failed += 1
                pending -= 1
                continue
            st["buf"] += data
            while b"\r\n" in st["buf"]:
                line, st["buf"] = st["buf"].split(b"\r\n", 1)
                step = st["step"]
                if step == -1:
                    ok = line.startswith(b"* OK")
                elif step < 2:
                    tag = b"ab"[step:step + 1] + b" "
                    if not line.startswith(tag):
                        continue
                    ok = line.startswith(tag + b"OK")
                else:
                    if line.startswith(b"+"):
                        ok = True
                    elif line.startswith(b"c "):
                        ok = False
                    else:
                        continue
                if not ok:
                    sel.unregister(s)
                    s.close()
                    failed += 1
                    pending -= 1
                    break
                st["step"] += 1
                if st["step"] == 3:
                    sel.unregister(s)
                    idling.append(s)
                    pending -= 1
                    break
                msg = steps[st["step"]]
                if st["step"] == 0:
                    msg = msg % st["user"]
                s.sendall(msg)
    for key in list(sel.get_map().values()):
        key.fileobj.close()
        failed += 1
    sel.close()
    return idling, failed


def bench_idle(srv, n, timeout=300):
    time.sleep(1.0)
    base = srv.pss_kib()
    base_procs = srv.nprocs()
    t = time.time()
    socks, failed = open_idle(srv.imap_port, srv.idle_users, n, timeout)
    opened = time.time() - t
    time.sleep(3.0)  # let every server process settle
    after = srv.pss_kib()
    procs = srv.nprocs()
    for s in socks:
        try:
            s.sendall(b"DONE\r\nd LOGOUT\r\n")
        except OSError:
            pass
        s.close()
    time.sleep(2.0)
    ok = len(socks)
    return {"connections": ok, "failed": failed, "open_seconds": round(opened, 1),
            "baseline_pss_kib": base, "pss_kib": after, "procs_before": base_procs,
            "procs_after": procs,
            "kib_per_conn": (after - base) / ok if ok else None}


# --------------------------------------------------------------------------
# 4. LMTP delivery


def lmtp_reply(f):
    lines = []
    while True:
        line = f.readline()
        if not line:
            raise ConnectionError("LMTP connection closed")
        lines.append(line)
        if line[3:4] != b"-":
            return int(line[:3]), lines


def dot_stuff(m):
    m = m.replace(b"\r\n.", b"\r\n..")
    if m.startswith(b"."):
        m = b"." + m
    if not m.endswith(b"\r\n"):
        m += b"\r\n"
    return m + b".\r\n"


def lmtp_send(port, items, errors):
    s = connect(port, timeout=120)
    f = s.makefile("rb")
    try:
        if lmtp_reply(f)[0] != 220:
            raise RuntimeError("LMTP greeting")
        s.sendall(b"LHLO bench.example\r\n")
        lmtp_reply(f)
        for rcpt, data in items:
            s.sendall(b"MAIL FROM:<sender@example.org>\r\n")
            c1, l1 = lmtp_reply(f)
            s.sendall(b"RCPT TO:<%s@example.com>\r\n" % rcpt.encode())
            c2, l2 = lmtp_reply(f)
            if c1 != 250 or c2 != 250:
                raise RuntimeError(f"LMTP MAIL/RCPT {l1} {l2}")
            s.sendall(b"DATA\r\n")
            c3, l3 = lmtp_reply(f)
            if c3 != 354:
                raise RuntimeError(f"LMTP DATA {l3}")
            s.sendall(data)
            c4, l4 = lmtp_reply(f)
            if c4 != 250:
                raise RuntimeError(f"LMTP delivery {l4}")
        s.sendall(b"QUIT\r\n")
        lmtp_reply(f)
    except Exception as e:  # noqa: BLE001
        errors.append(repr(e))
    finally:
        s.close()


def inbox_counts(srv):
    out = {}
    for u in srv.users:
        c = Imap(srv.imap_port)
        c.login(u)
        ok, lines = c.cmd(b"STATUS INBOX (MESSAGES)")
        out[u] = int(re.search(rb"MESSAGES (\d+)", lines[0]).group(1))
        c.cmd(b"LOGOUT")
        c.close()
    return out


_lmtp_round = [0]


def unique_ids(m, tag):
    """The message with its Message-ID made unique to this round: every
    round (warm-up, 1 connection, 4 connections) delivers new mail, so
    Agora's duplicate suppression (on by default; Dovecot has none) keeps
    nothing out and both servers store every message."""
    return re.sub(rb"(?im)^(Message-ID: <)", rb"\g<1>" + tag + b".", m, count=1)


def bench_lmtp(srv, corpus, conns):
    _lmtp_round[0] += 1
    tag = b"r%d" % _lmtp_round[0]
    items = [(srv.users[i % len(srv.users)], dot_stuff(unique_ids(m, tag))) for i, m in enumerate(corpus)]
    warm = [(u, dot_stuff(unique_ids(m, tag + b"w"))) for u, m in
            ((srv.users[i % len(srv.users)], corpus[i]) for i in range(20))]
    errors = []
    threads = [threading.Thread(target=lmtp_send, args=(srv.lmtp_port, warm[i::4], errors))
               for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=300)
    before = inbox_counts(srv)
    t = time.time()
    threads = [threading.Thread(target=lmtp_send, args=(srv.lmtp_port, items[i::conns], errors))
               for i in range(conns)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(timeout=1800)
    dt = time.time() - t
    after = inbox_counts(srv)
    expected = {u: 0 for u in srv.users}
    for u, _ in items:
        expected[u] += 1
    missing = sum(max(0, expected[u] - (after[u] - before[u])) for u in srv.users)
    return {"msgs_per_s": len(items) / dt, "seconds": round(dt, 2), "messages": len(items),
            "verified": missing == 0 and not errors, "missing": missing, "errors": errors[:3],
            "mb_per_s": sum(len(m) for m in corpus) / dt / 1e6}


# --------------------------------------------------------------------------


def machine():
    model = "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    mem = 0
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemTotal:"):
                mem = int(line.split()[1]) // 1024
    return {"nproc": os.cpu_count(), "model": model, "mem_mib": mem,
            "kernel": platform.release(), "date": time.strftime("%Y-%m-%d %H:%M %Z")}


def mem_available_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("MemAvailable:"):
                return int(line.split()[1])
    return 0


def log(*a):
    print(time.strftime("%H:%M:%S"), *a, flush=True)


def run_server(kind, srv, a, corpora, results):
    r = results.setdefault(kind, {})
    log(f"[{kind}] prefill {len(srv.users)} users x {len(corpora['imap'])} messages")
    t = time.time()
    prefill(srv.imap_port, srv.users + srv.idle_users, corpora["imap"])
    r["prefill_seconds"] = round(time.time() - t, 1)
    log(f"[{kind}] prefill took {r['prefill_seconds']} s")
    for n in a.mixed:
        log(f"[{kind}] IMAP mixed load, {n} clients, {a.duration} s")
        r[f"mixed_{n}"] = bench_mixed(srv, n, a.duration)
        log(f"[{kind}]   {r[f'mixed_{n}']['cmds_per_s']:.0f} cmds/s, errors {r[f'mixed_{n}']['n_errors']}")
    if a.login_duration > 0:  # --login-duration 0 leaves the storm out
        log(f"[{kind}] login storm, 20 clients, {a.login_duration} s")
        r["login_20"] = bench_login(srv, 20, a.login_duration)
        log(f"[{kind}]   {r['login_20']['logins_per_s']:.0f} logins/s")
    for n in a.idle:
        per = [v["kib_per_conn"] for k, v in r.items() if k.startswith("idle_") and v.get("kib_per_conn")]
        if per and per[-1] * n * 1.5 > mem_available_kib() * 0.6:
            r[f"idle_{n}"] = {"skipped": f"estimated {per[-1] * n / 1024:.0f} MiB > 60% of available memory"}
            log(f"[{kind}] idle {n}: skipped ({r[f'idle_{n}']['skipped']})")
            continue
        log(f"[{kind}] idle connections: {n}")
        r[f"idle_{n}"] = bench_idle(srv, n)
        log(f"[{kind}]   {r[f'idle_{n}']}")
    for conns in a.lmtp_conns:
        # A round of 2,000 messages lasts seconds, and the disk's speed
        # drifts from one to the next: the median of several rounds.
        rounds = []
        for i in range(a.lmtp_rounds):
            log(f"[{kind}] LMTP {len(corpora['lmtp'])} messages over {conns} connection(s), round {i + 1}")
            rounds.append(bench_lmtp(srv, corpora["lmtp"], conns))
            log(f"[{kind}]   {rounds[-1]}")
        med = sorted(rounds, key=lambda x: x["msgs_per_s"])[len(rounds) // 2]
        r[f"lmtp_{conns}"] = dict(med, rounds=[round(x["msgs_per_s"], 1) for x in rounds],
                                  verified=all(x["verified"] for x in rounds))


def table(results, a):
    ag, dv = results.get("agora", {}), results.get("dovecot", {})
    rows = []

    def row(metric, key, field, unit, higher_better=True):
        x = ag.get(key, {}).get(field)
        y = dv.get(key, {}).get(field)
        if x and y:
            ratio = x / y if higher_better else y / x
        else:
            ratio = None
        rows.append((metric, unit, x, y, ratio))

    for n in a.mixed:
        row(f"IMAP mixed load, {n} clients", f"mixed_{n}", "cmds_per_s", "cmds/s")
    if a.login_duration > 0:
        row("Login storm, 20 clients", "login_20", "logins_per_s", "logins/s")
    for n in a.idle:
        row(f"Memory per IDLE conn, {n} conns", f"idle_{n}", "kib_per_conn", "KiB PSS", False)
    for c in a.lmtp_conns:
        row(f"LMTP delivery, {c} conn(s)", f"lmtp_{c}", "msgs_per_s", "msgs/s")
    out = ["| metric | unit | Agora | Dovecot | ratio |", "| --- | --- | ---: | ---: | ---: |"]
    for m, u, x, y, r in rows:
        f = (lambda v: "n/a" if v is None else f"{v:,.0f}" if v >= 100 else f"{v:.1f}")
        out.append(f"| {m} | {u} | {f(x)} | {f(y)} | {'n/a' if r is None else f'{r:.2f}'} |")
    return "\n".join(out)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--servers", default="agora,dovecot")
    p.add_argument("--users", type=int, default=20)
    p.add_argument("--messages", type=int, default=200)
    p.add_argument("--duration", type=float, default=20)
    p.add_argument("--login-duration", type=float, default=15)
    p.add_argument("--mixed", default="10,50")
    p.add_argument("--idle", default="1000,10000")
    p.add_argument("--lmtp-messages", type=int, default=2000)
    p.add_argument("--lmtp-conns", default="1,4")
    p.add_argument("--lmtp-rounds", type=int, default=3,
                   help="deliver the LMTP messages this many times per step; the median counts")
    p.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)),
                                                 "results", "latest.json"))
    p.add_argument("--keep", action="store_true", help="keep the temporary directories")
    p.add_argument("--python-client", action="store_true",
                   help="drive the mixed load with the Python client instead of imapload")
    p.add_argument("--hold", type=float, default=0,
                   help="keep servers running this many seconds after start (for perf attach)")
    a = p.parse_args()
    ints = lambda s: [int(x) for x in s.split(",") if x]  # noqa: E731
    a.mixed, a.idle, a.lmtp_conns = ints(a.mixed), ints(a.idle), ints(a.lmtp_conns)

    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    log(f"RLIMIT_NOFILE {hard}")
    if a.idle and max(a.idle) + 100 > hard:
        log(f"note: client fd limit {hard} < {max(a.idle)} connections")

    users = [f"u{i:03d}" for i in range(1, a.users + 1)]
    idle_users = [f"idle{i:03d}" for i in range(1, a.users + 1)]
    cheap = cheap_hash()
    if not a.python_client:
        build_imapload()
    log("generating messages")
    corpora = {"imap": msgs.corpus(a.messages, 1024, 100 * 1024, seed=1),
               "lmtp": msgs.corpus(a.lmtp_messages, 1024, 200 * 1024, seed=2)}
    results = {"machine": machine(), "params": vars(a)}
    tmps = []
    hash_ = None
    try:
        for kind in a.servers.split(","):
            tmp = tempfile.mkdtemp(prefix=f"bench-{kind}-")
            tmps.append(tmp)
            if kind == "agora":
                srv = Agora(tmp, users, cheap_users=idle_users, cheap=cheap)
                hash_ = srv.password_hash()
            else:
                if hash_ is None:  # make the same kind of hash with Agora's tool
                    t2 = tempfile.mkdtemp(prefix="bench-hash-")
                    tmps.append(t2)
                    hash_ = Agora(t2, users[:1]).password_hash()
                srv = Dovecot(tmp, users, hash_, cheap_users=idle_users, cheap=cheap)
            srv.users, srv.idle_users = users, idle_users
            log(f"[{kind}] starting in {tmp}; password hash scheme {hash_.split('$')[1] if '$' in hash_ else '?'}")
            srv.start()
            log(f"[{kind}] pid {srv.proc.pid}, IMAP {srv.imap_port}, LMTP {srv.lmtp_port}")
            if a.hold:
                time.sleep(a.hold)
            try:
                run_server(kind, srv, a, corpora, results)
            finally:
                srv.stop()
                results[kind]["log_tail"] = srv.log_text()[-1500:]
                os.makedirs(os.path.dirname(a.out), exist_ok=True)
                with open(a.out, "w") as f:  # after each server: a partial run keeps its data
                    json.dump(results, f, indent=1, default=str)
    finally:
        if not a.keep:
            for t in tmps:
                shutil.rmtree(t, ignore_errors=True)
    os.makedirs(os.path.dirname(a.out), exist_ok=True)
    with open(a.out, "w") as f:
        json.dump(results, f, indent=1, default=str)
    m = results["machine"]
    print()
    print(f"Results {m['date']}, {m['nproc']} x {m['model']}, {m['mem_mib']} MiB, Linux {m['kernel']}")
    print("ratio = Agora/Dovecot for throughput, Dovecot/Agora for memory (>1: Agora better)")
    print(table(results, a))
    print()
    for kind in ("agora", "dovecot"):
        for n in a.mixed:
            pc = results.get(kind, {}).get(f"mixed_{n}", {}).get("per_command", {})
            if pc:
                print(f"{kind} mixed_{n} mean latency ms: " +
                      ", ".join(f"{k} {v['mean_ms']:.2f}" for k, v in pc.items()))


if __name__ == "__main__":
    main()
