"""Randomized quota test (seeded, bounded in time): random APPEND, COPY,
MOVE, EXPUNGE, LMTP delivery, DELETE/CREATE, RENAME and SETQUOTA against random
limits on a few roots, one of them on a subfolder (user.bob.B) that comes
and goes. After every step:

- GETQUOTA's usage of every root equals floor(sum of RFC822.SIZE / 1024)
  and the count over the messages of the mailboxes the root covers;
- no root is above a limit, unless SETQUOTA lowered the limit below the
  usage, and then the step did not increase it;
- whether an APPEND, COPY, MOVE, RENAME or delivery was refused [OVERQUOTA] is
  exactly whether it would have crossed a limit (Agora refuses the message
  that would cross, and lets in the one that fits)."""
import os
import random
import time

import pytest

from conftest import message
from quotalib import Lmtp, Session, big_message, tagged

SECONDS = float(os.environ.get("AGORA_QUOTA_RANDOM_SECONDS", "20"))
MAX_STEPS = 400

# bob's view of every mailbox and its internal name
MAILBOXES = {
    "INBOX": "user.bob",
    "INBOX.A": "user.bob.A",
    "INBOX.B": "user.bob.B",
    "INBOX.B.C": "user.bob.B.C",
    "INBOX.B.A": "user.bob.B.A",   # INBOX.A renamed under the subfolder root
    "user.alice": "user.alice",
}
LEAVES = ["INBOX.A", "INBOX.B.C"]  # deletable and recreatable


