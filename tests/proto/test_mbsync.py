"""A round trip with the real mbsync (isync): 300 messages of mixed size and
MIME structure with Maildir flags, in INBOX and a subfolder, pushed from one
Maildir into Agora and pulled into another; the files and flags must come
back identical."""
import base64
import email.utils
import hashlib
import imaplib
import os
import quopri
import random
import re
import shutil
import subprocess

from conftest import needs_tool

pytestmark = needs_tool(shutil.which("mbsync"), "mbsync (Debian package isync)")

NMSG = 300
FOLDERS = {"INBOX": 200, "Lists/agora": 100}   # mbsync's canonical names, '/' separated
# Maildir info letters and the IMAP flags they stand for.
LETTERS = {"D": "\\Draft", "F": "\\Flagged", "R": "\\Answered", "S": "\\Seen", "T": "\\Deleted"}
FLAG_SETS = ["", "S", "F", "R", "D", "T", "FS", "RS", "DS", "ST", "FRS", "DFS", "FRST", "DFRST"]

WORDS = ("agora mail store imap lmtp cyrus folder message flag seen draft answered quota "
         "partition worker master sqlite durability crash test harness round trip").split()


def text(rnd, nbytes):
    out, n = [], 0
    line = []
    while n < nbytes:
        w = rnd.choice(WORDS)
        line.append(w)
        n += len(w) + 1
        if len(line) >= rnd.randint(6, 12):
            out.append(" ".join(line))
            line = []
    out.append(" ".join(line))
    return "\n".join(out) + "\n"


def b64_lines(data):
    s = base64.b64encode(data).decode()
    return "\n".join(s[i:i + 76] for i in range(0, len(s), 76)) + "\n"


def headers(rnd, i, subject, extra=""):
    date = email.utils.formatdate(1767225600 + i * 3607 + rnd.randint(0, 3600))
    return (f"From: Sender {i} <sender{i}@example.com>\n"
            f"To: Bob <bob@example.org>\n"
            f"Subject: {subject}\n"
            f"Date: {date}\n"
            f"Message-ID: <msg{i}.{rnd.getrandbits(32):08x}@gen.test>\n"
            f"MIME-Version: 1.0\n{extra}")


