"""APPEND and LMTP deliveries run on a worker's store pool (docs/architecture.md,
"The store pool"): the client's later commands wait for the answer and run in
order, other sessions are served meanwhile, and a client that leaves while
its message is being stored leaves the server healthy with the message kept."""
import re
import socket
import threading
import time

from conftest import message


def test_commands_pipelined_after_append_run_after_it_in_order(make_server):
    s = make_server(conf={"workers": "1"})
    c = s.raw().login("bob")
    c.cmd("s", "SELECT INBOX")
    msg = message("Pipelined").decode()
    # APPEND (LITERAL+), then NOOP and a FETCH of the new message, in one write.
    c.send(f"a1 APPEND INBOX {{{len(msg)}+}}\r\n{msg}\r\na2 NOOP\r\na3 FETCH 1 (BODY.PEEK[HEADER.FIELDS (SUBJECT)])\r\n")
    lines = c.until_tagged("a3")
    tagged = [x.split(" ")[0] for x in lines if x[:2] in ("a1", "a2", "a3")]
    assert tagged == ["a1", "a2", "a3"], lines
    assert any(x.startswith("a1 OK [APPENDUID ") for x in lines), lines
    assert "* 1 EXISTS" in lines[:lines.index(next(x for x in lines if x.startswith("a1 ")))], lines
    assert any("Subject: Pipelined" in x for x in lines), lines
    assert lines[-1].startswith("a3 OK"), lines


def test_many_appends_in_flight_on_one_worker_all_answered(make_server):
    """More concurrent APPENDs than pool threads on one worker: each gets its
    own APPENDUID, every UID is distinct, and the mailbox holds them all."""
    s = make_server(conf={"workers": "1"})
    n = 12
    uids = []
    errors = []

    def one(i):
        try:
            m = s.imap("bob")
            typ, data = m.append("INBOX", None, None, message(f"Concurrent {i}"))
            assert typ == "OK", data
            uids.append(int(re.search(rb"APPENDUID \d+ (\d+)", data[0]).group(1)))
            m.logout()
        except Exception as e:  # noqa: BLE001
            errors.append(e)

    ts = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in ts:
        t.start()
    for t in ts:
        t.join(60)
    assert not errors, errors
    assert len(set(uids)) == n, uids
    m = s.imap("bob")
    typ, data = m.select("INBOX")
    assert int(data[0]) == n
    typ, data = m.search(None, "SUBJECT", "Concurrent")
    assert len(data[0].split()) == n
    m.logout()


def test_client_gone_during_append_message_kept_server_healthy(make_server):
    s = make_server(conf={"workers": "1"})
    body = message("Left behind", body="x" * 200000 + "\r\n").decode()
    for i in range(5):
        sock = socket.create_connection(("127.0.0.1", s.imap_port), timeout=15)
        sock.recv(4096)
        sock.sendall(b"L LOGIN bob bobpw\r\n")
        buf = b""
        while b"L OK" not in buf:
            buf += sock.recv(4096)
        sock.sendall(f"a APPEND INBOX {{{len(body)}+}}\r\n{body}\r\n".encode())
        sock.close()  # gone before the answer
    # every APPEND sent whole is stored; the server goes on serving
    deadline = time.time() + 10
    while True:
        m = s.imap("bob")
        typ, data = m.select("INBOX")
        m.logout()
        if int(data[0]) == 5 or time.time() > deadline:
            break
        time.sleep(0.1)
    assert int(data[0]) == 5


def test_other_sessions_served_while_appends_wait_for_the_disk(make_server):
    """A NOOP loop on the same worker keeps answering while another session
    appends large messages back to back (each waits for three syncs)."""
    s = make_server(conf={"workers": "1"})
    stop = threading.Event()
    big = message("Big", body=("y" * 998 + "\r\n") * 2000)

    def appender():
        m = s.imap("alice")
        while not stop.is_set():
            assert m.append("INBOX", None, None, big)[0] == "OK"
        m.logout()

    t = threading.Thread(target=appender)
    t.start()
    try:
        c = s.raw().login("bob")
        worst = 0.0
        for i in range(100):
            t0 = time.time()
            r = c.cmd(f"n{i}", "NOOP")
            worst = max(worst, time.time() - t0)
            assert r[-1].startswith(f"n{i} OK"), r
        assert worst < 2.0, worst
    finally:
        stop.set()
        t.join(60)


def test_lmtp_pipelined_transactions_answered_in_order(make_server):
    s = make_server(conf={"workers": "1"})
    sock = socket.create_connection(("127.0.0.1", s.lmtp_port), timeout=15)
    f = sock.makefile("rb")
    assert f.readline().startswith(b"220")
    msg1 = message("First").replace(b"\r\n.", b"\r\n..")
    msg2 = message("Second").replace(b"\r\n.", b"\r\n..")
    sock.sendall(b"LHLO test\r\n")
    while not f.readline().startswith(b"250 "):
        pass
    # two whole transactions in one write: the second waits for the first
    sock.sendall(b"MAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.com>\r\nRCPT TO:<alice@example.com>\r\n"
                 b"DATA\r\n" + msg1 + b"\r\n.\r\n"
                 b"MAIL FROM:<a@example.com>\r\nRCPT TO:<bob@example.com>\r\nDATA\r\n" + msg2 + b"\r\n.\r\n"
                 b"QUIT\r\n")
    replies = [line.decode().strip() for line in f]
    codes = [r.split(" ")[0] for r in replies]
    assert codes == ["250", "250", "250", "354", "250", "250", "250", "250", "354", "250", "221"], replies
    assert "bob@example.com" in replies[4] and "alice@example.com" in replies[5], replies
    m = s.imap("bob")
    typ, data = m.select("INBOX")
    assert int(data[0]) == 2
    typ, data = m.fetch("1:2", "(BODY.PEEK[HEADER.FIELDS (SUBJECT)])")
    subjects = [x[1] for x in data if isinstance(x, tuple)]
    assert b"First" in subjects[0] and b"Second" in subjects[1], subjects
    m.logout()
