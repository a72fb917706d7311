"""Migration: `agora import` from mbox files (mboxrd From_ quoting, MIME,
8-bit headers, Status:/X-Status: flags, CRLF and LF files) and from Maildir
trees (Maildir++ and plain subdirectory folders, info flags, mtimes), seen
over IMAP; a second import adds nothing; `agora export` to Maildir and a
re-import into another user gives identical messages, flags and dates."""
import base64
import calendar
import email.utils
import os
import re
import time

import pytest

FLAG_LETTERS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}


def crlf(data):
    """LF or CRLF line ends -> CRLF, a last line without one gets it."""
    lines = data.split(b"\n")
    if lines[-1] == b"":
        lines.pop()
    return b"".join((l[:-1] if l.endswith(b"\r") else l) + b"\r\n" for l in lines)


def fetch_all(m, mailbox):
    """[(flags, internaldate, body bytes)] in UID (= sequence) order."""
    typ, _ = m.select(f'"{mailbox}"', readonly=True)
    assert typ == "OK", mailbox
    typ, data = m.uid("FETCH", "1:*", "(FLAGS INTERNALDATE BODY.PEEK[])")
    assert typ == "OK"
    out = []
    for item in data:
        if not isinstance(item, tuple):
            continue
        head = item[0].decode()
        flags = set(re.search(r"FLAGS \(([^)]*)\)", head).group(1).split()) - {"\\Recent"}
        idate = re.search(r'INTERNALDATE "([^"]+)"', head).group(1)
        uid = int(head.split()[0])   # the sequence number: UID order
        out.append((uid, flags, idate, item[1]))
    out.sort()
    return [(f, d, b) for _, f, d, b in out]


def idate_epoch(s):
    t = time.strptime(s[:20], "%d-%b-%Y %H:%M:%S")
    sign = 1 if s[21] == "+" else -1
    off = sign * (int(s[22:24]) * 3600 + int(s[24:26]) * 60)
    return calendar.timegm(t) - off


def mailboxes(m):
    typ, data = m.list('""', "*")
    assert typ == "OK"
    names = set()
    for line in data:
        mm = re.match(rb'\((.*?)\) (NIL|"[^"]*") (.*)$', line)
        names.add(mm.group(3).decode().strip('"'))
    return names


# ---------------------------------------------------------------- mbox

def mbox_messages():
    """[(message as written by its author with LF ends, flags, From_ date)]."""
    boundary = "mix-0001"
    attach = base64.b64encode(bytes(range(256)) * 4).decode()
    attach = "\n".join(attach[i:i + 76] for i in range(0, len(attach), 76))
    msgs = [
        (b"From: Alice <alice@example.com>\nTo: bob@example.org\nSubject: quoting\n"
         b"Date: Sat, 03 Jan 1996 01:05:34 +0000\nMessage-ID: <quote1@test>\n\n"
         b"From the start of a line, mbox needs quoting.\n"
         b">From an already quoted line.\n"
         b">>From twice quoted.\n"
         b"From\n"
         b"Not From here\n\n"
         b"Last paragraph.\n",
         {"\\Seen", "\\Answered", "\\Flagged"}, "Sat Jan  3 01:05:34 1996"),
        (("From: Carol <carol@example.com>\nTo: bob@example.org\nSubject: attachment\n"
          "Date: Mon, 05 Jan 2026 10:00:00 +0100\nMessage-ID: <mime1@test>\nMIME-Version: 1.0\n"
          f'Content-Type: multipart/mixed; boundary="{boundary}"\n\n'
          f"--{boundary}\nContent-Type: text/plain\n\nSee the attachment.\n\n"
          f"--{boundary}\nContent-Type: application/octet-stream; name=\"x.bin\"\n"
          "Content-Transfer-Encoding: base64\n\n" + attach + f"\n--{boundary}--\n").encode(),
         set(), "Mon Jan  5 09:00:00 2026"),
        ("From: Jörg Müller <joerg@example.de>\nTo: bob@example.org\n"
         "Subject: Grüße aus Köln — ☃\nX-Comment: Straße, déjà vu, 日本語\n"
         "Date: Tue, 06 Jan 2026 11:00:00 +0100\nMessage-ID: <8bit1@test>\n"
         "Content-Type: text/plain; charset=utf-8\nContent-Transfer-Encoding: 8bit\n\n"
         "Große Grüße! ✓\n\n\nTwo blank lines above, one below.\n\n".encode("utf-8")
         + b"X-Latin1: caf\xe9\n",
         {"\\Flagged", "\\Draft", "\\Seen"}, "Tue Jan  6 10:00:00 2026"),
        (b"From: Dave <dave@example.com>\nSubject: deleted, no Message-ID\n\nbye\n",
         {"\\Deleted"}, "Wed Jan  7 12:30:00 2026"),
    ]
    return msgs


