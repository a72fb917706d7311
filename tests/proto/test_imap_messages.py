"""Message commands: APPEND, FETCH (every item, sections, BINARY), STORE,
COPY/MOVE, EXPUNGE/CLOSE/UNSELECT, sequence-number rules and when EXPUNGE
responses may be sent."""
import pytest

from conftest import message
from imapwire import append, connect, fetch_map, parse_all, status_of, untagged

# A multipart/mixed message with a nested multipart/alternative (plain +
# quoted-printable ISO-8859-1 html), a message/rfc822 attachment and a
# base64 attachment. Every body ends with a CRLF of its own before the
# delimiter's CRLF, so sizes and line counts are unambiguous.
TOP_HEADER = (b"From: Alice <alice@example.com>\r\n"
              b"To: bob@example.com\r\n"
              b"Subject: Multi\r\n"
              b"Date: Mon, 23 Nov 2026 10:00:00 +0000\r\n"
              b"Message-ID: <multi@test>\r\n"
              b"MIME-Version: 1.0\r\n"
              b"Content-Type: multipart/mixed; boundary=\"outer\"\r\n"
              b"\r\n")
P11_HEADER = b"Content-Type: text/plain; charset=us-ascii\r\n\r\n"
P11_BODY = b"plain text\r\n"
P12_HEADER = (b"Content-Type: text/html; charset=iso-8859-1\r\n"
              b"Content-Transfer-Encoding: quoted-printable\r\n\r\n")
P12_BODY = b"<p>caf=E9</p>\r\n"
P1_HEADER = b"Content-Type: multipart/alternative; boundary=\"inner\"\r\n\r\n"
P1_BODY = (b"--inner\r\n" + P11_HEADER + P11_BODY +
           b"\r\n--inner\r\n" + P12_HEADER + P12_BODY +
           b"\r\n--inner--\r\n")
INNER_HEADER = (b"From: Carol <carol@example.com>\r\n"
                b"To: dave@example.com\r\n"
                b"Subject: Inner\r\n"
                b"Date: Tue, 24 Nov 2026 09:00:00 +0100\r\n"
                b"\r\n")
INNER_BODY = b"inner body\r\n"
P2_HEADER = b"Content-Type: message/rfc822\r\n\r\n"
P2_BODY = INNER_HEADER + INNER_BODY
P3_HEADER = (b"Content-Type: application/octet-stream; name=\"a.bin\"\r\n"
             b"Content-Transfer-Encoding: base64\r\n"
             b"Content-Disposition: attachment; filename=\"a.bin\"\r\n\r\n")
P3_BODY = b"AAEC/w==\r\n"
TOP_BODY = (b"This is a MIME message.\r\n"
            b"--outer\r\n" + P1_HEADER + P1_BODY +
            b"\r\n--outer\r\n" + P2_HEADER + P2_BODY +
            b"\r\n--outer\r\n" + P3_HEADER + P3_BODY +
            b"\r\n--outer--\r\n")
MULTI = TOP_HEADER + TOP_BODY

CAROL = '(("Carol" NIL "carol" "example.com"))'
INNER_ENVELOPE = ('("Tue, 24 Nov 2026 09:00:00 +0100" "Inner" ' + CAROL + " " + CAROL + " " + CAROL +
                  ' ((NIL NIL "dave" "example.com")) NIL NIL NIL NIL)')
ALICE = '(("Alice" NIL "alice" "example.com"))'
TOP_ENVELOPE = ('("Mon, 23 Nov 2026 10:00:00 +0000" "Multi" ' + ALICE + " " + ALICE + " " + ALICE +
                ' ((NIL NIL "bob" "example.com")) NIL NIL NIL "<multi@test>")')

