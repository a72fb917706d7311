"""Every limit on client input (src/lib/bounds.h and the configuration keys
that tune them): the exact response a client gets when it passes one, and
whether the connection is still usable afterwards."""
import os
import re
import signal
import time

import pytest

from conftest import ROOT, message


def _bounds():
    values = {}
    with open(os.path.join(ROOT, "src", "lib", "bounds.h")) as f:
        for line in f:
            m = re.match(r"#define\s+(\w+)\s+(.*?)\s*(/\*.*)?$", line)
            if m and not m.group(1).startswith("AGORA_"):
                values[m.group(1)] = eval(m.group(2))  # plain arithmetic only
    return values


B = _bounds()


def noop_ok(r, tag="n1"):
    lines = r.cmd(tag, "NOOP")
    assert lines[-1].startswith(f"{tag} OK"), lines


def messages(r, mailbox="INBOX"):
    lines = r.cmd("st", f"STATUS {mailbox} (MESSAGES)")
    assert lines[-1].startswith("st OK"), lines
    m = re.search(r"\(MESSAGES (\d+)\)", lines[0])
    assert m, lines
    return int(m.group(1))


# ------------------------------------------------------------ line length

def test_line_length_after_login(server):
    r = server.raw().login("bob")
    lines = r.cmd("a1", "NOOP " + "x" * B["IMAP_MAX_LINE"])
    assert lines == ["a1 BAD [TOOBIG] Command line too long"], lines
    noop_ok(r)
    # just below the limit the line is read and the command itself answers
    lines = r.cmd("a2", "NOOP " + "x" * (B["IMAP_MAX_LINE"] - 20))
    assert lines[-1].startswith("a2 BAD") and "TOOBIG" not in lines[-1], lines
    noop_ok(r, "n2")
    # the line limit is for each line: the same line split across pieces
    r.send("a3 NOOP " + "x" * 40000)
    time.sleep(0.1)
    r.send("y" * 40000 + "\r\n")
    assert r.line() == "a3 BAD [TOOBIG] Command line too long"
    noop_ok(r, "n3")


def test_line_length_before_login(server):
    assert B["IMAP_MAX_LINE_PREAUTH"] < B["IMAP_MAX_LINE"]
    r = server.raw()
    lines = r.cmd("a1", "NOOP " + "x" * B["IMAP_MAX_LINE_PREAUTH"])
    assert lines == ["a1 BAD [TOOBIG] Command line too long (limit before login)"], lines
    noop_ok(r)
    lines = r.cmd("a2", "LOGIN bob " + "x" * (B["IMAP_MAX_LINE_PREAUTH"] - 20))
    assert lines[-1].startswith("a2 NO [AUTHENTICATIONFAILED]"), lines
    r.login("bob")
    # once logged in, the same length is fine
    lines = r.cmd("a3", "NOOP " + "x" * (B["IMAP_MAX_LINE_PREAUTH"] + 100))
    assert lines[-1].startswith("a3 BAD") and "TOOBIG" not in lines[-1], lines
    noop_ok(r, "n2")


# ------------------------------------------------------------ literals

def test_literal_size_before_and_after_login(server):
    r = server.raw()
    limit = B["IMAP_MAX_LITERAL_PREAUTH"]
    r.send(f"a1 LOGIN {{{limit + 1}}}\r\n")
    line = r.line()
    assert line.startswith("a1 BAD [TOOBIG]"), line
    noop_ok(r)
    # at the limit: accepted (and then a wrong password)
    r.send(f"a2 LOGIN bob {{{limit}}}\r\n")
    assert r.line().startswith("+ ")
    r.send("x" * limit + "\r\n")
    line = r.line()
    assert line.startswith("a2 NO [AUTHENTICATIONFAILED]"), line
    # non-synchronizing: refused too, and since its bytes are on their way
    # the server closes
    r.send(f"a3 LOGIN bob {{{limit + 1}+}}\r\n" + "x" * (limit + 1) + "\r\n")
    line = r.line()
    assert line.startswith("a3 BAD [TOOBIG]"), line
    assert r.line().startswith("* BYE")
    assert r.closed()

    # after login the same size is fine
    r = server.raw().login("bob")
    r.send(f"b1 LIST \"\" {{{limit + 1}}}\r\n")
    assert r.line().startswith("+ ")
    r.send("x" * (limit + 1) + "\r\n")
    lines = r.until_tagged("b1")
    assert lines[-1].startswith("b1 OK"), lines
    noop_ok(r)


@pytest.fixture
def small(make_server):
    return make_server(conf={"maxmessagesize": "1000"})


