"""Random ACLs against a model of RFC 4314 as DESIGN.md states it.

A seeded sequence of SETACLs (users, groups in both spellings, anyone,
authenticated, negative entries) interleaved with commands by every user.
For each command the model says whether it must succeed: rights are the
union of the matching positive entries minus the union of the matching
negative ones, plus l and a for the owner and for admins. A mailbox without
l must never show: not in LIST, not in any response, and every answer about
it equals the answer about a name that does not exist.
"""
import os
import random
import re
import time

import pytest

from conftest import message
from imapsession import Session, q

SEED = int(os.environ.get("ACL_RANDOM_SEED", "4314"))
OPERATIONS = 300
USERS = ["u1", "u2", "u3", "u4", "u5", "u6"]
GROUPS = {"g1": ["u1", "u2", "u3"], "g2": ["u3", "u4"]}
LETTERS = "lrswipkxtea"
IDENTS = (USERS + ["group:g1", "group:g2", "$g2", "anyone", "authenticated"]
          + ["-u3", "-u5", "-group:g1", "-$g2", "-anyone", "-authenticated"])
# owner creates the user mailboxes, admin the shared ones; parents first
BASE = ["user.u1.a", "user.u1.a.b", "user.u2.c", "user.u3.d", "pub", "pub.x", "team", "team.y"]


def owner(name):
    parts = name.split(".")
    return parts[1] if parts[0] == "user" and len(parts) > 1 else None


class Model:
    def __init__(self):
        self.acl = {}   # internal name -> {identifier: set of letters}

    def matches(self, ident, user):
        if ident in ("anyone",):
            return True
        if ident == "authenticated":
            return True
        if ident.startswith("group:") or ident.startswith("$"):
            g = ident[6:] if ident.startswith("group:") else ident[1:]
            return user in GROUPS.get(g, [])
        return ident == user

    def rights(self, user, name):
        pos, neg = set(), set()
        for ident, r in self.acl[name].items():
            if ident.startswith("-"):
                if self.matches(ident[1:], user):
                    neg |= r
            elif self.matches(ident, user):
                pos |= r
        got = pos - neg
        if owner(name) == user or user == "admin":
            got |= {"l", "a"}
        return got

    @staticmethod
    def fmt(rights):
        s = "".join(c for c in LETTERS if c in rights)
        if {"k", "x"} <= rights:
            s += "c"
        if {"t", "e"} <= rights:
            s += "d"
        return s

    def children(self, name):
        return [n for n in self.acl if n.startswith(name + ".")]


def ext(name, user):
    """Standard namespace, as `user` sees the internal name."""
    if name == f"user.{user}":
        return "INBOX"
    if name.startswith(f"user.{user}."):
        return "INBOX" + name[len(f"user.{user}"):]
    return name


def parse_acl(line):
    words = line.split(" ")
    assert words[:2] == ["*", "ACL"], line
    out = {}
    for ident, rights in zip(words[3::2], words[4::2]):
        out[ident] = set(rights) - {"c", "d"}
    return out