# RFC 3501 7.4.2, written out by hand. Extension data: body-fld-md5,
# body-fld-dsp, body-fld-lang, body-fld-loc for single parts;
# body-fld-param, dsp, lang, loc for multiparts.
BODYSTRUCTURE = (
    "((("
    f'"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" {len(P11_BODY)} 1 NIL NIL NIL NIL)('
    f'"text" "html" ("charset" "iso-8859-1") NIL NIL "quoted-printable" {len(P12_BODY)} 1 NIL NIL NIL NIL)'
    ' "alternative" ("boundary" "inner") NIL NIL NIL)('
    f'"message" "rfc822" NIL NIL NIL "7bit" {len(P2_BODY)} {INNER_ENVELOPE} '
    f'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" {len(INNER_BODY)} 1 NIL NIL NIL NIL) 6 NIL NIL NIL NIL)('
    f'"application" "octet-stream" ("name" "a.bin") NIL NIL "base64" {len(P3_BODY)} NIL '
    '("attachment" ("filename" "a.bin")) NIL NIL)'
    ' "mixed" ("boundary" "outer") NIL NIL NIL)')
BODY = (
    "((("
    f'"text" "plain" ("charset" "us-ascii") NIL NIL "7bit" {len(P11_BODY)} 1)('
    f'"text" "html" ("charset" "iso-8859-1") NIL NIL "quoted-printable" {len(P12_BODY)} 1)'
    ' "alternative")('
    f'"message" "rfc822" NIL NIL NIL "7bit" {len(P2_BODY)} {INNER_ENVELOPE} '
    f'("text" "plain" ("charset" "us-ascii") NIL NIL "7bit" {len(INNER_BODY)} 1) 6)('
    f'"application" "octet-stream" ("name" "a.bin") NIL NIL "base64" {len(P3_BODY)})'
    ' "mixed")')


def one(w, seq, items):
    """FETCH `items` of message `seq`; returns {ITEM: value}."""
    u = w.ok(f"FETCH {seq} {items}")
    got = fetch_map(u)
    assert seq in got, f"no FETCH response for {seq}: {[r.raw for r in u]}"
    return got[seq]


@pytest.fixture
def bob_multi(server):
    w = connect(server, "bob")
    append(w, "INBOX", MULTI, date="23-Nov-2026 11:00:00 +0100")
    w.ok("SELECT INBOX")
    return w


# -- APPEND


def test_append_flags_date_and_appenduid(server):
    w = connect(server, "bob")
    t = append(w, "INBOX", message("a1"), flags="\\Flagged $Work", date="05-Jan-2026 08:09:10 -0500")
    code = parse_all(t.raw)[2]
    assert code.startswith("[APPENDUID"), f"APPEND must answer [APPENDUID v uid]: {t.raw!r}"
    w.ok("SELECT INBOX")
    got = one(w, 1, "(FLAGS INTERNALDATE UID)")
    assert sorted(got["FLAGS"]) == ["$Work", "\\Flagged", "\\Recent"], got
    # date-day-fixed is (SP DIGIT) / 2DIGIT
    assert got["INTERNALDATE"] in (b" 5-Jan-2026 08:09:10 -0500", b"05-Jan-2026 08:09:10 -0500"), got
    uidvalidity, uid = t.text.split("[APPENDUID ")[1].split("]")[0].split()
    assert uid == got["UID"] == "1", f"APPENDUID names the UID: {t.raw!r} {got}"
    st = untagged(w.ok("STATUS INBOX (UIDVALIDITY)"), "STATUS")[0][2]
    assert st == ["UIDVALIDITY", uidvalidity], f"APPENDUID names the UIDVALIDITY: {t.raw!r} {st}"


def test_append_literal_plus(server):
    w = connect(server, "bob")
    msg = message("lp")
    w.send(b"a1 APPEND INBOX (\\Seen) {%d+}\r\n" % len(msg) + msg + b"\r\n")
    u, t = w.read_until_tagged("a1")
    assert status_of(t) == "OK", f"LITERAL+ APPEND: {t.raw!r} {[r.raw for r in u]}"
    assert not any(r.raw.startswith(b"+") for r in u), "no continuation request for a {n+} literal"
    w.ok("SELECT INBOX")
    assert one(w, 1, "BODY.PEEK[]")["BODY[]"] == msg