def test_append_over_maxmessagesize_sync(small):
    r = small.raw().login("bob")
    r.send("a1 APPEND INBOX {1001}\r\n")
    line = r.line()
    assert line.startswith("a1 BAD [TOOBIG]"), line
    noop_ok(r)
    assert messages(r) == 0
    # exactly maxmessagesize is taken
    msg = message(body="x" * 2000)[:1000]
    r.send("a2 APPEND INBOX {1000}\r\n")
    assert r.line().startswith("+ ")
    r.send(msg + b"\r\n")
    lines = r.until_tagged("a2")
    assert lines[-1].startswith("a2 OK [APPENDUID"), lines
    assert messages(r) == 1


def test_append_over_maxmessagesize_nonsync(small):
    r = small.raw().login("bob")
    msg = message(body="x" * 2000)[:1001]
    r.send(b"a1 APPEND INBOX {1001+}\r\n" + msg + b"\r\n")
    line = r.line()
    assert line.startswith("a1 BAD [TOOBIG]"), line
    assert r.line().startswith("* BYE")
    assert r.closed()
    r = small.raw().login("bob")
    assert messages(r) == 0
    noop_ok(r)


def test_command_literal_over_limit(server):
    r = server.raw().login("bob")
    assert r.cmd("s", "SELECT INBOX")[-1].startswith("s OK")
    limit = B["IMAP_MAX_COMMAND_LITERALS"]
    r.send(f"a1 SEARCH TEXT {{{limit + 1}}}\r\n")
    line = r.line()
    assert line.startswith("a1 BAD [TOOBIG]"), line
    noop_ok(r)
    # one literal at the limit is fine
    r.send(f"a2 SEARCH TEXT {{{limit}}}\r\n")
    assert r.line().startswith("+ ")
    r.send("x" * limit + "\r\n")
    lines = r.until_tagged("a2")
    assert lines[-1].startswith("a2 OK"), lines
    # the limit is on the sum of the command's literals
    half = limit // 2 + 1
    r.send(f"a3 SEARCH TEXT {{{half}}}\r\n")
    assert r.line().startswith("+ ")
    r.send("x" * half + f" TEXT {{{half}}}\r\n")
    line = r.line()
    assert line.startswith("a3 BAD [TOOBIG]"), line
    noop_ok(r, "n2")


def test_long_literal_is_exactly_its_bytes(server):
    """A literal longer than the parser copies (4096) is a string of its own
    length: SEARCH finds the message containing it, and only that one."""
    r = server.raw().login("bob")
    word = "q" * 5000
    for body in (word + "\r\n", "nothing here\r\n"):
        msg = message(body=body)
        r.send(f"a APPEND INBOX {{{len(msg)}}}\r\n")
        assert r.line().startswith("+ ")
        r.send(msg + b"\r\n")
        assert r.until_tagged("a")[-1].startswith("a OK")
    assert r.cmd("s", "SELECT INBOX")[-1].startswith("s OK")
    r.send(f"b SEARCH TEXT {{{len(word)}}}\r\n")
    assert r.line().startswith("+ ")
    r.send(word + " ALL\r\n")
    lines = r.until_tagged("b")
    assert lines == ["* SEARCH 1", "b OK SEARCH completed"] or \
        (lines[0] == "* SEARCH 1" and lines[-1].startswith("b OK")), lines


# ------------------------------------------------------------ structure

def test_list_nesting_depth(server):
    r = server.raw().login("bob")
    depth = B["IMAP_MAX_LIST_DEPTH"]
    lines = r.cmd("a1", "ID " + "(" * (depth + 1) + ")" * (depth + 1))
    assert lines == ["a1 BAD Too deeply nested parentheses"], lines
    noop_ok(r)
    # at the limit the parser takes it and ID says what is wrong
    lines = r.cmd("a2", "ID " + "(" * depth + ")" * depth)
    assert lines[-1].startswith("a2 BAD") and "nested" not in lines[-1], lines
    noop_ok(r, "n2")


def test_search_nesting_depth(server):
    r = server.raw().login("bob")
    assert r.cmd("s", "SELECT INBOX")[-1].startswith("s OK")
    depth = B["SEARCH_MAX_DEPTH"]
    lines = r.cmd("a1", "SEARCH " + "NOT " * depth + "ALL")
    assert lines[-1].startswith("a1 OK"), lines
    lines = r.cmd("a2", "SEARCH " + "NOT " * (depth + 1) + "ALL")
    assert lines == ["a2 BAD Search keys nested too deeply"], lines
    lines = r.cmd("a3", "SEARCH " + "OR ALL " * (depth + 1) + "ALL")
    assert lines == ["a3 BAD Search keys nested too deeply"], lines
    noop_ok(r)