def status_headers(flags):
    st = "RO" if "\\Seen" in flags else "O"
    x = "".join(c for c, f in (("A", "\\Answered"), ("F", "\\Flagged"), ("D", "\\Deleted"),
                               ("T", "\\Draft")) if f in flags)
    return f"Status: {st}\n".encode() + (f"X-Status: {x}\n".encode() if x else b"")


def write_mbox(path, msgs, line_end=b"\n"):
    """mboxrd: Status:/X-Status: added at the end of the header, ">*From "
    lines get one more '>', an empty line after each message."""
    out = b""
    for data, flags, date in msgs:
        head, _, body = data.partition(b"\n\n")
        body = re.sub(rb"(?m)^(>*From )", rb">\1", body)
        out += f"From sender@example.com {date}\n".encode() + head + b"\n" + status_headers(flags) \
            + b"\n" + body + b"\n"
    with open(path, "wb") as f:
        f.write(out.replace(b"\n", line_end))


def from_date_epoch(date):
    return calendar.timegm(time.strptime(date, "%a %b %d %H:%M:%S %Y"))


def test_import_mbox(server):
    msgs = mbox_messages()
    inbox = os.path.join(server.tmp, "inbox")
    archive = os.path.join(server.tmp, "Archive.mbox")
    write_mbox(inbox, msgs)
    write_mbox(archive, msgs[:2], line_end=b"\r\n")   # a CRLF mbox, its own folder
    r = server.agora("import", "--user", "bob", "mbox", inbox, archive)
    assert "user.bob: 4 imported, 0 already present" in r.stdout, r.stdout
    assert "user.bob.Archive: 2 imported, 0 already present" in r.stdout, r.stdout

    m = server.imap("bob")
    assert "INBOX.Archive" in mailboxes(m)
    for mailbox, expect in (("INBOX", msgs), ("INBOX.Archive", msgs[:2])):
        got = fetch_all(m, mailbox)
        assert len(got) == len(expect)
        for (flags, idate, body), (data, want_flags, date) in zip(got, expect):
            assert body == crlf(data)
            assert flags == want_flags, (mailbox, data[:60])
            assert idate_epoch(idate) == from_date_epoch(date)
    # The 8-bit header came through byte for byte, and IMAP search finds
    # the quoted line unquoted.
    m.select("INBOX")
    typ, data = m.uid("SEARCH", "BODY", '"From the start"')
    assert typ == "OK" and data[0].split() == [b"1"]

    # A second run adds nothing; a --mailbox import goes where it is told.
    r = server.agora("import", "--user", "bob", "mbox", inbox, archive)
    assert "user.bob: 0 imported, 4 already present" in r.stdout, r.stdout
    assert "user.bob.Archive: 0 imported, 2 already present" in r.stdout, r.stdout
    r = server.agora("import", "--user", "bob", "--mailbox", "Old/2025", "mbox", inbox)
    assert "user.bob.Old.2025: 4 imported" in r.stdout, r.stdout
    assert len(fetch_all(m, "INBOX")) == 4
    assert len(fetch_all(m, "INBOX.Old.2025")) == 4
    m.logout()