class World:
    def __init__(self, server, rng):
        self.server = server
        self.rng = rng
        self.bob = Session(server, "bob")       # does the operations
        self.check = Session(server, "bob")     # reads sizes
        self.admin = Session(server, "admin")   # reads and sets quotas
        self.existing = set(MAILBOXES) - {"INBOX.B.A"}
        self.limits = {}                        # root -> (storage KiB or None, messages or None)
        self.usage = {}                         # root -> (bytes, count), last verified
        self.n = 0
        self.outcomes = {}                      # expected OK/refused -> how often

    # -- the truth, from the messages
    def covering(self, internal):
        best = None
        for r in self.limits:
            if (internal == r or internal.startswith(r + ".")) and (best is None or len(r) > len(best)):
                best = r
        return best

    def truth(self):
        per_root = {r: [0, 0] for r in self.limits}
        self.sizes = {}
        for ext in sorted(self.existing):
            sizes = self.check.fetch_sizes(ext)
            self.sizes[ext] = sizes
            r = self.covering(MAILBOXES[ext])
            if r is not None:
                per_root[r][0] += sum(sizes)
                per_root[r][1] += len(sizes)
        return {r: tuple(v) for r, v in per_root.items()}

    def reported(self):
        out = {}
        for r in self.limits:
            lines, q = self.admin.getquota(r)
            assert tagged(lines)[0] == "OK", lines
            q = q[r]
            out[r] = (q.get("STORAGE", (None,))[0], q.get("MESSAGE", (None,))[0])
            st, ms = self.limits[r]
            assert q.get("STORAGE", (None, None))[1] == st and q.get("MESSAGE", (None, None))[1] == ms, (r, q)
        return out

    def verify(self, what, after_setquota=False):
        truth = self.truth()
        rep = self.reported()
        for r, (b, c) in truth.items():
            assert rep[r] == ((b // 1024) if self.limits[r][0] is not None else None,
                              c if self.limits[r][1] is not None else None), \
                (self.n, what, r, "reported", rep[r], "messages", b, c)
            st, ms = self.limits[r]
            pb, pc = self.usage.get(r, (0, 0))
            if not after_setquota:
                if st is not None and b > st * 1024:
                    assert b <= pb, (self.n, what, r, "storage over limit and increased", pb, b, st)
                if ms is not None and c > ms:
                    assert c <= pc, (self.n, what, r, "messages over limit and increased", pc, c, ms)
        self.usage = truth

    def fits(self, ext_dst, nbytes, nmsgs):
        """Whether adding to the root of ext_dst stays within its limits."""
        r = self.covering(MAILBOXES[ext_dst])
        if r is None:
            return True
        st, ms = self.limits[r]
        b, c = self.usage[r]
        # only what grows is checked: adding nothing always fits
        return ((st is None or nbytes == 0 or b + nbytes <= st * 1024) and
                (ms is None or nmsgs == 0 or c + nmsgs <= ms))

    # -- operations
    def op_append(self):
        dst = self.rng.choice(sorted(self.existing))
        size = self.rng.randint(250, 6000)
        expect = self.fits(dst, size, 1)
        lines = self.bob.append(dst, big_message(f"m{self.n}", size))
        self.expect(lines, expect, f"APPEND {size} to {dst}")

    def expect(self, lines, ok, what):
        self.outcomes[ok] = self.outcomes.get(ok, 0) + 1
        st, text = tagged(lines)
        if ok:
            assert st == "OK", (self.n, what, lines, self.usage, self.limits)
        else:
            assert st == "NO" and "[OVERQUOTA]" in text, (self.n, what, lines, self.usage, self.limits)

    def pick(self):
        """A non-empty existing mailbox, selected, and a random set of its UIDs."""
        full = [m for m in sorted(self.existing) if self.sizes.get(m)]
        if not full:
            return None
        src = self.rng.choice(full)
        lines = self.bob.ok(f"SELECT {src}")
        n = next(int(ln.split()[1]) for ln in lines if ln.endswith(" EXISTS"))
        assert n == len(self.sizes[src])
        seqs = sorted(self.rng.sample(range(1, n + 1), self.rng.randint(1, min(n, 4))))
        return src, seqs

    def op_copy(self, move=False):
        p = self.pick()
        if p is None:
            return
        src, seqs = p
        dst = self.rng.choice(sorted(self.existing))
        nbytes = sum(self.sizes[src][s - 1] for s in seqs)
        same = self.covering(MAILBOXES[src]) == self.covering(MAILBOXES[dst])
        expect = (move and same) or self.fits(dst, nbytes, len(seqs))
        if move and src == dst:
            expect = True
        verb = ("UID " if self.rng.random() < 0.3 else "") + ("MOVE" if move else "COPY")
        if verb.startswith("UID"):
            lines = self.bob.ok("FETCH " + ",".join(map(str, seqs)) + " UID")
            ids = [ln.split("UID ")[1].rstrip(")") for ln in lines if ln.startswith("* ") and " FETCH " in ln]
        else:
            ids = [str(s) for s in seqs]
        lines = self.bob.cmd(f"{verb} {','.join(ids)} {dst}")
        self.expect(lines, expect, f"{verb} {len(seqs)} ({nbytes} bytes) {src} -> {dst}")

    def op_move(self):
        self.op_copy(move=True)

    def op_expunge(self):
        p = self.pick()
        if p is None:
            return
        src, seqs = p
        self.bob.ok("STORE " + ",".join(map(str, seqs)) + " +FLAGS.SILENT (\\Deleted)")
        self.bob.ok(self.rng.choice(["EXPUNGE", "CLOSE"]))

    def op_lmtp(self):
        users = self.rng.sample(["bob", "alice"], self.rng.randint(1, 2))
        size = self.rng.randint(300, 5000)
        data = big_message(f"l{self.n}", size)
        sender = "sender@example.com"
        expects = []
        for u in users:
            addr = f"{u}@example.com"
            stored = len(f"Return-Path: <{sender}>\r\nDelivered-To: {addr}\r\n") + size
            expects.append(self.fits("INBOX" if u == "bob" else "user.alice", stored, 1))
        lm = Lmtp(self.server)
        rr, dr = lm.deliver([f"{u}@example.com" for u in users], data, sender)
        lm.close()
        assert all(x.startswith("250") for x in rr), rr
        for u, ok, reply in zip(users, expects, dr):
            assert reply.startswith("250" if ok else "452 4.2.2"), (self.n, u, size, reply, self.usage, self.limits)

    def op_delete(self):
        leaf = self.rng.choice(LEAVES)
        if leaf in self.existing:
            self.bob.ok(f"DELETE {leaf}")
            self.existing.discard(leaf)
        else:
            self.bob.ok(f"CREATE {leaf}")
            self.existing.add(leaf)

    def op_rename(self):
        pair = ["INBOX.A", "INBOX.B.A"]
        self.rng.shuffle(pair)
        src, dst = pair
        if src not in self.existing or dst in self.existing:
            return
        if self.rng.random() < 0.5:
            self.bob.cmd("UNSELECT")
        sizes = self.sizes.get(src, [])
        same = self.covering(MAILBOXES[src]) == self.covering(MAILBOXES[dst])
        expect = same or self.fits(dst, sum(sizes), len(sizes))
        lines = self.bob.cmd(f"RENAME {src} {dst}")
        self.expect(lines, expect, f"RENAME {src} ({len(sizes)}, {sum(sizes)} bytes) -> {dst}")
        if expect:
            self.existing.discard(src)
            self.existing.add(dst)

    def random_limits(self, root):
        b, c = self.usage.get(root, (0, 0))
        st = self.rng.choice([None, self.rng.randint(0, 60), b // 1024 + self.rng.randint(0, 12)])
        ms = self.rng.choice([None, self.rng.randint(0, 15), c + self.rng.randint(0, 3)])
        if st is None and ms is None:
            ms = self.rng.randint(1, 15)
        return st, ms

    def setquota(self, root, limits):
        st, ms = limits
        parts = ([f"STORAGE {st}"] if st is not None else []) + ([f"MESSAGE {ms}"] if ms is not None else [])
        self.admin.ok(f"SETQUOTA {root} ({' '.join(parts)})")
        if parts:
            self.limits[root] = (st, ms)
        else:
            self.limits.pop(root, None)

    def op_setquota(self):
        root = self.rng.choice(["user.bob", "user.bob.B", "user.alice"])
        if root == "user.bob.B" and root in self.limits and self.rng.random() < 0.4:
            self.setquota(root, (None, None))   # the subfolder root goes away
        else:
            self.setquota(root, self.random_limits(root))


OPS = [("op_append", 30), ("op_copy", 12), ("op_move", 12), ("op_expunge", 12),
       ("op_lmtp", 12), ("op_delete", 4), ("op_rename", 4), ("op_setquota", 6)]


@pytest.mark.parametrize("seed", [int(os.environ.get("AGORA_QUOTA_SEED", "20261123")), 7])
def test_random_quota_sequences(make_server, seed):
    server = make_server()
    rng = random.Random(seed)
    Session(server, "alice").close()
    al = Session(server, "alice")
    al.ok("SETACL INBOX bob lrswipkxte")
    al.close()
    w = World(server, rng)
    for ext in ("INBOX.A", "INBOX.B", "INBOX.B.C"):
        w.bob.ok(f"CREATE {ext}")
    for root in ("user.bob", "user.bob.B", "user.alice"):
        w.setquota(root, w.random_limits(root))
    w.verify("start", after_setquota=True)
    names = [o for o, _ in OPS]
    weights = [wt for _, wt in OPS]
    end = time.time() + SECONDS
    while w.n < MAX_STEPS and time.time() < end:
        w.n += 1
        op = rng.choices(names, weights)[0]
        getattr(w, op)()
        w.verify(op, after_setquota=(op == "op_setquota"))
    assert w.n >= 20, "too few steps to mean anything"
    print(f"seed {seed}: {w.n} steps, outcomes {w.outcomes}")
    assert w.outcomes.get(True, 0) > 0 and w.outcomes.get(False, 0) > 0, w.outcomes
    for s in (w.bob, w.check, w.admin):
        s.close()
    # and the store agrees with itself
    assert server.agora("quota", "-f").stdout == ""
