"""SEARCH and UID SEARCH: every RFC 3501 6.4.4 key, CHARSET, decoded
bodies and headers, ESEARCH RETURN options."""
import base64

import pytest

from conftest import message
from imapwire import append, connect, numbers, status_of, untagged

# Three messages. UIDs are 2, 3, 4 (a first message is expunged), so that
# sequence numbers (1, 2, 3) and UIDs differ.
M1 = (b"From: Alice <alice@example.com>\r\n"
      b"To: Bob <bob@example.com>\r\n"
      b"Cc: Carol <carol@example.com>\r\n"
      b"Bcc: Dave <dave@example.com>\r\n"
      b"Subject: Alpha report\r\n"
      # 00:30 at +0200 is still 22 Nov in UTC: SENT* must use the 23rd
      b"Date: Mon, 23 Nov 2026 00:30:00 +0200\r\n"
      b"\r\n"
      b"The quick brown fox\r\n")
M2 = (b"From: Eve <eve@example.org>\r\n"
      b"To: bob@example.com\r\n"
      b"Subject: =?ISO-8859-1?Q?Caf=E9_cr=E8me?=\r\n"
      b"Date: Tue, 10 Mar 2026 12:00:00 +0000\r\n"
      b"MIME-Version: 1.0\r\n"
      b"Content-Type: text/plain; charset=utf-8\r\n"
      b"Content-Transfer-Encoding: base64\r\n"
      b"\r\n" + base64.encodebytes("Grüße aus Köln\r\n".encode()).replace(b"\n", b"\r\n"))
M3 = (b"From: Frank <frank@example.net>\r\n"
      b"To: bob@example.com\r\n"
      b"Subject: Gamma\r\n"
      b"X-Custom: hello world\r\n"
      b"Date: Sat, 20 Jun 2026 23:59:00 -0700\r\n"
      b"MIME-Version: 1.0\r\n"
      b"Content-Type: multipart/mixed; boundary=b\r\n"
      b"\r\n"
      b"--b\r\n"
      b"Content-Type: text/plain; charset=iso-8859-1\r\n"
      b"Content-Transfer-Encoding: quoted-printable\r\n"
      b"\r\n"
      b"na=EFve r=E9sum=E9 with a soft=\r\nbreak\r\n"
      + b"padding line\r\n" * 20 +
      b"\r\n--b--\r\n")


@pytest.fixture
def box(server):
    w = connect(server, "bob")
    append(w, "INBOX", message("dummy"))
    w.ok("SELECT INBOX")
    w.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    w.ok("EXPUNGE")
    w.ok("UNSELECT")
    append(w, "INBOX", M1, flags="\\Seen \\Answered $Work", date="01-Feb-2026 10:00:00 +0000")
    append(w, "INBOX", M2, flags="\\Flagged \\Deleted", date="15-Mar-2026 23:30:00 -0500")
    append(w, "INBOX", M3, flags="\\Draft", date="20-Jun-2026 08:00:00 +0200")
    w.ok("SELECT INBOX")
    return w


def search(w, criteria, uid=False):
    u, t = w.cmd(("UID SEARCH " if uid else "SEARCH ") + criteria if isinstance(criteria, str)
                 else [("UID SEARCH " if uid else "SEARCH ") + criteria[0]] + criteria[1:])
    assert status_of(t) == "OK", f"SEARCH {criteria!r} failed: {t.raw!r}"
    return numbers(u)