def test_import_mbox_refusals(server):
    path = os.path.join(server.tmp, "notmbox")
    with open(path, "wb") as f:
        f.write(b"Subject: no From_ line\n\nx\n")
    r = server.agora("import", "--user", "nobody", "mbox", path, check=False)
    assert r.returncode == 2 and "no such user" in r.stderr
    r = server.agora("import", "--user", "bob", "mbox", path, check=False)
    assert r.returncode == 1 and "not an mbox" in r.stderr
    r = server.agora("import", "--user", "bob", "tarball", path, check=False)
    assert r.returncode == 2


# ---------------------------------------------------------------- Maildir

def maildir_tree(root):
    """Maildir++ at root (INBOX, .Sent, .Lists.agora) and a plain
    subdirectory folder (Archive/2025). {IMAP name: [(data, flags, mtime)]}."""
    folders = {"INBOX": "", "INBOX.Sent": ".Sent", "INBOX.Lists.agora": ".Lists.agora",
               "INBOX.Archive.2025": "Archive/2025"}
    letters = ["", "S", "FS", "RS", "DS", "ST", "DFRST", "F"]
    expected = {}
    i = 0
    for name, sub in folders.items():
        path = os.path.join(root, sub)
        for d in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(path, d), exist_ok=True)
        expected[name] = []
        for k in range(5):
            data = (f"From: Sender {i} <s{i}@example.com>\nTo: bob@example.org\n"
                    f"Subject: {name} message {k} Grüße\n"
                    f"Date: {email.utils.formatdate(1767225600 + i * 3600)}\n"
                    f"Message-ID: <md{i}@test>\n\nBody {i}\nFrom a line\n.\n").encode()
            if k == 4:
                data = data.replace(b"\n", b"\r\n")   # a CRLF file
            mtime = 1767225600 + i * 3600 + 17
            if k == 3:   # in new/: no info, no flags
                fname = os.path.join(path, "new", f"{mtime}.M{i}P1.host")
                flags = ""
            else:
                flags = letters[i % len(letters)]
                fname = os.path.join(path, "cur", f"{mtime}.M{i}P1.host:2,{flags}")
            with open(fname, "wb") as f:
                f.write(data)
            os.utime(fname, (mtime, mtime))
            expected[name].append((data, {FLAG_LETTERS[c] for c in flags}, mtime))
            i += 1
    return expected


def check_maildir_import(m, expected):
    for mailbox, msgs in expected.items():
        got = fetch_all(m, mailbox)
        assert len(got) == len(msgs), mailbox
        # Files are imported in name order: here the order of their mtimes.
        for (flags, idate, body), (data, want_flags, mtime) in zip(got, sorted(msgs, key=lambda x: x[2])):
            assert body == crlf(data)
            assert flags == want_flags, (mailbox, data[:80])
            assert idate_epoch(idate) == mtime


