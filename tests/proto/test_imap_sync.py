"""Sessions seeing each other's changes: NOOP, IDLE across workers,
CONDSTORE, and \\Recent."""
import time

from conftest import message
from imapwire import append, connect, fetch_map, numbers, status_of, untagged


def wait_for(w, pred, seconds):
    """Collects untagged responses until pred(responses) or timeout."""
    got = []
    end = time.time() + seconds
    while time.time() < end and not pred(got):
        got += w.pending(wait=min(0.1, max(end - time.time(), 0.01)))
    return got


def test_other_session_sees_append_at_noop(server):
    a = connect(server, "bob")
    a.ok("SELECT INBOX")
    b = connect(server, "bob")
    append(b, "INBOX", message("new"))
    u = a.ok("NOOP")
    assert ["1", "EXISTS"] in untagged(u, "EXISTS"), f"NOOP must report * 1 EXISTS: {[r.raw for r in u]}"


def test_flag_change_seen_at_noop(server):
    a = connect(server, "bob")
    append(a, "INBOX", message("f"))
    a.ok("SELECT INBOX")
    b = connect(server, "bob")
    b.ok("SELECT INBOX")
    b.ok("STORE 1 +FLAGS (\\Flagged)")
    u = a.ok("NOOP")
    got = fetch_map(u)
    assert 1 in got and "\\Flagged" in got[1]["FLAGS"], f"NOOP must report the new flags: {[r.raw for r in u]}"


def idle_sessions(server, n=8):
    """n sessions in IDLE on bob's INBOX; with workers: 2 and that many
    connections both workers serve some of them."""
    out = []
    for _ in range(n):
        w = connect(server, "bob")
        w.ok("SELECT INBOX")
        w.send(b"i1 IDLE\r\n")
        r = w.read()
        assert r.raw.startswith(b"+"), f"IDLE must answer with a continuation: {r.raw!r}"
        out.append(w)
    return out


def test_idle_hears_new_message_flag_change_and_expunge_in_every_worker(make_server):
    s = make_server(conf={"workers": "2"})
    first = connect(s, "bob")
    append(first, "INBOX", message("old"))
    idlers = idle_sessions(s)
    actor = connect(s, "bob")

    t0 = time.time()
    append(actor, "INBOX", message("new"))
    for i, w in enumerate(idlers):
        got = wait_for(w, lambda r: any(x.tokens[1:3] == ["2", "EXISTS"] for x in r), 1.0)
        assert any(x.tokens[1:3] == ["2", "EXISTS"] for x in got), \
            f"idler {i} did not hear * 2 EXISTS within 1 s (t={time.time() - t0:.2f}): {[x.raw for x in got]}"

    actor.ok("SELECT INBOX")
    t0 = time.time()
    actor.ok("STORE 1 +FLAGS.SILENT (\\Flagged)")
    for i, w in enumerate(idlers):
        got = wait_for(w, lambda r: bool(fetch_map(r)), 1.0)
        fm = fetch_map(got)
        assert 1 in fm and "\\Flagged" in fm[1]["FLAGS"], \
            f"idler {i} did not hear the flag change within 1 s: {[x.raw for x in got]}"

    actor.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    actor.ok("EXPUNGE")
    for i, w in enumerate(idlers):
        got = wait_for(w, lambda r: any(x.tokens[1:3] == ["1", "EXPUNGE"] for x in r), 1.0)
        assert any(x.tokens[1:3] == ["1", "EXPUNGE"] for x in got), \
            f"idler {i} did not hear * 1 EXPUNGE within 1 s: {[x.raw for x in got]}"

    for w in idlers:
        w.send(b"DONE\r\n")
        u, t = w.read_until_tagged("i1")
        assert status_of(t) == "OK", t.raw


def test_idle_hears_lmtp_delivery(server):
    (w,) = idle_sessions(server, 1)
    with server.lmtp() as l:
        l.sendmail("alice@example.com", ["bob@example.com"], message("lmtp"))
    got = wait_for(w, lambda r: any(x.tokens[1:3] == ["1", "EXISTS"] for x in r), 1.0)
    assert any(x.tokens[1:3] == ["1", "EXISTS"] for x in got), [x.raw for x in got]


def test_idle_done_and_bad_continuation(server):
    w = connect(server, "bob")
    w.ok("SELECT INBOX")
    w.send(b"i1 IDLE\r\n")
    assert w.read().raw.startswith(b"+")
    w.send(b"NOTDONE\r\n")
    u, t = w.read_until_tagged("i1")
    assert status_of(t) == "BAD", t.raw
    w.ok("NOOP")


# -- CONDSTORE


def condstore_box(server, n=3):
    w = connect(server, "bob")
    for i in range(n):
        append(w, "INBOX", message(f"c{i}"))
    return w


def highestmodseq(responses):
    for r in responses:
        if b"[HIGHESTMODSEQ " in r.raw:
            return int(r.raw.split(b"[HIGHESTMODSEQ ")[1].split(b"]")[0])
    raise AssertionError(f"no [HIGHESTMODSEQ n]: {[r.raw for r in responses]}")


def test_enable_condstore(server):
    w = connect(server, "bob")
    u = w.ok("ENABLE CONDSTORE")
    assert untagged(u, "ENABLED") == [["ENABLED", "CONDSTORE"]], [r.raw for r in u]
    u = w.ok("ENABLE CONDSTORE")
    assert untagged(u, "ENABLED") == [["ENABLED"]], "already enabled: nothing newly enabled"
    u = w.ok("ENABLE X-UNKNOWN")
    assert untagged(u, "ENABLED") == [["ENABLED"]]


