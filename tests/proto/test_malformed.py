"""Hostile and malformed input: each gets BAD or NO with a clear text, the
connection stays usable, and the server keeps serving everyone else."""
import base64
import re

import pytest

from conftest import message


def noop_ok(r, tag="n1"):
    lines = r.cmd(tag, "NOOP")
    assert lines[-1].startswith(f"{tag} OK"), lines


def alive(server):
    """A second connection logs in and gets answers."""
    r = server.raw().login("alice")
    noop_ok(r, "al")
    r.close()


def messages(r, mailbox="INBOX"):
    lines = r.cmd("st", f"STATUS {mailbox} (MESSAGES)")
    assert lines[-1].startswith("st OK"), lines
    return int(re.search(r"\(MESSAGES (\d+)\)", lines[0]).group(1))


def append(r, msg, mailbox="INBOX"):
    r.send(f"ap APPEND {mailbox} {{{len(msg)}}}\r\n")
    assert r.line().startswith("+ ")
    r.send(msg + b"\r\n")
    lines = r.until_tagged("ap")
    assert lines[-1].startswith("ap OK"), lines


@pytest.fixture
def selected(server):
    r = server.raw().login("bob")
    append(r, message())
    assert r.cmd("s", "SELECT INBOX")[-1].startswith("s OK")
    return r


def status_text(line, tag):
    """'BAD' or 'NO' and the human text after it, for a tagged line."""
    m = re.match(re.escape(tag) + r" (OK|NO|BAD) (?:\[[^\]]*\] ?)?(.*)$", line)
    assert m, line
    return m.group(1), m.group(2)


# ------------------------------------------------------------ framing

def test_missing_tag_and_bare_crlf(server):
    r = server.raw()
    r.send(" NOOP\r\n")
    assert r.line() == "* BAD Missing or invalid tag"
    r.send("\r\n")
    assert r.line() == "* BAD Missing or invalid tag"
    r.send("\n")
    assert r.line() == "* BAD Missing or invalid tag"
    r.send("a+b NOOP\r\n")
    assert r.line().startswith("* BAD")
    r.send("tagonly\r\n")
    assert r.line() == "tagonly BAD Missing command"
    noop_ok(r)
    alive(server)


def test_unknown_command(server):
    r = server.raw()
    assert r.cmd("a", "FROBNICATE") == ["a BAD Unknown command FROBNICATE"]
    assert r.cmd("b", "frobnicate x y") == ["b BAD Unknown command FROBNICATE"]
    assert r.cmd("c", "X" * 100)[-1].startswith("c BAD Unknown command")
    noop_ok(r)
    r.login("bob")
    assert r.cmd("d", "UID FROB 1") == ["d BAD Unknown command UID FROB"]
    noop_ok(r)
    alive(server)


# Each command with arguments it cannot take. All are refused with BAD (the
# client sent something that is not the command), and change nothing.
WRONG_ARGS = [
    "CAPABILITY x", "NOOP x", "LOGOUT x", "ID", "ID x", "ID (\"a\")", "ID (a b)", "ID () ()",
    "ENABLE", "ENABLE (CONDSTORE)", "NAMESPACE x", "LOGIN a", "LOGIN a b c", "AUTHENTICATE",
    "STARTTLS x", "SELECT", "SELECT a b", "SELECT (INBOX)", "EXAMINE", "EXAMINE a b",
    "CREATE", "CREATE a b", "CREATE (a)", "DELETE", "DELETE a b", "RENAME a", "RENAME a b c",
    "RENAME", "SUBSCRIBE", "SUBSCRIBE a b", "UNSUBSCRIBE", "UNSUBSCRIBE a b", "LIST", "LIST a",
    "LIST a b c d e", "LSUB", "LSUB a", "LSUB a b c", "STATUS", "STATUS INBOX",
    "STATUS INBOX (BOGUS)", "STATUS INBOX MESSAGES", "STATUS INBOX ()",
    "APPEND", "APPEND INBOX", "APPEND INBOX (\\Seen)", "APPEND INBOX (\\Seen) x",
    "APPEND INBOX (\\Bogus) {1}", "APPEND INBOX \"not a date\" {1}",
    "IDLE x", "CHECK x", "CLOSE x", "UNSELECT x", "EXPUNGE x",
    "SEARCH", "SEARCH BOGUSKEY", "SEARCH UID", "SEARCH LARGER x", "SEARCH LARGER",
    "SEARCH BEFORE 99-Foo-2020", "SEARCH HEADER Subject", "SEARCH (ALL", "SEARCH OR ALL",
    "SEARCH NOT", "SEARCH KEYWORD", "SEARCH CHARSET", "SEARCH x:y", "SEARCH ALL )",
    "FETCH", "FETCH 1", "FETCH x FLAGS", "FETCH 1 BOGUS", "FETCH 1 (FLAGS BOGUS)", "FETCH 1 ()",
    "FETCH 1 BODY[BOGUS]", "FETCH 1 BODY[1.x]", "FETCH 1 BODY[]<x>", "FETCH 1:x FLAGS",
    "FETCH 1 FLAGS x", "FETCH 0 FLAGS",
    "STORE", "STORE 1", "STORE 1 FLAGS", "STORE 1 BOGUS (\\Seen)", "STORE 1 +FLAGS (\\Bogus)",
    "STORE x FLAGS (\\Seen)", "STORE 1 FLAGS ((\\Seen))",
    "COPY", "COPY 1", "COPY x INBOX", "COPY 1 INBOX x", "MOVE", "MOVE 1", "MOVE x INBOX",
    "UID", "UID BOGUS", "UID 1", "UID FETCH", "UID FETCH 1", "UID FETCH x FLAGS",
    "UID STORE 1 FLAGS", "UID COPY 1", "UID MOVE 1", "UID EXPUNGE", "UID EXPUNGE x",
    "UID SEARCH BOGUSKEY", "UID (FETCH) 1 FLAGS", "UID CAPABILITY",
]