def test_import_maildir_twice_and_export_round_trip(server):
    src = os.path.join(server.tmp, "Maildir")
    expected = maildir_tree(src)
    r = server.agora("import", "--user", "bob", "maildir", src)
    for mailbox in expected:
        name = "user.bob" + mailbox[5:]
        assert f"{name}: 5 imported, 0 already present" in r.stdout, r.stdout
    m = server.imap("bob")
    assert set(expected) <= mailboxes(m)
    check_maildir_import(m, expected)

    r = server.agora("import", "--user", "bob", "maildir", src)
    assert " imported" in r.stdout and not re.search(r": [1-9]\d* imported", r.stdout), r.stdout
    check_maildir_import(m, expected)

    # A flag changed over IMAP is what export writes.
    m.select("INBOX")
    m.uid("STORE", "1", "+FLAGS", "(\\Flagged)")
    bob_view = {mb: fetch_all(m, mb) for mb in expected}
    bob_view["INBOX.Lists"] = fetch_all(m, "INBOX.Lists")
    m.logout()

    out = os.path.join(server.tmp, "export")
    r = server.agora("export", "--user", "bob", "maildir", out)
    assert "user.bob: 5 exported" in r.stdout, r.stdout
    for sub in (".Sent", ".Lists.agora", ".Archive.2025"):
        assert os.path.isfile(os.path.join(out, sub, "maildirfolder"))
    # Flags in the info part and mtime = internal date.
    for mailbox, msgs in bob_view.items():
        sub = "" if mailbox == "INBOX" else "." + mailbox[6:]
        files = sorted(os.listdir(os.path.join(out, sub, "cur")))
        assert len(files) == len(msgs)
        have = {}
        for fn in files:
            with open(os.path.join(out, sub, "cur", fn), "rb") as f:
                data = f.read()
            info = fn.split(":2,", 1)[1]
            have[data] = ({FLAG_LETTERS[c] for c in info},
                          int(os.stat(os.path.join(out, sub, "cur", fn)).st_mtime))
        for flags, idate, body in msgs:
            assert have[body] == (flags, idate_epoch(idate))

    # Export then import into another user: identical messages.
    r = server.agora("import", "--user", "alice", "maildir", out)
    a = server.imap("alice")
    for mailbox, msgs in bob_view.items():
        assert fetch_all(a, mailbox) == msgs, mailbox
    # And once more: nothing new.
    r = server.agora("import", "--user", "alice", "maildir", out)
    assert not re.search(r": [1-9]\d* imported", r.stdout), r.stdout
    for mailbox, msgs in bob_view.items():
        assert len(fetch_all(a, mailbox)) == len(msgs)
    a.logout()

    # Exporting again after a flag change replaces the file, no second copy.
    m = server.imap("bob")
    m.select("INBOX.Sent")
    m.uid("STORE", "1", "+FLAGS", "(\\Draft)")
    m.logout()
    server.agora("export", "--user", "bob", "maildir", out, "Sent")
    names = os.listdir(os.path.join(out, ".Sent", "cur"))
    assert len(names) == 5
    assert sum(1 for n in names if "D" in n.split(":2,")[1]) == \
        sum(1 for f, _, _ in bob_view["INBOX.Sent"] if "\\Draft" in f) + (0 if "\\Draft" in bob_view["INBOX.Sent"][0][0] else 1)

    # Exporting named mailboxes only.
    out2 = os.path.join(server.tmp, "export2")
    r = server.agora("export", "--user", "bob", "maildir", out2, "Sent")
    assert r.stdout.strip() == f"user.bob.Sent: 5 exported to {out2}/.Sent"
    assert os.listdir(os.path.join(out2, "cur")) == []


KEYWORDS = ["$Work", "Project-X", "$Label1", "NonJunk"]


