"""Privilege separation: password hashes are checked by the auth process
(agorad-auth), not the workers. Logins run in parallel, a slow password
check does not hold up other sessions of the same worker, a killed auth
process is restarted, and logins in flight when it dies get
NO [UNAVAILABLE]."""
import os
import signal
import stat
import statistics
import threading
import time

from conftest import RawClient


def proc_children(pid):
    out = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                data = f.read()
            with open(f"/proc/{d}/comm") as f:
                comm = f.read().strip()
        except OSError:
            continue
        fields = data[data.rindex(")") + 2:].split()
        if int(fields[1]) == pid and fields[0] not in ("Z", "X"):
            out.append((int(d), comm))
    return out


def auth_pid(s, seconds=10, not_pid=None):
    end = time.time() + seconds
    while time.time() < end:
        pids = [p for p, c in proc_children(s.proc.pid) if c == "agorad-auth" and p != not_pid]
        if pids:
            return pids[0]
        time.sleep(0.05)
    raise AssertionError("no auth process:\n" + s.log_text()[-3000:])


def login_time(s, n=3):
    best = None
    for _ in range(n):
        r = s.raw()
        t = time.monotonic()
        r.login("bob")
        d = time.monotonic() - t
        best = d if best is None else min(best, d)
        r.close()
    return best


def test_auth_process_exists_and_socket_private(server):
    pid = auth_pid(server)
    assert pid != server.proc.pid
    st = os.stat(os.path.join(server.tmp, "conf", "auth.sock"))
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o600
    server.raw().login("bob").close()


def test_many_parallel_logins(make_server):
    users = [f"u{i}" for i in range(8)]
    s = make_server(users=users, conf={"workers": "2"})
    results = []
    lock = threading.Lock()

    def one(u):
        try:
            r = s.raw()
            resp = r.cmd("a", f"LOGIN {u} {u}pw")
            ok = resp[-1].startswith("a OK")
            resp = r.cmd("b", "LOGIN nosuch wrong") if ok else resp
            r.close()
        except Exception as e:  # noqa: BLE001
            ok = repr(e)
        with lock:
            results.append(ok)

    threads = [threading.Thread(target=one, args=(users[i % len(users)],)) for i in range(40)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert results.count(True) == 40, results


def test_slow_login_does_not_delay_other_sessions(make_server):
    s = make_server(conf={"workers": "1", "maxlogins_per_user": "0"})
    yescrypt = login_time(s)
    idle = s.raw().login("alice")
    stop = threading.Event()
    latencies = []

    def noops():
        i = 0
        while not stop.is_set():
            t = time.monotonic()
            resp = idle.cmd(f"n{i}", "NOOP")
            latencies.append(time.monotonic() - t)
            assert resp[-1].startswith(f"n{i} OK"), resp
            i += 1
            time.sleep(0.005)

    clients = [s.raw() for _ in range(10)]
    th = threading.Thread(target=noops)
    th.start()
    time.sleep(0.05)
    start = time.monotonic()
    for i, c in enumerate(clients):
        c.send(f"L{i} LOGIN bob bobpw\r\n")
    for i, c in enumerate(clients):
        assert c.until_tagged(f"L{i}")[-1].startswith(f"L{i} OK")
    took = time.monotonic() - start
    stop.set()
    th.join(10)
    # ten password checks take several yescrypt times; NOOPs meanwhile
    # are answered at once
    assert took > yescrypt, (took, yescrypt)
    assert len(latencies) >= 5, latencies
    p90 = sorted(latencies)[int(len(latencies) * 0.9)]
    assert p90 < yescrypt / 2, (p90, statistics.median(latencies), yescrypt, latencies)


def test_killed_auth_process_is_restarted(server):
    old = auth_pid(server)
    server.raw().login("bob").close()
    os.kill(old, signal.SIGKILL)
    new = auth_pid(server, not_pid=old)
    assert new != old
    # logins work again (at once: the master keeps the socket)
    r = server.raw()
    r.login("bob")
    r.close()
    assert "auth process" in server.log_text() and "restarting" in server.log_text()
    # a wrong password is still refused
    r = server.raw()
    assert r.cmd("a", "LOGIN bob nope")[-1].startswith("a NO [AUTHENTICATIONFAILED]")


def test_logins_in_flight_when_auth_dies_are_unavailable(make_server):
    s = make_server(conf={"workers": "1"})
    pid = auth_pid(s)
    clients = [s.raw() for _ in range(12)]
    for i, c in enumerate(clients):
        c.send(f"L{i} LOGIN bob bobpw\r\n")
    time.sleep(0.03)
    os.kill(pid, signal.SIGKILL)
    answers = [c.until_tagged(f"L{i}")[-1] for i, c in enumerate(clients)]
    for a in answers:
        assert " OK " in a or "NO [UNAVAILABLE]" in a, answers
    assert any("NO [UNAVAILABLE]" in a for a in answers), answers
    # the session stays usable: a new LOGIN goes to the restarted process
    auth_pid(s, not_pid=pid)
    c = clients[0]
    if "UNAVAILABLE" in answers[0]:
        assert c.cmd("again", "LOGIN bob bobpw")[-1].startswith("again OK")
    assert c.cmd("n", "NOOP")[-1].startswith("n OK")