def test_number_of_arguments(server):
    r = server.raw().login("bob")
    assert r.cmd("s", "SELECT INBOX")[-1].startswith("s OK")
    n = B["IMAP_MAX_ARGS"]
    lines = r.cmd("a1", "SEARCH" + " ALL" * n)
    assert lines[-1].startswith("a1 OK"), lines
    lines = r.cmd("a2", "SEARCH" + " ALL" * (n + 1))
    assert lines == ["a2 BAD Too many arguments"], lines
    noop_ok(r)


# ------------------------------------------------------------ sessions

def test_maxlogins_per_user(make_server):
    s = make_server(conf={"maxlogins_per_user": "2", "workers": "1"})
    r1 = s.raw().login("bob")
    r2 = s.raw().login("bob")
    r3 = s.raw()
    lines = r3.cmd("a1", "LOGIN bob bobpw")
    assert lines == ["a1 NO [LIMIT] Too many sessions for this user"], lines
    noop_ok(r3)
    # another user is not affected
    s.raw().login("alice")
    assert r1.cmd("z", "LOGOUT")[-1].startswith("z OK")
    assert r1.closed()
    lines = r3.cmd("a2", "LOGIN bob bobpw")
    assert lines[-1].startswith("a2 OK"), lines
    noop_ok(r2)
    noop_ok(r3)


def test_autologout_after_login(make_server):
    # Margins are wide on purpose: the suite runs on a loaded 2-core
    # machine under sanitizers.
    s = make_server(conf={"timeout": "4s"})
    r = s.raw().login("bob")
    # activity restarts the timer: two pauses of 2.5 s outlast 4 s together
    time.sleep(2.5)
    noop_ok(r)
    time.sleep(2.5)
    noop_ok(r, "n2")
    t0 = time.time()
    r.sock.settimeout(15)
    line = r.line()
    assert line.startswith("* BYE"), line
    assert 3 <= time.time() - t0 <= 10
    assert r.closed()


def test_autologout_before_login(make_server):
    s = make_server(conf={"login_timeout": "1"})
    t0 = time.time()
    r = s.raw()
    r.sock.settimeout(10)
    line = r.line()
    assert line.startswith("* BYE"), line
    assert 0.8 <= time.time() - t0 <= 5
    assert r.closed()
    # once logged in, the longer `timeout` applies
    r = s.raw().login("bob")
    time.sleep(1.5)
    noop_ok(r)


@pytest.fixture
def strict(make_server):
    return make_server(conf={"imap_max_bad_commands": "3"})


def test_bad_commands_in_a_row(strict):
    r = strict.raw()
    for i in range(3):
        # interleaved with good commands, bad ones never add up
        assert r.cmd(f"b{i}", "BOGUS")[-1].startswith(f"b{i} BAD")
        assert r.cmd(f"c{i}", "BOGUS")[-1].startswith(f"c{i} BAD")
        noop_ok(r, f"n{i}")
    r.login("bob")
    assert r.cmd("d1", "FETCH")[-1].startswith("d1 BAD")
    assert r.cmd("d2", "NOOP x")[-1].startswith("d2 BAD")
    assert r.cmd("d3", "NOOP " + "x" * B["IMAP_MAX_LINE"]) == \
        ["d3 BAD [TOOBIG] Command line too long"]
    assert r.line().startswith("* BYE")
    assert r.closed()


def test_failed_logins_count_as_bad_commands(strict):
    r = strict.raw()
    assert r.cmd("a1", "LOGIN bob wrong")[-1].startswith("a1 NO [AUTHENTICATIONFAILED]")
    assert r.cmd("a2", "LOGIN bob wrong")[-1].startswith("a2 NO [AUTHENTICATIONFAILED]")
    assert r.cmd("a3", "LOGIN bob wrong")[-1].startswith("a3 NO [AUTHENTICATIONFAILED]")
    assert r.line().startswith("* BYE")
    assert r.closed()
    # mixed with bad commands
    r = strict.raw()
    assert r.cmd("b1", "BOGUS")[-1].startswith("b1 BAD")
    assert r.cmd("b2", "LOGIN bob wrong")[-1].startswith("b2 NO [AUTHENTICATIONFAILED]")
    assert r.cmd("b3", "BOGUS")[-1].startswith("b3 BAD")
    assert r.line().startswith("* BYE")
    assert r.closed()
    # a good login starts the count again
    r = strict.raw()
    assert r.cmd("c1", "LOGIN bob wrong")[-1].startswith("c1 NO")
    assert r.cmd("c2", "LOGIN bob wrong")[-1].startswith("c2 NO")
    r.login("bob")
    assert r.cmd("c3", "BOGUS")[-1].startswith("c3 BAD")
    assert r.cmd("c4", "BOGUS")[-1].startswith("c4 BAD")
    noop_ok(r)


def _socket_inodes(pid):
    out = set()
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        if link.startswith("socket:["):
            out.add(int(link[8:-1]))
    return out