CASES = [
    ("ALL", [1, 2, 3]),
    ("ANSWERED", [1]), ("UNANSWERED", [2, 3]),
    ("DELETED", [2]), ("UNDELETED", [1, 3]),
    ("DRAFT", [3]), ("UNDRAFT", [1, 2]),
    ("FLAGGED", [2]), ("UNFLAGGED", [1, 3]),
    ("SEEN", [1]), ("UNSEEN", [2, 3]),
    ("KEYWORD $Work", [1]), ("UNKEYWORD $Work", [2, 3]), ("KEYWORD $Other", []),
    ("RECENT", [1, 2, 3]), ("NEW", [2, 3]), ("OLD", []),
    ("FROM alice", [1]), ("FROM EXAMPLE.ORG", [2]), ("TO bob", [1, 2, 3]),
    ("CC carol", [1]), ("BCC dave", [1]), ("CC dave", []),
    ("SUBJECT alpha", [1]), ('SUBJECT "REPORT"', [1]), ("SUBJECT creme", []),
    ('HEADER X-Custom ""', [3]), ('HEADER x-custom "WORLD"', [3]), ('HEADER X-None ""', []),
    ('HEADER Subject ""', [1, 2, 3]),
    ("BODY brown", [1]), ("BODY alpha", []), ("TEXT alpha", [1]), ("TEXT gamma", [3]),
    ("BODY softbreak", [3]), ("BODY padding", [3]),
    ("BEFORE 15-Mar-2026", [1]), ("BEFORE 16-Mar-2026", [1, 2]),
    ("ON 15-Mar-2026", [2]), ("ON 16-Mar-2026", []), ("ON 1-Feb-2026", [1]),
    ("SINCE 15-Mar-2026", [2, 3]), ("SINCE 21-Jun-2026", []),
    ("SENTON 23-Nov-2026", [1]), ("SENTON 22-Nov-2026", []),
    ("SENTBEFORE 23-Nov-2026", [2, 3]), ("SENTSINCE 23-Nov-2026", [1]),
    ("SENTON 20-Jun-2026", [3]), ("SENTSINCE 10-Mar-2026", [1, 2, 3]), ("SENTBEFORE 10-Mar-2026", []),
    ("LARGER %d" % (len(M1) - 1), [1, 2, 3] if len(M2) >= len(M1) else [1, 3]),
    ("LARGER %d" % len(M3), []), ("LARGER %d" % (len(M3) - 1), [3]),
    ("SMALLER %d" % len(M1), [i for i, m in ((1, M1), (2, M2), (3, M3)) if len(m) < len(M1)]),
    ("SMALLER %d" % (len(M3) + 1), [1, 2, 3]),
    ("NOT SEEN", [2, 3]), ("NOT NOT SEEN", [1]),
    ("OR SEEN FLAGGED", [1, 2]), ("OR OR SEEN FLAGGED DRAFT", [1, 2, 3]),
    ("(SEEN ANSWERED)", [1]), ("(SEEN FLAGGED)", []),
    ("OR (FROM alice) (SUBJECT gamma)", [1, 3]),
    ("NOT (OR SEEN DELETED)", [3]),
    ("SEEN UNSEEN", []), ("UNSEEN TO bob NOT DRAFT", [2]),
    ("2:3", [2, 3]), ("*", [3]), ("1,3", [1, 3]), ("2:* UNDELETED", [3]),
    ("UID 2", [1]), ("UID 3:4", [2, 3]), ("UID 4:*", [3]), ("UID 1:2", [1]), ("UID 99", []),
]


def test_every_search_key(box):
    # one server for all keys; every mismatch is reported together
    wrong = []
    for criteria, want in CASES:
        got = search(box, criteria)
        if got != want:
            wrong.append(f"SEARCH {criteria}: expected {want}, got {got}")
    assert not wrong, "\n".join(wrong)


def test_uid_search_returns_uids(box):
    assert search(box, "ALL", uid=True) == [2, 3, 4]
    assert search(box, "UNSEEN", uid=True) == [3, 4]
    assert search(box, "1", uid=True) == [2], "a sequence set in UID SEARCH still means sequence numbers"
    assert search(box, "UID 3:*", uid=True) == [3, 4]


def test_new_and_old_in_second_session(box, server):
    w2 = connect(server, "bob")
    w2.ok("SELECT INBOX")
    assert search(w2, "RECENT") == [], "\\Recent belongs to the first session only"
    assert search(w2, "OLD") == [1, 2, 3]
    assert search(w2, "NEW") == []


def test_charset_utf8_literals(box):
    assert search(box, ["CHARSET UTF-8 SUBJECT ", "Café".encode()]) == [2], \
        "RFC 2047 encoded subject must match the decoded UTF-8 needle"
    assert search(box, ["CHARSET UTF-8 SUBJECT ", "CAFÉ".encode()]) == [2], "case-insensitive beyond ASCII"
    assert search(box, ["CHARSET UTF-8 BODY ", "köln".encode()]) == [2], "base64 body must be decoded"
    assert search(box, ["CHARSET UTF-8 TEXT ", "grüße".encode()]) == [2]
    assert search(box, ["CHARSET UTF-8 BODY ", "résumé".encode()]) == [3], \
        "quoted-printable ISO-8859-1 body must be decoded to UTF-8"
    assert search(box, ["CHARSET UTF-8 BODY ", "naïve".encode()]) == [3]
    assert search(box, ["CHARSET UTF-8 BODY ", "crème".encode()]) == [], "the subject is not the body"
    assert search(box, ["CHARSET UTF-8 TEXT ", "crème".encode()]) == [2], "TEXT includes the header, decoded"
    assert search(box, "CHARSET US-ASCII FROM alice") == [1]


def test_unknown_charset_is_badcharset(box):
    u, t = box.cmd("SEARCH CHARSET X-NOPE FROM alice")
    assert status_of(t) == "NO" and "[BADCHARSET" in t.text, f"expected NO [BADCHARSET ...]: {t.raw!r}"