class Run:
    def __init__(self, server, rng):
        self.rng = rng
        self.model = Model()
        self.admin = Session(server, "admin")
        self.s = {u: Session(server, u) for u in USERS}
        self.extra = 0
        self.checks = 0

    # --- helpers ---------------------------------------------------------

    def refresh_acl(self, name):
        self.model.acl[name] = parse_acl(self.admin.ok(f"GETACL {q(name)}")[0])

    def same_as_nonexistent(self, sess, template, name):
        """Runs template for an invisible mailbox and for a nonexistent
        sibling; the answers must be equal and must not name it."""
        user = sess.user
        hidden, nosuch = ext(name, user), ext(name + "zz", user)
        got = sess.cmd(template.format(q(hidden)))
        want = sess.cmd(template.format(q(nosuch)))
        g = [l.replace(got[0], "TAG", 1) for l in got[1:]]
        w = [l.replace(want[0], "TAG", 1).replace(nosuch, hidden) for l in want[1:]]
        assert g == w, f"{user} on hidden {name}: {template}: got {g}, nonexistent gives {w}"
        assert g[-1].startswith("TAG NO"), g
        assert len(g) == 1, f"{user} on hidden {name}: untagged lines {g}"
        self.checks += 1

    def expect(self, sess, text, ok, what):
        status, rest, untagged = sess.run(text)
        want = "OK" if ok else "NO"
        assert status == want, (f"{sess.user} {text!r}: {status} {rest}; model says {want} "
                                f"(rights {Model.fmt(self.rights(sess.user, what))} on {what})")
        self.checks += 1
        return untagged

    def rights(self, user, name):
        return self.model.rights(user, name)

    # --- operations ------------------------------------------------------

    def op_setacl(self):
        name = self.rng.choice(BASE)
        ident = self.rng.choice(IDENTS)
        letters = {c for c in LETTERS if self.rng.random() < 0.35}
        if not ident.startswith("-") and self.rng.random() < 0.6:
            letters.add("l")
        if letters:
            self.admin.ok(f"SETACL {q(name)} {ident} {''.join(sorted(letters))}")
            self.model.acl[name][ident] = letters
        else:
            self.admin.ok(f"DELETEACL {q(name)} {ident}")
            self.model.acl[name].pop(ident, None)

    def op_check(self, user, name):
        sess = self.s[user]
        r = self.rights(user, name)
        kind = self.rng.choice(["select", "status", "append", "store", "expunge", "create",
                                "getacl", "setacl", "myrights"])
        mbox = ext(name, user)
        if "l" not in r:
            template = {
                "select": "SELECT {}", "status": "STATUS {} (MESSAGES UNSEEN)",
                "append": "APPEND {} {{3+}}\r\nabc", "store": "EXAMINE {}", "expunge": "DELETE {}",
                "create": "CREATE {}", "getacl": "GETACL {}", "setacl": "SETACL {} u1 lr",
                "myrights": "MYRIGHTS {}"}[kind]
            if kind == "create":
                # k without l creates nothing: as under a parent that does not exist
                got = sess.cmd(f"CREATE {q(ext(name + '.n', user))}")
                want = sess.cmd(f"CREATE {q('nosuchtop.n')}")
                assert got[1:] == [want[1].replace(want[0], got[0], 1)], (name, got, want)
                assert got[1] == f"{got[0]} NO [NOPERM] Permission denied", got
                self.checks += 1
            else:
                self.same_as_nonexistent(sess, template, name)
            return
        if kind == "select":
            self.expect(sess, f"SELECT {q(mbox)}", "r" in r, name)
            sess.run("UNSELECT")
        elif kind == "status":
            untagged = self.expect(sess, f"STATUS {q(mbox)} (MESSAGES UNSEEN)", "r" in r, name)
            assert bool(untagged) == ("r" in r), untagged
        elif kind == "append":
            self.expect(sess, f"APPEND {q(mbox)} {{3+}}\r\nabc", "i" in r, name)
        elif kind in ("store", "expunge"):
            if "r" not in r:
                self.expect(sess, f"SELECT {q(mbox)}", False, name)
                return
            self.expect(sess, f"SELECT {q(mbox)}", True, name)
            if kind == "store":
                flag, need = self.rng.choice([("\\Seen", "s"), ("\\Deleted", "t"), ("\\Flagged", "w"),
                                              ("$Label", "w")])
                self.expect(sess, f"STORE 1 +FLAGS.SILENT ({flag})", need in r, name)
                if flag == "\\Deleted" and need in r:
                    sess.ok("STORE 1 -FLAGS.SILENT (\\Deleted)")
            else:
                self.expect(sess, "EXPUNGE", "e" in r, name)
            sess.ok("UNSELECT")
        elif kind == "create":
            self.extra += 1
            child = f"{name}.n{self.extra}"
            ok = "k" in r  # (l is given here)
            self.expect(sess, f"CREATE {q(ext(child, user))}", ok, name)
            if ok:
                self.model.acl[child] = {i: set(v) for i, v in self.model.acl[name].items()}
                self.refresh_acl(child)
                assert self.model.acl[child] == self.model.acl[name], "a child copies its parent's ACL"
                self.try_delete(user, child)
        elif kind == "getacl":
            untagged = self.expect(sess, f"GETACL {q(mbox)}", "a" in r, name)
            if "a" in r:
                assert parse_acl(untagged[0]) == self.model.acl[name]
        elif kind == "setacl":
            # re-sets an entry to what it is: allowed or not, nothing changes
            self.expect(sess, f"SETACL {q(mbox)} admin lrswipkxtea", "a" in r, name)
        elif kind == "myrights":
            untagged = self.expect(sess, f"MYRIGHTS {q(mbox)}", True, name)
            assert untagged == [f"* MYRIGHTS {mbox} {Model.fmt(r)}"], (untagged, Model.fmt(r))

    def try_delete(self, user, child):
        """DELETE of a childless mailbox by `user`: needs l and x."""
        r = self.rights(user, child)
        sess = self.s[user]
        if "l" not in r:
            self.same_as_nonexistent(sess, "DELETE {}", child)
        else:
            self.expect(sess, f"DELETE {q(ext(child, user))}", "x" in r, child)
            if "x" in r:
                del self.model.acl[child]
                return
        # leave it to the admin; it stays (and must list right) if it cannot
        if "x" in self.rights("admin", child):
            self.admin.ok(f"DELETE {q(child)}")
            del self.model.acl[child]

    def check_list(self, user):
        sess = self.s[user]
        lines = sess.ok('LIST "" "*"')
        got = {}
        for line in lines:
            mo = re.match(r'\* LIST \(([^)]*)\) "\." (\S+)$', line)
            assert mo, line
            got[mo.group(2).strip('"')] = mo.group(1).split()
        visible = {ext(n, user) for n in self.model.acl if "l" in self.rights(user, n)}
        selectable = {n for n, a in got.items() if "\\Noselect" not in a and "\\NonExistent" not in a}
        assert selectable == visible, f"{user}: LIST shows {sorted(selectable)}, model {sorted(visible)}"
        for n, attrs in got.items():
            kids = any(v.startswith(n + ".") for v in visible)
            if n not in visible:
                assert kids, f"{user}: LIST shows {n} with nothing visible below it"
            assert ("\\HasChildren" in attrs) == kids, f"{user}: {n} {attrs}"
        hidden = [n for n in self.model.acl if "l" not in self.rights(user, n)]
        for n in hidden:
            e = ext(n, user)
            if e in got:
                assert any(v.startswith(e + ".") for v in visible), f"{user} sees hidden {n}: {got[e]}"
        self.checks += 1