def _worker_of(raw, workers):
    """The worker process serving this client connection: the one holding
    the server end (local port = the client's remote, and so on) of it."""
    cport = raw.sock.getsockname()[1]
    sport = raw.sock.getpeername()[1]
    inode = None
    with open("/proc/net/tcp") as f:
        for line in f.readlines()[1:]:
            parts = line.split()
            local, remote = parts[1], parts[2]
            if int(local.split(":")[1], 16) == sport and int(remote.split(":")[1], 16) == cport:
                inode = int(parts[9])
    assert inode is not None
    for w in workers:
        if inode in _socket_inodes(w):
            return w
    return None


def test_maxlogins_per_user_over_all_workers(make_server):
    """The limit counts a user's sessions on every worker (the auth
    process keeps the count), frees a slot at logout and when a
    connection is dropped, and frees all of a killed worker's slots."""
    from test_auth_separation import proc_children
    s = make_server(conf={"maxlogins_per_user": "3", "workers": "2"})
    s.raw().login("alice").close()     # start-up over, the auth process is up
    kids = proc_children(s.proc.pid)
    workers = [p for p, comm in kids if comm != "agorad-auth"]
    assert len(workers) == 2
    # connections until each worker has at least four
    by_worker = {w: [] for w in workers}
    spare = []
    for _ in range(300):
        r = s.raw()
        w = _worker_of(r, workers)
        if w is not None and len(by_worker[w]) < 4:
            by_worker[w].append(r)
        else:
            spare.append(r)
        if all(len(v) >= 4 for v in by_worker.values()):
            break
    for r in spare:
        r.close()
    a, b = workers
    # Both workers accept from the shared listener: in 300 connections
    # each gets four unless one of them does not accept at all.
    assert len(by_worker[a]) >= 4 and len(by_worker[b]) >= 4, \
        f"connections per worker: {len(by_worker[a])}, {len(by_worker[b])}"

    def login(r, tag):
        return r.cmd(tag, "LOGIN bob bobpw")[-1]

    # two on worker a, one on worker b: the limit is reached
    assert login(by_worker[a][0], "l1").startswith("l1 OK")
    assert login(by_worker[b][0], "l2").startswith("l2 OK")
    assert login(by_worker[a][1], "l3").startswith("l3 OK")
    # a fourth is refused on either worker (each alone has fewer than 3)
    assert login(by_worker[b][1], "l4") == "l4 NO [LIMIT] Too many sessions for this user"
    assert login(by_worker[a][2], "l5") == "l5 NO [LIMIT] Too many sessions for this user"
    # another user is not affected
    assert by_worker[b][2].cmd("x", "LOGIN alice alicepw")[-1].startswith("x OK")
    # LOGOUT frees a slot
    assert by_worker[a][0].cmd("z", "LOGOUT")[-1].startswith("z OK")
    assert by_worker[a][0].closed()
    time.sleep(0.3)
    assert login(by_worker[b][1], "l6").startswith("l6 OK")
    assert login(by_worker[a][2], "l7") == "l7 NO [LIMIT] Too many sessions for this user"
    # a dropped connection frees its slot too
    by_worker[b][0].sock.close()
    time.sleep(0.5)
    assert login(by_worker[a][2], "l8").startswith("l8 OK")
    # sessions now: a[1], b[1], a[2]; a worker that dies takes its slots along
    os.kill(a, signal.SIGKILL)
    deadline = time.time() + 10
    ok = 0
    while time.time() < deadline and ok < 2:
        r = s.raw()
        line = r.cmd("k", "LOGIN bob bobpw")[-1]
        if line.startswith("k OK"):
            ok += 1
            by_worker[b].append(r)
        else:
            time.sleep(0.2)
    assert ok == 2, s.log_text()[-2000:]
    # and the count is exact again: b[1] and the two new ones
    r = s.raw()
    assert r.cmd("m", "LOGIN bob bobpw")[-1] == "m NO [LIMIT] Too many sessions for this user"


def test_maxlogins_survives_auth_restart(make_server):
    """Sessions are told again to a restarted auth process (HOLD)."""
    from test_auth_separation import auth_pid
    s = make_server(conf={"maxlogins_per_user": "2", "workers": "2"})
    r1 = s.raw().login("bob")
    r2 = s.raw().login("bob")
    old = auth_pid(s)
    os.kill(old, signal.SIGKILL)
    auth_pid(s, not_pid=old)
    time.sleep(1.5)    # the workers reconnect and hold their sessions
    r3 = s.raw()
    assert r3.cmd("a", "LOGIN bob bobpw")[-1] == "a NO [LIMIT] Too many sessions for this user"
    assert r1.cmd("z", "LOGOUT")[-1].startswith("z OK")
    time.sleep(0.3)
    assert r3.cmd("b", "LOGIN bob bobpw")[-1].startswith("b OK")
    noop_ok(r2)