def test_append_trycreate_and_empty(server):
    w = connect(server, "bob")
    u, t = w.cmd(["APPEND INBOX.Nowhere ", message("x")])
    assert status_of(t) == "NO" and "[TRYCREATE]" in t.text, f"expected NO [TRYCREATE]: {t.raw!r}"
    u, t = w.cmd("APPEND INBOX {0}\r\n")
    assert status_of(t) in ("NO", "BAD"), f"an empty message must be refused: {t.raw!r}"
    u = w.ok("STATUS INBOX (MESSAGES)")
    assert untagged(u, "STATUS")[0][2] == ["MESSAGES", "0"], [r.raw for r in u]


def test_append_bad_date_and_flags(server):
    w = connect(server, "bob")
    u, t = w.cmd(['APPEND INBOX "32-Foo-2026 00:00:00 +0000" ', message("x")])
    assert status_of(t) == "BAD", t.raw
    u, t = w.cmd(["APPEND INBOX (\\Recent) ", message("x")])
    assert status_of(t) == "BAD", f"\\Recent cannot be appended: {t.raw!r}"


def test_append_to_selected_mailbox_reports_exists(server):
    w = connect(server, "bob")
    w.ok("SELECT INBOX")
    u, t = w.cmd(["APPEND INBOX ", message("x")])
    assert status_of(t) == "OK"
    assert ["1", "EXISTS"] in untagged(u, "EXISTS"), [r.raw for r in u]


# -- FETCH


def test_fetch_simple_items(bob_multi):
    w = bob_multi
    got = one(w, 1, "(FLAGS UID INTERNALDATE RFC822.SIZE ENVELOPE)")
    assert got["FLAGS"] == ["\\Recent"], got
    assert got["UID"] == "1"
    assert got["INTERNALDATE"] == b"23-Nov-2026 11:00:00 +0100", got
    assert got["RFC822.SIZE"] == str(len(MULTI)), got
    u = w.ok("FETCH 1 ENVELOPE")
    raw = [r.raw for r in u if b"FETCH" in r.raw][0]
    assert raw == f"* 1 FETCH (ENVELOPE {TOP_ENVELOPE})".encode(), f"\n got {raw!r}\nwant {TOP_ENVELOPE}"


def test_fetch_bodystructure_exact(bob_multi):
    u = bob_multi.ok("FETCH 1 BODYSTRUCTURE")
    raw = [r.raw for r in u if b"FETCH" in r.raw][0]
    assert raw == f"* 1 FETCH (BODYSTRUCTURE {BODYSTRUCTURE})".encode(), \
        f"\n got {raw.decode()}\nwant * 1 FETCH (BODYSTRUCTURE {BODYSTRUCTURE})"


def test_fetch_body_exact(bob_multi):
    u = bob_multi.ok("FETCH 1 BODY")
    raw = [r.raw for r in u if b"FETCH" in r.raw][0]
    assert raw == f"* 1 FETCH (BODY {BODY})".encode(), f"\n got {raw.decode()}\nwant * 1 FETCH (BODY {BODY})"