def make_message(rnd, i):
    """Message i as bytes with LF line ends (Maildir style)."""
    kind = i % 6
    size = rnd.choice([300, 800, 2000, 6000, 20000, 60000, 150000, 300000]) if i % 10 else 300000
    body = text(rnd, size)
    if kind == 0:      # plain, 7-bit
        return (headers(rnd, i, f"Plain {i}", "Content-Type: text/plain; charset=us-ascii\n")
                + "\n" + body).encode()
    if kind == 1:      # multipart/alternative
        html = "<html><body><p>" + body.replace("\n", "</p>\n<p>") + "</p></body></html>\n"
        b = f"alt-{i}-{rnd.getrandbits(40):x}"
        return (headers(rnd, i, f"Alternative {i}",
                        f'Content-Type: multipart/alternative; boundary="{b}"\n') + "\n"
                f"This is a multi-part message in MIME format.\n\n--{b}\n"
                "Content-Type: text/plain; charset=utf-8\n\n" + body +
                f"\n--{b}\nContent-Type: text/html; charset=utf-8\n\n" + html + f"\n--{b}--\n").encode()
    if kind == 2:      # attachment, base64
        blob = rnd.randbytes(max(size // 2, 100))
        b = f"mix-{i}-{rnd.getrandbits(40):x}"
        return (headers(rnd, i, f"Attachment {i}",
                        f'Content-Type: multipart/mixed; boundary="{b}"\n') + "\n"
                f"--{b}\nContent-Type: text/plain\n\n" + text(rnd, 300) +
                f"\n--{b}\nContent-Type: application/octet-stream; name=\"data{i}.bin\"\n"
                f"Content-Disposition: attachment; filename=\"data{i}.bin\"\n"
                "Content-Transfer-Encoding: base64\n\n" + b64_lines(blob) + f"\n--{b}--\n").encode()
    if kind == 3:      # quoted-printable with non-ASCII text
        raw = (body[: size // 2] + "Grüße aus Köln, naïve café — ½ €\n" * 5).encode("utf-8")
        qp = quopri.encodestring(raw).decode("ascii")
        return (headers(rnd, i, f"=?utf-8?q?Qu=C3=B6ted_{i}?=",
                        "Content-Type: text/plain; charset=utf-8\n"
                        "Content-Transfer-Encoding: quoted-printable\n") + "\n" + qp).encode()
    if kind == 4:      # raw 8-bit headers and body
        return (headers(rnd, i, f"Ünïcødé 8-bit Betreff {i} — ☃",
                        "Content-Type: text/plain; charset=utf-8\n"
                        "Content-Transfer-Encoding: 8bit\n"
                        "X-Comment: Straße, déjà vu, 日本語\n") + "\n"
                + "Große Grüße! ✓\n" + body).encode("utf-8")
    # kind 5: message/rfc822 forward
    inner = (f"From: Inner <inner{i}@example.net>\nTo: someone@example.org\n"
             f"Subject: Forwarded inner {i}\nDate: Mon, 5 Jan 2026 10:00:00 +0100\n"
             f"Message-ID: <inner{i}@gen.test>\n\n" + body)
    b = f"fwd-{i}-{rnd.getrandbits(40):x}"
    return (headers(rnd, i, f"Fwd: inner {i}", f'Content-Type: multipart/mixed; boundary="{b}"\n')
            + "\n" + f"--{b}\nContent-Type: text/plain\n\nSee below.\n\n--{b}\n"
            "Content-Type: message/rfc822\n\n" + inner + f"\n--{b}--\n").encode()


def write_maildir(root):
    """Fills Maildir `root` (INBOX at root/INBOX, subfolders Verbatim under
    root); returns {folder: {sha256: flag letters}}."""
    rnd = random.Random(20260101)
    expected = {}
    i = 0
    for folder, count in FOLDERS.items():
        path = os.path.join(root, folder)
        for sub in ("cur", "new", "tmp"):
            os.makedirs(os.path.join(path, sub), exist_ok=True)
        expected[folder] = {}
        for _ in range(count):
            data = make_message(rnd, i)
            flags = FLAG_SETS[i % len(FLAG_SETS)]
            name = f"{1767225600 + i}.M{i}P1.gen:2,{flags}"
            with open(os.path.join(path, "cur", name), "wb") as f:
                f.write(data)
            mtime = 1767225600 + i * 60
            os.utime(os.path.join(path, "cur", name), (mtime, mtime))
            h = hashlib.sha256(data).hexdigest()
            assert h not in expected[folder]
            expected[folder][h] = flags
            i += 1
    assert i == NMSG
    return expected


def strip_tuid(data):
    """mbsync adds one `X-TUID: <12 characters>` header to each message it
    copies (to find it again should the new UID get lost), on the way up and
    on the way down alike; take that one line out again."""
    head, sep, rest = data.partition(b"\n\n")
    head, n = re.subn(rb"(?m)^X-TUID: [A-Za-z0-9+/]{12}\n", b"", head + b"\n", count=1)
    assert n == 1, data[:300]
    return head[:-1] + sep + rest


def read_maildir(root, tuid=True):
    """{folder: {sha256: flag letters}}; tuid: hash without mbsync's X-TUID."""
    found = {}
    for folder in FOLDERS:
        path = os.path.join(root, folder)
        found[folder] = {}
        for sub in ("cur", "new"):
            d = os.path.join(path, sub)
            if not os.path.isdir(d):
                continue
            for name in os.listdir(d):
                with open(os.path.join(d, name), "rb") as f:
                    data = f.read()
                h = hashlib.sha256(strip_tuid(data) if tuid else data).hexdigest()
                flags = name.split(":2,", 1)[1] if ":2," in name else ""
                assert h not in found[folder], f"{folder}: message twice: {name}"
                found[folder][h] = "".join(sorted(c for c in flags if c in LETTERS))
    return found


def mbsync(rc, channel, tmp):
    r = subprocess.run(["mbsync", "-c", rc, "-V", channel], capture_output=True, text=True,
                       timeout=45, env=dict(os.environ, HOME=tmp))
    assert r.returncode == 0, f"mbsync {channel} failed ({r.returncode}):\n" + \
        (r.stdout + r.stderr)[-6000:]
    return r


def test_mbsync_round_trip(make_server):
    s = make_server(conf={"altnamespace": "yes", "unixhierarchysep": "yes"})
    tmp = s.tmp
    src, dst = os.path.join(tmp, "src"), os.path.join(tmp, "dst")
    expected = write_maildir(src)
    os.makedirs(dst)
    rc = os.path.join(tmp, "mbsyncrc")
    with open(rc, "w") as f:
        f.write(f"""IMAPAccount agora
Host 127.0.0.1
Port {s.imap_port}
User bob
Pass bobpw
SSLType None
AuthMechs LOGIN PLAIN

IMAPStore agora
Account agora

MaildirStore src
Path {src}/
Inbox {src}/INBOX
SubFolders Verbatim

MaildirStore dst
Path {dst}/
Inbox {dst}/INBOX
SubFolders Verbatim

Channel push
Far :agora:
Near :src:
Patterns *
Create Both
SyncState *
Sync All

Channel pull
Far :agora:
Near :dst:
Patterns *
Create Near
SyncState *
Sync Pull
""")
    mbsync(rc, "push", tmp)

    # What Agora holds, seen with imaplib.
    m = s.imap("bob")
    imap_names = {"INBOX": "INBOX", "Lists/agora": "Lists/agora"}
    total = 0
    for folder, names in expected.items():
        typ, data = m.select(imap_names[folder], readonly=True)
        assert typ == "OK", (folder, data)
        assert int(data[0]) == len(names), (folder, data)
        total += int(data[0])
        typ, data = m.uid("FETCH", "1:*", "(FLAGS BODY.PEEK[])")
        assert typ == "OK"
        got = {}
        for item in data:
            if not isinstance(item, tuple):
                continue
            flags = re.search(rb"FLAGS \(([^)]*)\)", item[0]).group(1).decode().split()
            # Agora stores CRLF where the Maildir has LF.
            lf = item[1].replace(b"\r\n", b"\n")
            assert item[1].count(b"\n") == item[1].count(b"\r\n")
            h = hashlib.sha256(strip_tuid(lf)).hexdigest()
            assert h not in got, f"{folder}: message twice in Agora"
            got[h] = sorted(f for f in flags if f != "\\Recent")
        want = {h: sorted(LETTERS[c] for c in fl) for h, fl in names.items()}
        assert got.keys() == want.keys(), f"{folder}: the messages in Agora differ from the Maildir"
        bad = [(h[:12], got[h], want[h]) for h in want if got[h] != want[h]]
        assert not bad, f"{folder}: flags differ (got, want): {bad[:10]}"
    assert total == NMSG
    m.logout()

    mbsync(rc, "pull", tmp)
    # Less mbsync's own X-TUID line, the pulled files are byte for byte the
    # originals.
    found = read_maildir(dst)
    for folder in FOLDERS:
        assert sorted(found[folder]) == sorted(expected[folder]), \
            f"{folder}: pulled files differ ({len(found[folder])} vs {len(expected[folder])})"
        bad = [(h[:12], found[folder][h], expected[folder][h]) for h in expected[folder]
               if found[folder][h] != expected[folder][h]]
        assert not bad, f"{folder}: flags differ after the round trip (got, want): {bad[:10]}"

    # A second run of each channel changes nothing.
    mbsync(rc, "push", tmp)
    mbsync(rc, "pull", tmp)
    assert read_maildir(dst) == found
    assert read_maildir(src, tuid=False) == expected