def test_wrong_arguments_for_every_command(selected, server):
    r = selected
    refused = []
    for i, text in enumerate(WRONG_ARGS):
        tag = f"w{i}"
        if "{1}" in text:
            r.send(f"{tag} {text}\r\n")
            line = r.line()
            if line.startswith("+ "):
                r.send("x\r\n")
                line = r.line()
            lines = [line]
            if not line.startswith(tag + " "):
                lines += r.until_tagged(tag)
        else:
            lines = r.cmd(tag, text)
        status, why = status_text(lines[-1], tag)
        if status != "BAD" or not why.strip():
            refused.append((text, lines[-1]))
        noop_ok(r, f"n{i}")
    assert not refused, "\n".join(f"{t!r}: {line}" for t, line in refused)
    # nothing was changed by any of them
    assert messages(r) == 1
    lines = r.cmd("f", "FETCH 1 FLAGS")
    assert lines[0] == "* 1 FETCH (FLAGS (\\Recent))", lines
    lines = r.cmd("l", "LIST \"\" *")
    assert [x for x in lines if x.startswith("* LIST")] == ['* LIST (\\HasNoChildren) "." INBOX'], lines
    alive(server)


def test_unterminated_quotes(server):
    r = server.raw()
    assert r.cmd("a", 'LOGIN "bob bobpw') == ["a BAD Invalid character in quoted string"]
    assert r.cmd("b", 'LOGIN "bob\\" bobpw') == ["b BAD Invalid character in quoted string"]
    assert r.cmd("c", 'LOGIN "b\\ob" bobpw') == ["c BAD Invalid escape in quoted string"]
    r.login("bob")
    assert r.cmd("d", 'SELECT "INBOX') == ["d BAD Invalid character in quoted string"]
    assert r.cmd("e", 'FETCH 1 (FLAGS "') == ["e BAD Invalid character in quoted string"]
    noop_ok(r)
    alive(server)


def test_invalid_literals(server):
    r = server.raw()
    assert r.cmd("a", "LOGIN {abc}") == ["a BAD Invalid literal"]
    assert r.cmd("b", "LOGIN {-1}") == ["b BAD Invalid literal"]
    assert r.cmd("c", "LOGIN {}") == ["c BAD Invalid literal"]
    assert r.cmd("d", "LOGIN {1 }") == ["d BAD Invalid literal"]
    assert r.cmd("e", "LOGIN {3} bob") == ["e BAD Literal must end the line"]
    lines = r.cmd("f", "LOGIN {99999999999999999999}")
    assert len(lines) == 1 and lines[0].startswith("f BAD [TOOBIG]"), lines
    noop_ok(r)
    r.login("bob")
    lines = r.cmd("g", "SELECT {99999999999999999999}")
    assert len(lines) == 1 and lines[0].startswith("g BAD [TOOBIG]"), lines
    lines = r.cmd("h", "APPEND INBOX {18446744073709551615}")
    assert len(lines) == 1 and lines[0].startswith("h BAD [TOOBIG]"), lines
    assert messages(r) == 0
    noop_ok(r)
    alive(server)