def test_keywords_round_trip(server):
    """Keywords go to Maildir as Dovecot keeps them (dovecot-keywords maps
    numbers to names, letters a-z after the standard flags in the info
    part) and come back from it; export then import gives identical
    messages, flags and keywords."""
    m = server.imap("bob")
    m.create("INBOX.Kw")
    for i in range(8):
        fl = {"\\Seen", KEYWORDS[i % 4]} | ({KEYWORDS[(i + 1) % 4], "\\Flagged"} if i % 2 else set())
        if i == 7:
            fl = set()
        data = f"From: a@example.com\r\nSubject: kw {i}\r\nMessage-ID: <kw{i}@t>\r\n\r\nbody {i}\r\n".encode()
        for mailbox in ("INBOX", "INBOX.Kw"):
            typ, _ = m.append(mailbox, "(" + " ".join(sorted(fl)) + ")", None, data)
            assert typ == "OK"
    bob_view = {mb: fetch_all(m, mb) for mb in ("INBOX", "INBOX.Kw")}
    assert any("Project-X" in f for f, _, _ in bob_view["INBOX"])
    m.logout()

    out = os.path.join(server.tmp, "kw-export")
    server.agora("export", "--user", "bob", "maildir", out)
    for sub in ("", ".Kw"):
        with open(os.path.join(out, sub, "dovecot-keywords")) as f:
            names = dict(line.split(" ", 1) for line in f.read().splitlines())
        letters = {chr(ord("a") + int(n)): kw for n, kw in names.items()}
        assert set(letters.values()) == set(KEYWORDS)
        files = os.listdir(os.path.join(out, sub, "cur"))
        got = {}
        for fn in files:
            with open(os.path.join(out, sub, "cur", fn), "rb") as f:
                body = f.read()
            info = fn.split(":2,", 1)[1]
            upper = "".join(c for c in info if c.isupper())
            lower = "".join(c for c in info if c.islower())
            assert info == upper + lower and lower == "".join(sorted(lower)), fn
            got[body] = {FLAG_LETTERS[c] for c in upper} | {letters[c] for c in lower}
        mailbox = "INBOX" + sub
        assert sorted(got.values(), key=sorted) == sorted((f for f, _, _ in bob_view[mailbox]), key=sorted)

    server.agora("import", "--user", "alice", "maildir", out)
    a = server.imap("alice")
    for mailbox, msgs in bob_view.items():
        assert fetch_all(a, mailbox) == msgs, mailbox
    a.logout()
    # exporting again keeps the letters and adds none
    with open(os.path.join(out, "dovecot-keywords")) as f:
        before = f.read()
    server.agora("export", "--user", "bob", "maildir", out)
    with open(os.path.join(out, "dovecot-keywords")) as f:
        assert f.read() == before
    assert len(os.listdir(os.path.join(out, "cur"))) == 8


def test_keywords_from_dovecot_maildir_and_mbox(server):
    # A Maildir folder written by Dovecot, with letters it knows and one
    # it does not (no line for it: ignored).
    src = os.path.join(server.tmp, "dmd")
    for sub in ("cur", "new", "tmp"):
        os.makedirs(os.path.join(src, sub))
    with open(os.path.join(src, "dovecot-keywords"), "w") as f:
        f.write("0 $Label1\n1 Junk\n3 $Forwarded\n")
    data = b"From: a@example.com\r\nSubject: d\r\nMessage-ID: <d1@t>\r\n\r\nhi\r\n"
    with open(os.path.join(src, "cur", "1700000000.M1P1.host:2,FSacd"), "wb") as f:
        f.write(data)
    server.agora("import", "--user", "alice", "maildir", src)
    c = server.imap("alice")
    [(flags, _, body)] = fetch_all(c, "INBOX")
    assert flags == {"\\Flagged", "\\Seen", "$Label1", "$Forwarded"} and body == data

    # mbox: X-Keywords (spaces or commas) beside Status/X-Status, all
    # dropped from the stored message
    mbox = os.path.join(server.tmp, "kw.mbox")
    with open(mbox, "wb") as f:
        f.write(b"From x@example.com Mon Nov 23 10:00:00 2026\n"
                b"From: x@example.com\nSubject: m1\nMessage-ID: <m1@t>\n"
                b"Status: RO\nX-Status: F\nX-Keywords: $Work, Project-X\n\nbody one\n\n"
                b"From x@example.com Mon Nov 23 10:01:00 2026\n"
                b"From: x@example.com\nSubject: m2\nMessage-ID: <m2@t>\n"
                b"X-Keywords: NonJunk $Label2\n\nbody two\n\n")
    server.agora("import", "--user", "alice", "--mailbox", "Mb", "mbox", mbox)
    got = fetch_all(c, "INBOX.Mb")
    assert [f for f, _, _ in got] == [{"\\Seen", "\\Flagged", "$Work", "Project-X"}, {"NonJunk", "$Label2"}]
    assert all(b"X-Keywords" not in b and b"Status" not in b for _, _, b in got)
    c.logout()