@pytest.fixture
def run(make_server):
    server = make_server(users=["admin"] + USERS)
    for g, members in GROUPS.items():
        server.agora("group", "add", g, *members)
    r = Run(server, random.Random(SEED))
    yield r
    for sess in list(r.s.values()) + [r.admin]:
        sess.logout()


def test_random_acls_match_the_model(run):
    start = time.time()
    a = run.admin
    for u in USERS:
        run.s[u].ok("NOOP")  # INBOX created on login
        run.model.acl[f"user.{u}"] = {u: set(LETTERS)}
    # Administrators get no autocreated INBOX (as in the autocreate
    # document); the admin makes its own, as Cyrus admins do.
    a.ok("CREATE user.admin")
    run.model.acl["user.admin"] = {"admin": set(LETTERS)}
    for name in BASE:
        o = owner(name)
        if o is not None:
            run.s[o].ok(f"CREATE {q(ext(name, o))}")
        else:
            a.ok(f"CREATE {q(name)}")
        a.ok(f"SETACL {q(name)} admin lrswipkxtea")
        a.append(name, message("one"))
        a.append(name, message("two"))
        run.refresh_acl(name)
    for name in run.model.acl:
        if name.startswith("user.") and name.count(".") == 1:
            run.refresh_acl(name)
    all_users = USERS
    for i in range(OPERATIONS):
        x = run.rng.random()
        if x < 0.3:
            run.op_setacl()
        elif x < 0.38:
            run.check_list(run.rng.choice(all_users))
        else:
            run.op_check(run.rng.choice(all_users), run.rng.choice(BASE))
    # the final state, everyone against everything
    for u in all_users:
        run.check_list(u)
        for name in sorted(run.model.acl):
            r = run.rights(u, name)
            sess = run.s[u]
            if "l" not in r:
                run.same_as_nonexistent(sess, "MYRIGHTS {}", name)
                run.same_as_nonexistent(sess, "STATUS {} (MESSAGES)", name)
                continue
            assert sess.ok(f"MYRIGHTS {q(ext(name, u))}") == [f"* MYRIGHTS {ext(name, u)} {Model.fmt(r)}"]
            run.expect(sess, f"STATUS {q(ext(name, u))} (MESSAGES)", "r" in r, name)
    elapsed = time.time() - start
    assert run.checks > OPERATIONS, run.checks
    assert elapsed < 60, f"took {elapsed:.1f}s"