def test_nul_bytes(server):
    r = server.raw()
    r.send(b'a LOGIN "b\0b" bobpw\r\n')
    assert r.line() == "a BAD Invalid character in quoted string"
    r.send(b"b LOGIN b\0b bobpw\r\n")
    assert r.line().startswith("b BAD")
    r.send(b"\0 NOOP\r\n")
    assert r.line().startswith("* BAD")
    r.send(b"c NO\0OP\r\n")
    assert r.line().startswith("c BAD")
    # a literal may hold NUL, but a user name may not
    r.send(b"d LOGIN {3}\r\n")
    assert r.line().startswith("+ ")
    r.send(b"b\0b bobpw\r\n")
    assert r.line().startswith("d BAD")
    noop_ok(r)
    r.login("bob")
    r.send(b'e SELECT "IN\0BOX"\r\n')
    assert r.line().startswith("e BAD")
    r.send(b"f CREATE {3}\r\n")
    assert r.line().startswith("+ ")
    r.send(b"a\0b\r\n")
    assert r.line().startswith("f BAD")
    lines = r.cmd("l", "LIST \"\" *")
    assert len([x for x in lines if x.startswith("* LIST")]) == 1, lines
    noop_ok(r)
    alive(server)


def test_8bit_bytes_in_atoms(server):
    r = server.raw()
    r.send(b"a LOGIN b\xc3\xa9b bobpw\r\n")
    assert r.line().startswith("a NO [AUTHENTICATIONFAILED]")
    r.send(b"\xff NOOP\r\n")
    assert r.line().startswith("* BAD")
    r.send(b"b N\xffOP\r\n")
    assert r.line().startswith("b BAD")
    r.login("bob")
    for i, name in enumerate([b"INB\xc3\xa9X", b"\xff\xfe", b"Caf\xe9"]):
        r.send(b"c%d CREATE %s\r\n" % (i, name))
        line = r.line()
        assert line.startswith(f"c{i} BAD") or line.startswith(f"c{i} NO"), line
    lines = r.cmd("l", "LIST \"\" *")
    assert len([x for x in lines if x.startswith("* LIST")]) == 1, lines
    noop_ok(r)
    alive(server)


def test_invalid_utf8_in_search(selected, server):
    r = selected
    r.send(b'a SEARCH CHARSET UTF-8 TEXT "\xff\xfe"\r\n')
    assert r.line() == "a BAD Invalid UTF-8 in search string"
    r.send(b"b SEARCH CHARSET UTF-8 SUBJECT {3}\r\n")
    assert r.line().startswith("+ ")
    r.send(b"\xc3\x28x\r\n")
    assert r.line() == "b BAD Invalid UTF-8 in search string"
    r.send(b"c SEARCH CHARSET UTF-8 HEADER Subject \xed\xa0\x80\r\n")  # a surrogate
    assert r.line() == "c BAD Invalid UTF-8 in search string"
    r.send(b"d SEARCH CHARSET UTF-8 BODY \xc0\xaf\r\n")  # overlong
    assert r.line() == "d BAD Invalid UTF-8 in search string"
    lines = r.cmd("e", "SEARCH CHARSET BOGUS TEXT x")
    assert lines == ["e NO [BADCHARSET (UTF-8 US-ASCII)] Unsupported charset"], lines
    # valid UTF-8 still works
    r.send("f SEARCH CHARSET UTF-8 TEXT \"caf\u00e9\"\r\n".encode())
    assert r.until_tagged("f")[-1].startswith("f OK")
    noop_ok(r)
    alive(server)