def test_select_condstore_and_fetch_changedsince(server):
    w = condstore_box(server)
    u = w.ok("SELECT INBOX (CONDSTORE)")
    hms = highestmodseq(u)
    st = untagged(w.ok("STATUS INBOX (HIGHESTMODSEQ)"), "STATUS")[0][2]
    assert st == ["HIGHESTMODSEQ", str(hms)], (hms, st)
    u = w.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hms)
    assert fetch_map(u) == {}, f"nothing changed since HIGHESTMODSEQ: {[r.raw for r in u]}"
    u = w.ok("STORE 2 +FLAGS (\\Seen)")
    fm = fetch_map(u)
    new = int(fm[2]["MODSEQ"][0])
    assert new > hms, f"a change takes a higher modseq: {hms} -> {fm}"
    u = w.ok("FETCH 1:* (FLAGS) (CHANGEDSINCE %d)" % hms)
    fm = fetch_map(u)
    assert list(fm) == [2] and fm[2]["MODSEQ"] == [str(new)], [r.raw for r in u]
    u = w.ok("UID FETCH 1:* (FLAGS) (CHANGEDSINCE 1)")
    assert sorted(fetch_map(u)) == [1, 2, 3]
    u = w.ok("FETCH 1 MODSEQ")
    assert "MODSEQ" in fetch_map(u)[1]


def test_store_unchangedsince_modified(server):
    w = condstore_box(server)
    w.ok("SELECT INBOX (CONDSTORE)")
    u = w.ok("FETCH 1:3 MODSEQ")
    ms = {k: int(v["MODSEQ"][0]) for k, v in fetch_map(u).items()}
    other = connect(server, "bob")
    other.ok("SELECT INBOX")
    other.ok("STORE 2 +FLAGS (\\Answered)")
    u, t = w.cmd("STORE 1:3 (UNCHANGEDSINCE %d) +FLAGS (\\Flagged)" % max(ms.values()))
    assert status_of(t) == "OK" and "[MODIFIED 2]" in t.text, f"expected OK [MODIFIED 2]: {t.raw!r}"
    fm = fetch_map(u)
    assert "\\Flagged" in fm[1]["FLAGS"] and "\\Flagged" in fm[3]["FLAGS"], [r.raw for r in u]
    assert "\\Flagged" not in fm.get(2, {}).get("FLAGS", []), "message 2 changed meanwhile and must be left alone"
    u, t = w.cmd("UID STORE 1 (UNCHANGEDSINCE 1) -FLAGS (\\Flagged)")
    assert "[MODIFIED 1]" in t.text, f"UID STORE reports UIDs: {t.raw!r}"


def test_search_modseq(server):
    w = condstore_box(server)
    u = w.ok("SELECT INBOX (CONDSTORE)")
    hms = highestmodseq(u)
    w.ok("STORE 3 +FLAGS (\\Seen)")
    u = w.ok("SEARCH MODSEQ %d" % (hms + 1))
    found = [r.tokens for r in u if r.tokens[:2] == ["*", "SEARCH"]][0]
    assert found[2:3] == ["3"] and found[3][0] == "MODSEQ", f"expected * SEARCH 3 (MODSEQ n): {found}"
    u = w.ok('SEARCH MODSEQ "/flags/\\\\seen" all %d' % (hms + 1))
    assert numbers(u)[:1] == [3], [r.raw for r in u]
    u = w.ok("SEARCH MODSEQ %d" % (hms + 100))
    assert numbers(u) == []


def test_highestmodseq_grows_with_expunge(server):
    w = condstore_box(server)
    hms = highestmodseq(w.ok("SELECT INBOX (CONDSTORE)"))
    w.ok("STORE 1 +FLAGS.SILENT (\\Deleted)")
    w.ok("EXPUNGE")
    st = int(untagged(w.ok("STATUS INBOX (HIGHESTMODSEQ)"), "STATUS")[0][2][1])
    assert st > hms + 1, f"the flag change and the expunge each take a modseq: {hms} -> {st}"


# -- \Recent


def test_recent_given_to_exactly_one_session(server):
    a = connect(server, "bob")
    b = connect(server, "bob")
    a.ok("SELECT INBOX")
    b.ok("SELECT INBOX")
    deliverer = connect(server, "bob")
    append(deliverer, "INBOX", message("r1"))
    append(deliverer, "INBOX", message("r2"))
    ua = a.ok("NOOP")
    ub = b.ok("NOOP")
    ra = numbers(a.ok("SEARCH RECENT"))
    rb = numbers(b.ok("SEARCH RECENT"))
    assert sorted(ra + rb) == [1, 2] and (ra == [] or rb == []), \
        f"each new message is \\Recent in exactly one session: a={ra} b={rb}"
    rec_a = [t for t in untagged(ua, "RECENT")]
    rec_b = [t for t in untagged(ub, "RECENT")]
    counts = sorted(int(t[0]) for t in rec_a + rec_b)
    assert counts == [0, 2], f"one session says * 2 RECENT, the other * 0 RECENT: {rec_a} {rec_b}"
    c = connect(server, "bob")
    u = c.ok("SELECT INBOX")
    assert untagged(u, "RECENT") == [["0", "RECENT"]], "a later session sees nothing recent"
    u = c.ok("EXAMINE INBOX")
    assert untagged(u, "RECENT") == [["0", "RECENT"]]


def test_examine_does_not_claim_recent(server):
    w = connect(server, "bob")
    append(w, "INBOX", message("e"))
    w.ok("EXAMINE INBOX")
    w.ok("CLOSE")
    u = w.ok("SELECT INBOX")
    assert untagged(u, "RECENT") == [["1", "RECENT"]], f"EXAMINE must leave \\Recent for SELECT: {[r.raw for r in u]}"
    got = fetch_map(w.ok("FETCH 1 FLAGS"))
    assert "\\Recent" in got[1]["FLAGS"], got