SECTIONS = [
    ("BODY.PEEK[]", "BODY[]", MULTI),
    ("BODY.PEEK[HEADER]", "BODY[HEADER]", TOP_HEADER),
    ("BODY.PEEK[TEXT]", "BODY[TEXT]", TOP_BODY),
    ("BODY.PEEK[1]", "BODY[1]", P1_BODY),
    ("BODY.PEEK[1.1]", "BODY[1.1]", P11_BODY),
    ("BODY.PEEK[1.2]", "BODY[1.2]", P12_BODY),
    ("BODY.PEEK[1.MIME]", "BODY[1.MIME]", P1_HEADER),
    ("BODY.PEEK[1.2.MIME]", "BODY[1.2.MIME]", P12_HEADER),
    ("BODY.PEEK[2]", "BODY[2]", P2_BODY),
    ("BODY.PEEK[2.MIME]", "BODY[2.MIME]", P2_HEADER),
    ("BODY.PEEK[2.HEADER]", "BODY[2.HEADER]", INNER_HEADER),
    ("BODY.PEEK[2.TEXT]", "BODY[2.TEXT]", INNER_BODY),
    ("BODY.PEEK[2.1]", "BODY[2.1]", INNER_BODY),
    ("BODY.PEEK[3]", "BODY[3]", P3_BODY),
    ("BODY.PEEK[3.MIME]", "BODY[3.MIME]", P3_HEADER),
    ("BODY.PEEK[HEADER.FIELDS (Subject FROM)]", "BODY[HEADER.FIELDS (SUBJECT FROM)]",
     b"From: Alice <alice@example.com>\r\nSubject: Multi\r\n\r\n"),
    ("BODY.PEEK[HEADER.FIELDS.NOT (Subject From Content-Type MIME-Version)]",
     "BODY[HEADER.FIELDS.NOT (SUBJECT FROM CONTENT-TYPE MIME-VERSION)]",
     b"To: bob@example.com\r\nDate: Mon, 23 Nov 2026 10:00:00 +0000\r\nMessage-ID: <multi@test>\r\n\r\n"),
    ("BODY.PEEK[2.HEADER.FIELDS (Subject)]", "BODY[2.HEADER.FIELDS (SUBJECT)]", b"Subject: Inner\r\n\r\n"),
    ("BODY.PEEK[HEADER.FIELDS (X-None)]", "BODY[HEADER.FIELDS (X-NONE)]", b"\r\n"),
    ("RFC822.HEADER", "RFC822.HEADER", TOP_HEADER),
    ("BODY.PEEK[]<0.20>", "BODY[]<0>", MULTI[:20]),
    ("BODY.PEEK[TEXT]<5.10>", "BODY[TEXT]<5>", TOP_BODY[5:15]),
    ("BODY.PEEK[1.1]<6.100>", "BODY[1.1]<6>", P11_BODY[6:]),
    ("BODY.PEEK[1.1]<500.10>", "BODY[1.1]<500>", b""),
    ("BINARY.PEEK[1.2]", "BINARY[1.2]", b"<p>caf\xe9</p>\r\n"),
    ("BINARY.PEEK[3]", "BINARY[3]", b"\x00\x01\x02\xff"),
    ("BINARY.PEEK[1.1]", "BINARY[1.1]", P11_BODY),
    ("BINARY.PEEK[3]<1.2>", "BINARY[3]<1>", b"\x01\x02"),
]


def test_fetch_section_bytes(bob_multi):
    # one server for every section; every mismatch is reported together
    wrong = []
    for item, label, want in SECTIONS:
        got = one(bob_multi, 1, item)
        if label.upper() not in got:
            wrong.append(f"FETCH {item}: response must be labelled {label}: {list(got)}")
        elif got[label.upper()] != want:
            wrong.append(f"FETCH {item}:\n got {got[label.upper()]!r}\nwant {want!r}")
        if "FLAGS" in got:
            wrong.append(f"FETCH {item}: a PEEK must not report (or set) \\Seen: {got}")
    assert not wrong, "\n".join(wrong)


def test_binary_size(bob_multi):
    got = one(bob_multi, 1, "(BINARY.SIZE[1.2] BINARY.SIZE[3] BINARY.SIZE[1.1])")
    assert got["BINARY.SIZE[1.2]"] == "13" and got["BINARY.SIZE[3]"] == "4", got
    assert got["BINARY.SIZE[1.1]"] == str(len(P11_BODY)), got