def test_bad_search_syntax(box):
    for bad in ("", "FROBNICATE", "BEFORE notadate", "LARGER x", "OR SEEN", "(SEEN", "NOT", "HEADER Subject",
                "UID abc", "KEYWORD"):
        u, t = box.cmd(f"SEARCH {bad}")
        assert status_of(t) == "BAD", f"SEARCH {bad!r} must be BAD: {t.raw!r}"


def test_search_invalid_utf8_needle(box):
    u, t = box.cmd(["SEARCH CHARSET UTF-8 BODY ", b"\xff\xfe"])
    assert status_of(t) in ("BAD", "NO"), t.raw


def esearch(w, text):
    u, t = w.cmd(text)
    assert status_of(t) == "OK", t.raw
    es = untagged(u, "ESEARCH")
    assert len(es) == 1 and not untagged(u, "SEARCH"), [r.raw for r in u]
    toks = es[0][1:]
    assert toks[0] == ["TAG", t.tokens[0].encode()], f"ESEARCH must correlate with the tag: {toks}"
    toks = toks[1:]
    out = {}
    if toks and toks[0] == "UID":
        out["UID"] = True
        toks = toks[1:]
    for i in range(0, len(toks), 2):
        out[toks[i]] = toks[i + 1]
    return out


def test_esearch_return_options(box):
    assert esearch(box, "SEARCH RETURN (MIN MAX COUNT ALL) UNDELETED") == \
        {"MIN": "1", "MAX": "3", "COUNT": "2", "ALL": "1,3"}
    assert esearch(box, "UID SEARCH RETURN (MIN MAX COUNT ALL) ALL") == \
        {"UID": True, "MIN": "2", "MAX": "4", "COUNT": "3", "ALL": "2:4"}
    assert esearch(box, "SEARCH RETURN () ALL") == {"ALL": "1:3"}, "RETURN () means ALL"
    assert esearch(box, "SEARCH RETURN (COUNT) KEYWORD $Other") == {"COUNT": "0"}
    assert esearch(box, "SEARCH RETURN (MIN MAX ALL) KEYWORD $Other") == {}, \
        "no MIN/MAX/ALL when nothing matched"
    assert esearch(box, "SEARCH RETURN (MAX) CHARSET UTF-8 TEXT report") == {"MAX": "1"}
    u, t = box.cmd("SEARCH RETURN (BOGUS) ALL")
    assert status_of(t) == "BAD", t.raw


HEADER_CASES = [(c, w) for c, w in CASES
                if c.split()[0] in ("FROM", "TO", "CC", "BCC", "SUBJECT", "HEADER", "OR", "UNSEEN")]


def search_rows(server):
    import sqlite3
    from recon_lib import db_path
    with sqlite3.connect(db_path(server)) as db:
        return {(b, u) for b, u in db.execute(
            "SELECT b.name, s.uid FROM message_search s JOIN mailboxes b ON b.id = s.mailbox")}


def test_header_keys_from_stored_fields_and_without_them(box, server):
    """FROM/TO/CC/BCC/SUBJECT (and HEADER on those fields) are answered from
    the fields stored at APPEND; a message without them (a store from before
    they were kept) is answered from its header, with the same results."""
    assert {u for b, u in search_rows(server) if b == "user.bob"} == {2, 3, 4}, \
        "APPEND records the search fields of each message, and EXPUNGE removes them"
    for criteria, want in HEADER_CASES:
        assert search(box, criteria) == want, criteria
    import sqlite3
    from recon_lib import db_path
    with sqlite3.connect(db_path(server)) as db:
        db.execute("DELETE FROM message_search WHERE uid IN (2, 4)")
    for criteria, want in HEADER_CASES:
        assert search(box, criteria) == want, f"{criteria} without stored fields for two messages"


def test_stored_fields_follow_copy_and_move(box, server):
    box.ok("CREATE INBOX.Kept")
    box.ok("UID COPY 2 INBOX.Kept")
    box.ok("UID MOVE 4 INBOX.Kept")
    rows = search_rows(server)
    assert {u for b, u in rows if b == "user.bob.Kept"} == {1, 2}
    assert {u for b, u in rows if b == "user.bob"} == {2, 3}, "MOVE takes the source's fields away"
    box.ok("SELECT INBOX.Kept")
    assert search(box, "FROM alice") == [1]
    assert search(box, "SUBJECT gamma") == [2]
    assert search(box, "OR SUBJECT alpha FROM frank") == [1, 2]
    box.ok("SELECT INBOX")
    assert search(box, "SUBJECT gamma") == []
    assert search(box, "FROM eve") == [2]
