#!/usr/bin/env python3
"""How LIST and SELECT of a user with a few shares scale with the size of the
store: 10,000 users and 1,000 shares against 10 users, the same user with the
same 5 shares in both.

    AGORA_BUILD=build python3 bench/bench_sharing.py [--users N] [--shares N] [--rounds N]

How the big store is made (making it through `agora user add` would spend
minutes in yescrypt):
- the users table gets its rows straight through sqlite3, every row with the
  one hash `agora user add` computed for the first user (the server is not
  running then; logins use the real password check);
- every user's INBOX is made by the real server: an admin's `CREATE user.NAME`
  over IMAP, from several connections at once;
- the shares are the admin's `SETACL user.NAME GRANTEE lr` over IMAP: the
  first 5 grant to the measured user `target`, the rest to other users.
Then `target` times LIST "" "*" and SELECT of one shared mailbox (median of
--rounds), once against the big store and once against a store of 10 users.
Benchmarks are not tests: this prints numbers and checks only that the answers
are right.
"""
import argparse
import os
import sqlite3
import statistics
import sys
import tempfile
import shutil
import threading
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, os.path.join(ROOT, "tests", "proto"))
from conftest import Server  # noqa: E402  (the protocol tests' harness)

TARGET_SHARES = 5
TIME_LIMIT = 300


def cmd(m, text):
    """Sends one command on an imaplib connection; returns its lines."""
    tag = m._new_tag().decode()
    m.send(f"{tag} {text}\r\n".encode())
    lines = []
    while True:
        line = m.readline().decode("utf-8", "replace").rstrip("\r\n")
        if not line:
            raise ConnectionError(lines)
        lines.append(line)
        if line.startswith(tag + " "):
            if not line.startswith(tag + " OK"):
                raise RuntimeError(f"{text!r}: {line}")
            return lines


def parallel(server, items, fn, conns=8):
    """Runs fn(connection, item) for every item over `conns` admin sessions."""
    chunks = [items[i::conns] for i in range(conns)]
    errors = []

    def work(chunk):
        try:
            m = server.imap("admin")
            for it in chunk:
                fn(m, it)
            m.logout()
        except Exception as e:  # reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(c,)) for c in chunks if c]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def build_store(nusers, nshares):
    tmp = tempfile.mkdtemp(prefix="agora-bench-")
    server = Server(tmp, conf={"workers": "4"}, users=("admin", "target"))
    db = os.path.join(server.settings["configdirectory"], "agora.db")
    con = sqlite3.connect(db)
    hash_, = con.execute("SELECT hash FROM users WHERE name = 'target'").fetchone()
    others = [f"u{i:05d}" for i in range(nusers - 2)]
    now = int(time.time())
    con.executemany("INSERT INTO users(name, hash, created) VALUES(?, ?, ?)",
                    [(u, hash_, now) for u in others])
    con.commit()
    con.close()
    server.start()
    t0 = time.time()
    parallel(server, ["target"] + others, lambda m, u: cmd(m, f"CREATE user.{u}"))
    t_create = time.time() - t0
    # shares: the first ones to target, then others to each other
    grants = []
    for i in range(nshares):
        owner = others[i % len(others)]
        grantee = "target" if i < TARGET_SHARES else others[(i * 7 + 1) % len(others)]
        if grantee == owner:
            grantee = others[(i * 7 + 2) % len(others)]
        grants.append((owner, grantee))
    t0 = time.time()
    parallel(server, grants, lambda m, g: cmd(m, f"SETACL user.{g[0]} {g[1]} lr"))
    t_share = time.time() - t0
    return server, tmp, grants, t_create, t_share


def measure(server, grants, rounds):
    m = server.imap("target")
    shared = [f"user.{o}" for o, g in grants if g == "target"]
    assert len(shared) == TARGET_SHARES, shared
    lines = cmd(m, 'LIST "" "*"')
    listed = {l.rsplit(" ", 1)[1].strip('"') for l in lines[:-1]}
    assert set(shared) | {"INBOX"} <= listed, (shared, sorted(listed)[:20])
    assert all(n == "INBOX" or n in shared or n == "user" for n in listed), sorted(listed)[:20]
    for _ in range(5):  # warm up: statement cache, page cache
        cmd(m, 'LIST "" "*"')
    t_list, t_select = [], []
    for i in range(rounds):
        t0 = time.perf_counter()
        cmd(m, 'LIST "" "*"')
        t_list.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        out = cmd(m, f"SELECT {shared[i % len(shared)]}")
        t_select.append(time.perf_counter() - t0)
        assert "OK [READ-ONLY]" in out[-1], out
        cmd(m, "UNSELECT")
    m.logout()
    return statistics.median(t_list), statistics.median(t_select)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--users", type=int, default=10000)
    ap.add_argument("--shares", type=int, default=1000)
    ap.add_argument("--small-users", type=int, default=10)
    ap.add_argument("--rounds", type=int, default=50)
    a = ap.parse_args()
    start = time.time()
    results = {}
    for label, nusers, nshares in (("small", a.small_users, TARGET_SHARES),
                                   ("large", a.users, a.shares)):
        server, tmp, grants, t_create, t_share = build_store(nusers, nshares)
        try:
            results[label] = measure(server, grants, a.rounds)
        finally:
            server.stop()
            shutil.rmtree(tmp, ignore_errors=True)
        print(f"{label}: {nusers} users ({t_create:.1f}s to create their INBOXes), "
              f"{nshares} shares ({t_share:.1f}s); target has {TARGET_SHARES}: "
              f"LIST \"\" \"*\" {results[label][0] * 1000:.2f} ms, "
              f"SELECT {results[label][1] * 1000:.2f} ms (median of {a.rounds})", flush=True)
        if time.time() - start > TIME_LIMIT:
            sys.exit("over the time limit")
    (ls, ss), (ll, sl) = results["small"], results["large"]
    print(f"ratio large/small: LIST {ll / ls:.2f}x, SELECT {sl / ss:.2f}x")


if __name__ == "__main__":
    main()