def test_invalid_modified_utf7_names(server):
    r = server.raw().login("bob")
    bad = ["&Jjo", "&AGE-", "&-&", "a&b", "&ZeVnLIqe", "&U,BTFw-&", "&2D0-", "&3AAAQQ-", "&AAA-"]
    for i, name in enumerate(bad):
        for verb in ("CREATE", "SELECT", "DELETE", "SUBSCRIBE"):
            tag = f"{verb[0]}{i}"
            lines = r.cmd(tag, f'{verb} "INBOX.{name}"')
            status, why = status_text(lines[-1], tag)
            assert status in ("BAD", "NO") and why, (verb, name, lines)
            noop_ok(r, f"n{i}")  # so that the BADs are not in a row
    lines = r.cmd("r", 'RENAME INBOX "&Jjo"')
    assert lines[-1].startswith("r BAD") or lines[-1].startswith("r NO"), lines
    # a valid one works
    assert r.cmd("ok", 'CREATE "INBOX.&ZeVnLIqe-"')[-1].startswith("ok OK")
    lines = r.cmd("l", "LIST \"\" *")
    names = sorted(x for x in lines if x.startswith("* LIST"))
    assert len(names) == 2 and "&ZeVnLIqe-" in names[0] + names[1], lines
    noop_ok(r)
    alive(server)


def test_idle_then_garbage(selected, server):
    r = selected
    r.send("i1 IDLE\r\n")
    assert r.line().startswith("+ ")
    r.send("garbage\r\n")
    assert r.line() == "i1 BAD Expected DONE"
    noop_ok(r)
    # a literal instead of DONE
    r.send("i2 IDLE\r\n")
    assert r.line().startswith("+ ")
    r.send("DONE {5}\r\n")
    assert r.line() == "i2 BAD Expected DONE"
    noop_ok(r, "n2")
    # DONE still works
    r.send("i3 IDLE\r\n")
    assert r.line().startswith("+ ")
    r.send("done\r\n")
    assert r.line().startswith("i3 OK")
    noop_ok(r, "n3")
    alive(server)


def test_authenticate_with_garbage(server):
    r = server.raw()
    cases = ["!!!!", "AAA", "====", "A===", "Zm9v", "=", "AAAA====", "\u00e9\u00e9\u00e9\u00e9",
             base64.b64encode(b"\0bob").decode(), base64.b64encode(b"bob\0bob").decode(),
             base64.b64encode(b"\0\0\0\0").decode()]
    for i, data in enumerate(cases):
        tag = f"a{i}"
        r.send(f"{tag} AUTHENTICATE PLAIN\r\n")
        assert r.line().startswith("+")
        r.send(data.encode() + b"\r\n")
        line = r.line()
        assert line.startswith(f"{tag} BAD") or line.startswith(f"{tag} NO"), (data, line)
        # the same with SASL-IR
        tag = f"b{i}"
        lines = r.cmd(tag, f"AUTHENTICATE PLAIN {data}")
        assert lines[-1].startswith(f"{tag} BAD") or lines[-1].startswith(f"{tag} NO"), (data, lines)
        noop_ok(r, f"n{i}")
    lines = r.cmd("m", "AUTHENTICATE BOGUS")
    assert lines == ["m NO Unsupported authentication mechanism"], lines
    # and a real one still logs in
    ir = base64.b64encode(b"\0bob\0bobpw").decode()
    assert r.cmd("z", f"AUTHENTICATE PLAIN {ir}")[-1].startswith("z OK")
    alive(server)


@pytest.mark.parametrize("sync", [True, False])
def test_disconnect_in_the_middle_of_a_literal(server, sync):
    r = server.raw().login("bob")
    msg = message(body="y" * 5000)
    if sync:
        r.send(f"a APPEND INBOX {{{len(msg)}}}\r\n")
        assert r.line().startswith("+ ")
        r.send(msg[:len(msg) // 2])
    else:
        r.send(f"a APPEND INBOX {{{len(msg)}+}}\r\n".encode() + msg[:len(msg) // 2])
    r.close()
    r = server.raw().login("bob")
    assert messages(r) == 0
    noop_ok(r)
    alive(server)


def test_pipelined_noops(server):
    r = server.raw().login("bob")
    r.send("".join(f"p{i} NOOP\r\n" for i in range(1000)))
    for i in range(1000):
        assert r.line() == f"p{i} OK NOOP completed"
    # and a mixed pipeline, with bad commands and a literal in it
    r.send("q1 NOOP\r\nq2 BOGUS\r\nq3 LIST \"\" {5+}\r\nINBOX\r\nq4 NOOP\r\n")
    lines = r.until_tagged("q4")
    tagged = [x.split(" ")[0] + " " + x.split(" ")[1] for x in lines if x.startswith("q")]
    assert tagged == ["q1 OK", "q2 BAD", "q3 OK", "q4 OK"], lines
    alive(server)