def test_binary_with_nul_uses_literal8(bob_multi):
    bob_multi.send(b"b1 FETCH 1 BINARY.PEEK[3]\r\n")
    u, t = bob_multi.read_until_tagged("b1")
    raw = [r.raw for r in u if b"FETCH" in r.raw][0]
    assert b"BINARY[3] ~{4}\r\n\x00\x01\x02\xff" in raw, f"NUL bytes need a literal8 ~{{n}}: {raw!r}"


def test_binary_unknown_encoding(server):
    w = connect(server, "bob")
    msg = message("cte", extra="MIME-Version: 1.0\r\nContent-Transfer-Encoding: x-uuencode\r\n")
    append(w, "INBOX", msg)
    w.ok("SELECT INBOX")
    u, t = w.cmd("FETCH 1 BINARY.PEEK[1]")
    assert status_of(t) == "NO" and "UNKNOWN-CTE" in t.text, f"expected NO [UNKNOWN-CTE]: {t.raw!r}"


def test_rfc822_items(bob_multi):
    got = one(bob_multi, 1, "(RFC822.HEADER RFC822.TEXT)")
    assert got["RFC822.HEADER"] == TOP_HEADER and got["RFC822.TEXT"] == TOP_BODY, got
    assert "\\Seen" in got["FLAGS"], f"RFC822.TEXT sets \\Seen and reports the new FLAGS: {got}"
    bob_multi.ok("STORE 1 -FLAGS (\\Seen)")
    got = one(bob_multi, 1, "RFC822")
    assert got["RFC822"] == MULTI and "\\Seen" in got["FLAGS"], got


def test_body_sets_seen_and_peek_does_not(bob_multi):
    w = bob_multi
    got = one(w, 1, "BODY.PEEK[1.1]")
    assert "FLAGS" not in got
    assert one(w, 1, "FLAGS")["FLAGS"] == ["\\Recent"], "BODY.PEEK must not set \\Seen"
    got = one(w, 1, "BODY[1.1]")
    assert "FLAGS" in got and "\\Seen" in got["FLAGS"], f"BODY[] sets \\Seen and says so in FLAGS: {got}"
    assert "\\Seen" in one(w, 1, "FLAGS")["FLAGS"]
    got = one(w, 1, "BODY[1.1]")
    assert "\\Seen" in got.get("FLAGS", ["\\Seen"])


def test_binary_sets_seen(bob_multi):
    got = one(bob_multi, 1, "BINARY[1.2]")
    assert "\\Seen" in got.get("FLAGS", []), f"BINARY[] (not PEEK) sets \\Seen: {got}"


def test_fetch_macros(bob_multi):
    w = bob_multi
    fast = one(w, 1, "FAST")
    assert set(fast) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE"}, fast
    al = one(w, 1, "ALL")
    assert set(al) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"}, al
    full = one(w, 1, "FULL")
    assert set(full) == {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"}, full
    u, t = w.cmd("FETCH 1 (FAST UID)")
    assert status_of(t) == "BAD", f"macros cannot be combined in a list: {t.raw!r}"


def test_fetch_bad_items(bob_multi):
    for bad in ("BODY[0]", "BODY[1.0]", "BODY[FOO]", "BINARY[HEADER]", "BODY[]<1.0>", "NOSUCH", "BODY[1]<x.2>"):
        u, t = bob_multi.cmd(f"FETCH 1 {bad}")
        assert status_of(t) == "BAD", f"FETCH {bad} must be BAD: {t.raw!r}"


def test_fetch_missing_part_is_empty(bob_multi):
    got = one(bob_multi, 1, "BODY.PEEK[9]")
    assert got["BODY[9]"] in (b"", None), got


# -- STORE


def test_store_variants(server):
    w = connect(server, "bob")
    for i in range(3):
        append(w, "INBOX", message(f"s{i}"))
    w.ok("SELECT INBOX")
    u = w.ok("STORE 1:2 +FLAGS (\\Flagged $Label1)")
    got = fetch_map(u)
    assert set(got) == {1, 2} and all(sorted(v["FLAGS"]) == ["$Label1", "\\Flagged", "\\Recent"] for v in got.values()), got
    u = w.ok("STORE 2 -FLAGS ($Label1)")
    assert sorted(fetch_map(u)[2]["FLAGS"]) == ["\\Flagged", "\\Recent"], [r.raw for r in u]
    u = w.ok("STORE 3 FLAGS (\\Answered \\Draft)")
    assert sorted(fetch_map(u)[3]["FLAGS"]) == ["\\Answered", "\\Draft", "\\Recent"], [r.raw for r in u]
    u = w.ok("STORE 1 FLAGS.SILENT (\\Deleted)")
    assert fetch_map(u) == {}, f".SILENT must not send FETCH: {[r.raw for r in u]}"
    assert sorted(one(w, 1, "FLAGS")["FLAGS"]) == ["\\Deleted", "\\Recent"]
    u = w.ok("STORE 1 -FLAGS.SILENT (\\Deleted)")
    assert fetch_map(u) == {}
    u = w.ok("UID STORE 3 +FLAGS (\\Seen)")
    assert fetch_map(u)[3]["UID"] == "3", f"UID STORE's FETCH includes the UID: {[r.raw for r in u]}"
    # keywords in use show up in FLAGS and PERMANENTFLAGS allows new ones
    w.ok("STORE 3 +FLAGS.SILENT ($Keep)")
    u = w.ok("SELECT INBOX")
    flags = [t for t in untagged(u, "FLAGS")][0][1]
    assert "$Keep" in flags, flags
    assert any(b"\\*" in r.raw for r in u if b"PERMANENTFLAGS" in r.raw), [r.raw for r in u]


def test_store_recent_and_bad_flags_refused(server):
    w = connect(server, "bob")
    append(w, "INBOX", message("r"))
    w.ok("SELECT INBOX")
    for bad in ("+FLAGS (\\Recent)", "FLAGS (\\Bogus)", "+FLAGS (bad[kw)", "+FLOGS (\\Seen)"):
        u, t = w.cmd(f"STORE 1 {bad}")
        assert status_of(t) == "BAD", f"STORE {bad} must be BAD: {t.raw!r}"


def test_store_in_examine_is_no(server):
    w = connect(server, "bob")
    append(w, "INBOX", message("r"))
    w.ok("EXAMINE INBOX")
    u, t = w.cmd("STORE 1 +FLAGS (\\Seen)")
    assert status_of(t) == "NO", t.raw
    got = one(w, 1, "BODY[]")
    assert "\\Seen" not in got.get("FLAGS", []), f"BODY[] in EXAMINE must not set \\Seen: {got}"


# -- COPY / MOVE


def test_copy_and_uid_copy_with_copyuid(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.dst")
    for i in range(4):
        append(w, "INBOX", message(f"c{i}"))
    w.ok("SELECT INBOX")
    w.ok("STORE 2 +FLAGS (\\Flagged)")
    u, t = w.cmd("COPY 2:3 INBOX.dst")
    assert status_of(t) == "OK" and "[COPYUID " in t.text, t.raw
    parts = t.text.split("[COPYUID ")[1].split("]")[0].split()
    assert parts[1:] == ["2:3", "1:2"], f"COPYUID uidvalidity 2:3 1:2 expected: {t.raw!r}"
    u, t = w.cmd("UID COPY 4,1 INBOX.dst")
    parts = t.text.split("[COPYUID ")[1].split("]")[0].split()
    assert parts[1:] == ["1,4", "3:4"], f"source and destination in matching order: {t.raw!r}"
    u, t = w.cmd("COPY 1 INBOX.nope")
    assert status_of(t) == "NO" and "[TRYCREATE]" in t.text, t.raw
    w.ok("SELECT INBOX.dst")
    got = one(w, 1, "(FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])")
    assert "\\Flagged" in got["FLAGS"], f"COPY keeps flags: {got}"
    assert got["BODY[HEADER.FIELDS (SUBJECT)]"] == b"Subject: c1\r\n\r\n", got


def test_move_sends_expunge(server):
    w = connect(server, "bob")
    w.ok("CREATE INBOX.mv")
    for i in range(3):
        append(w, "INBOX", message(f"m{i}"))
    w.ok("SELECT INBOX")
    u, t = w.cmd("MOVE 2 INBOX.mv")
    assert status_of(t) == "OK", t.raw
    copyuid = [r for r in u if b"[COPYUID" in r.raw]
    assert copyuid and copyuid[0].raw.split(b"[COPYUID ")[1].split(b"]")[0].split()[1:] == [b"2", b"1"], [r.raw for r in u]
    assert ["2", "EXPUNGE"] in untagged(u, "EXPUNGE"), f"MOVE sends * 2 EXPUNGE: {[r.raw for r in u]}"
    assert u.index(copyuid[0]) < [i for i, r in enumerate(u) if b"EXPUNGE" in r.raw][0], "COPYUID before EXPUNGE"
    u, t = w.cmd("UID MOVE 3 INBOX.mv")
    assert ["2", "EXPUNGE"] in untagged(u, "EXPUNGE"), [r.raw for r in u]
    u = w.ok("UID SEARCH ALL")
    assert [r.tokens for r in u if r.tokens[:2] == ["*", "SEARCH"]] == [["*", "SEARCH", "1"]], [r.raw for r in u]


# -- EXPUNGE / CLOSE / UNSELECT


def setup_deleted(server, n=5, deleted=(2, 4)):
    w = connect(server, "bob")
    for i in range(n):
        append(w, "INBOX", message(f"e{i}"))
    w.ok("SELECT INBOX")
    w.ok("STORE " + ",".join(map(str, deleted)) + " +FLAGS.SILENT (\\Deleted)")
    return w


def test_expunge(server):
    w = setup_deleted(server)
    u = w.ok("EXPUNGE")
    ex = [t[0] for t in untagged(u, "EXPUNGE")]
    assert ex == ["2", "3"], f"expunging 2 and 4 gives * 2 EXPUNGE then * 3 EXPUNGE: {ex}"
    u = w.ok("UID SEARCH ALL")
    assert [t for t in untagged(u, "SEARCH")][0][1:] == ["1", "3", "5"]


def test_uid_expunge_only_given_uids(server):
    w = setup_deleted(server)
    u = w.ok("UID EXPUNGE 4:5")
    assert [t[0] for t in untagged(u, "EXPUNGE")] == ["4"], [r.raw for r in u]
    u = w.ok("UID SEARCH DELETED")
    assert untagged(u, "SEARCH")[0][1:] == ["2"], "UID 2 is \\Deleted but was not named, so stays"


def test_close_expunges_silently_unselect_does_not(server):
    w = setup_deleted(server)
    u = w.ok("UNSELECT")
    assert not untagged(u, "EXPUNGE")
    u = w.ok("STATUS INBOX (MESSAGES)")
    assert untagged(u, "STATUS")[0][2] == ["MESSAGES", "5"], "UNSELECT must not expunge"
    w.ok("SELECT INBOX")
    u = w.ok("CLOSE")
    assert not untagged(u, "EXPUNGE"), f"CLOSE expunges without EXPUNGE responses: {[r.raw for r in u]}"
    u = w.ok("STATUS INBOX (MESSAGES)")
    assert untagged(u, "STATUS")[0][2] == ["MESSAGES", "3"], "CLOSE must expunge \\Deleted messages"
    u, t = w.cmd("FETCH 1 FLAGS")
    assert status_of(t) == "BAD", "after CLOSE no mailbox is selected"


def test_close_in_examine_does_not_expunge(server):
    w = setup_deleted(server)
    w.ok("EXAMINE INBOX")
    w.ok("CLOSE")
    u = w.ok("STATUS INBOX (MESSAGES)")
    assert untagged(u, "STATUS")[0][2] == ["MESSAGES", "5"]


def test_expunge_in_examine_is_no(server):
    w = setup_deleted(server)
    w.ok("EXAMINE INBOX")
    u, t = w.cmd("EXPUNGE")
    assert status_of(t) == "NO", t.raw


# -- sequence numbers


def test_sequence_number_rules(server):
    w = connect(server, "bob")
    for i in range(3):
        append(w, "INBOX", message(f"q{i}"))
    w.ok("SELECT INBOX")
    for cmd in ("FETCH 4 FLAGS", "FETCH 2:4 FLAGS", "STORE 5 +FLAGS (\\Seen)", "COPY 9 INBOX", "FETCH 0 FLAGS"):
        u, t = w.cmd(cmd)
        assert status_of(t) == "BAD", f"{cmd} with a number beyond EXISTS (3) must be BAD: {t.raw!r}"
    u = w.ok("UID FETCH 2:99 UID")
    assert sorted(fetch_map(u)) == [2, 3], f"UID ranges beyond the last UID are fine: {[r.raw for r in u]}"
    u = w.ok("UID FETCH 50:60 UID")
    assert fetch_map(u) == {}, [r.raw for r in u]
    u = w.ok("FETCH * UID")
    assert fetch_map(u) == {3: {"UID": "3"}}, [r.raw for r in u]
    u = w.ok("FETCH 3:* UID")
    assert list(fetch_map(u)) == [3]
    u = w.ok("FETCH *:2 UID")
    assert sorted(fetch_map(u)) == [2, 3], "*:2 is 2:3"
    u = w.ok("UID FETCH * UID")
    assert fetch_map(u) == {3: {"UID": "3"}}
    u = w.ok("UID FETCH 99:* UID")
    assert fetch_map(u) == {3: {"UID": "3"}}, f"RFC 3501: 99:* includes the last message: {[r.raw for r in u]}"


def test_fetch_in_empty_mailbox(server):
    w = connect(server, "bob")
    w.ok("SELECT INBOX")
    u, t = w.cmd("FETCH 1 FLAGS")
    assert status_of(t) == "BAD", t.raw
    u = w.ok("UID FETCH 1:* FLAGS")
    assert fetch_map(u) == {}


def test_expunge_responses_deferred_during_fetch_store_search(server):
    w = connect(server, "bob")
    for i in range(3):
        append(w, "INBOX", message(f"x{i}"))
    w.ok("SELECT INBOX")
    other = connect(server, "bob")
    other.ok("SELECT INBOX")
    other.ok("STORE 2 +FLAGS.SILENT (\\Deleted)")
    other.ok("EXPUNGE")
    for cmd in ("FETCH 1:3 FLAGS", "STORE 1 +FLAGS (\\Seen)", "SEARCH ALL"):
        u = w.ok(cmd)
        assert not untagged(u, "EXPUNGE"), f"no EXPUNGE may be sent during {cmd}: {[r.raw for r in u]}"
    u = w.ok("SEARCH ALL")
    # message 2 is gone but its number stays until EXPUNGE is sent
    assert untagged(u, "SEARCH")[0][1:] in (["1", "3"], ["1", "2", "3"]), [r.raw for r in u]
    u = w.ok("NOOP")
    assert untagged(u, "EXPUNGE") == [["2", "EXPUNGE"]], f"NOOP sends the pending EXPUNGE: {[r.raw for r in u]}"
    u = w.ok("FETCH 1:2 UID")
    assert {k: v["UID"] for k, v in fetch_map(u).items()} == {1: "1", 2: "3"}
