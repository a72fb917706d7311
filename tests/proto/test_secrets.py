"""Password hashes and SCRAM keys live in secrets.db (mode 0600), which only
the auth process and `agora` open: started as root with `user`, the workers
run as that account and cannot open it, and agora.db holds no secret. A
store from before secrets.db has its secrets moved out of agora.db on the
first start (or the first `agora` run)."""
import base64
import os
import pwd
import sqlite3
import stat
import subprocess

import pytest

from test_auth_scram import scram_login
from test_auth_separation import proc_children, auth_pid


def proc_uid(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError("no Uid line")


def secrets_path(s):
    return os.path.join(s.tmp, "conf", "secrets.db")


def raw_db_bytes(s):
    data = b""
    for suffix in ("", "-wal"):
        p = os.path.join(s.tmp, "conf", "agora.db" + suffix)
        if os.path.exists(p):
            with open(p, "rb") as f:
                data += f.read()
    return data


def secret_values(s):
    conn = sqlite3.connect(secrets_path(s))
    try:
        return [r[0] for r in conn.execute("SELECT value FROM secrets")]
    finally:
        conn.close()


def assert_no_secrets_in_agora_db(s):
    data = raw_db_bytes(s)
    assert b"$y$" not in data
    values = secret_values(s)
    assert values
    for v in values:
        # the hash, and each SCRAM key (salt, stored key, server key)
        for part in v.split(",")[1:] if not v.startswith("$") else [v]:
            assert part.encode() not in data, part


def every_mechanism_logs_in(s, user="bob", password="bobpw"):
    m = s.imap(user, password)
    m.logout()
    r = s.raw()
    plain = base64.b64encode(f"\0{user}\0{password}".encode()).decode()
    assert r.cmd("p", f"AUTHENTICATE PLAIN {plain}")[-1].startswith("p OK")
    r.close()
    for mech in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
        r = s.raw()
        assert scram_login(r, mech, user, password).startswith("a OK"), mech
        r.close()
    r = s.raw()
    assert r.cmd("w", f"LOGIN {user} wrong-password")[-1].startswith("w NO [AUTHENTICATIONFAILED]")
    r.close()


def test_secrets_db_private_and_agora_db_has_no_hash(server):
    server.imap("bob").logout()   # start-up is over
    st = os.stat(secrets_path(server))
    assert stat.S_IMODE(st.st_mode) == 0o600
    assert st.st_uid == os.geteuid()
    conn = sqlite3.connect(os.path.join(server.tmp, "conf", "agora.db"))
    cols = [r[1] for r in conn.execute("PRAGMA table_info(users)")]
    tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")]
    conn.close()
    assert "hash" not in cols and "secret_id" in cols
    assert "user_secrets" not in tables
    every_mechanism_logs_in(server)
    assert_no_secrets_in_agora_db(server)


def test_user_commands_keep_both_databases_consistent(make_server):
    s = make_server(conf={"allowusermoves": "yes"})
    s.agora("user", "add", "carol", input="carolpw\n")
    assert len(secret_values(s)) == 4 * 3
    s.agora("user", "passwd", "carol", input="newpw\n")
    assert len(secret_values(s)) == 4 * 3
    every_mechanism_logs_in(s, "carol", "newpw")
    r = s.raw()
    assert r.cmd("o", "LOGIN carol carolpw")[-1].startswith("o NO")
    r.close()
    # an admin's rename of user.carol takes the account, and its password
    # follows (the secret is the account's, by its secret id)
    a = s.imap("admin")
    a.create("user.carol")
    typ, _ = a.rename("user.carol", "user.caroline")
    assert typ == "OK"
    a.logout()
    every_mechanism_logs_in(s, "caroline", "newpw")
    s.agora("user", "del", "caroline")
    assert len(secret_values(s)) == 3 * 3
    s.agora("user", "add", "dave", input="davepw\n")
    s.agora("user", "del", "--purge", "dave")
    assert len(secret_values(s)) == 3 * 3
    r = s.raw()
    assert r.cmd("d", "LOGIN dave davepw")[-1].startswith("d NO")
    r.close()
    assert_no_secrets_in_agora_db(s)


def make_old_layout(s):
    """Turns a fresh store into one as agora made it before secrets.db:
    users.hash and the user_secrets table in agora.db, no secrets.db."""
    sec = sqlite3.connect(secrets_path(s))
    rows = sec.execute("SELECT id, scheme, value FROM secrets").fetchall()
    sec.close()
    for suffix in ("", "-wal", "-shm"):
        p = secrets_path(s) + suffix
        if os.path.exists(p):
            os.unlink(p)
    by_id = {}
    for i, scheme, value in rows:
        by_id.setdefault(i, {})[scheme] = value
    db = sqlite3.connect(os.path.join(s.tmp, "conf", "agora.db"))
    users = db.execute("SELECT name, created, secret_id FROM users").fetchall()
    db.executescript("""
        DROP TABLE users;
        CREATE TABLE users(name TEXT PRIMARY KEY, hash TEXT NOT NULL, created INTEGER NOT NULL);
        CREATE TABLE user_secrets(name TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE
          ON UPDATE CASCADE, scheme TEXT NOT NULL, value TEXT NOT NULL, PRIMARY KEY(name, scheme));
    """)
    for name, created, sid in users:
        v = by_id[sid]
        db.execute("INSERT INTO users VALUES(?, ?, ?)", (name, v["password"], created))
        for scheme in ("SCRAM-SHA-1", "SCRAM-SHA-256"):
            db.execute("INSERT INTO user_secrets VALUES(?, ?, ?)", (name, scheme, v[scheme]))
    db.commit()
    db.close()
    assert b"$y$" in raw_db_bytes(s)


def test_migration_on_first_start(make_server):
    s = make_server(start=False)
    make_old_layout(s)
    s.start()
    every_mechanism_logs_in(s)   # after the start-up, not just the listeners
    assert "moved the secrets of 3 accounts" in s.log_text()
    st = os.stat(secrets_path(s))
    assert stat.S_IMODE(st.st_mode) == 0o600
    every_mechanism_logs_in(s)
    every_mechanism_logs_in(s, "alice", "alicepw")
    assert_no_secrets_in_agora_db(s)
    assert s.agora("user", "list").stdout.split() == ["admin", "alice", "bob"]


def test_migration_by_agora(make_server):
    s = make_server(start=False)
    make_old_layout(s)
    assert s.agora("user", "list").stdout.split() == ["admin", "alice", "bob"]
    assert os.path.exists(secrets_path(s))
    assert_no_secrets_in_agora_db(s)
    s.agora("user", "passwd", "alice", input="fresh\n")
    s.start()
    every_mechanism_logs_in(s)
    every_mechanism_logs_in(s, "alice", "fresh")


def open_as(uid, gid, path):
    """Whether a process with that identity can open `path` for reading."""
    def become():
        os.setgroups([])
        os.setgid(gid)
        os.setuid(uid)
    r = subprocess.run(["/bin/cat", path], preexec_fn=become, capture_output=True)
    return r.returncode == 0, r.stderr


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to test privilege separation")
def test_workers_cannot_open_secrets(make_server):
    nobody = pwd.getpwnam("nobody")
    s = make_server(conf={"user": "nobody", "workers": "2"}, start=False)
    os.chmod(s.tmp, 0o755)
    s.start()
    every_mechanism_logs_in(s)
    # the secrets belong to root, 0600; the store to `user`
    st = os.stat(secrets_path(s))
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)
    assert os.stat(os.path.join(s.tmp, "conf", "agora.db")).st_uid == nobody.pw_uid
    kids = proc_children(s.proc.pid)
    auth = auth_pid(s)
    workers = [p for p, comm in kids if p != auth]
    assert len(workers) == 2, kids
    for w in workers:
        assert proc_uid(w) == [nobody.pw_uid] * 4
        # nothing the worker holds open is secrets.db
        for fd in os.listdir(f"/proc/{w}/fd"):
            try:
                assert "secrets.db" not in os.readlink(f"/proc/{w}/fd/{fd}")
            except FileNotFoundError:
                pass
    assert proc_uid(auth)[1] == 0
    # and a process with the workers' identity cannot open it
    ok, err = open_as(nobody.pw_uid, nobody.pw_gid, secrets_path(s))
    assert not ok and b"Permission denied" in err
    ok, _ = open_as(nobody.pw_uid, nobody.pw_gid, os.path.join(s.tmp, "conf", "agora.db"))
    assert ok
    assert_no_secrets_in_agora_db(s)
    # the auth process, restarted by the master, still reads the secrets
    os.kill(auth, 9)
    auth_pid(s, not_pid=auth)
    every_mechanism_logs_in(s)


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to test privilege separation")
def test_secrets_db_made_root_only_on_start(make_server):
    """A secrets.db left readable or owned by `user` is taken back."""
    nobody = pwd.getpwnam("nobody")
    s = make_server(conf={"user": "nobody"}, start=False)
    os.chmod(s.tmp, 0o755)
    os.chown(secrets_path(s), nobody.pw_uid, nobody.pw_gid)
    os.chmod(secrets_path(s), 0o644)
    s.start()
    every_mechanism_logs_in(s)   # (the listeners open before the start-up ends)
    st = os.stat(secrets_path(s))
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (0, 0o600)


def test_backup_and_restore_take_the_secrets(make_server):
    s = make_server()
    s.imap("bob").logout()
    bdir = os.path.join(s.tmp, "backup")
    s.agora("backup", bdir)
    st = os.stat(os.path.join(bdir, "secrets.db"))
    assert stat.S_IMODE(st.st_mode) == 0o600
    with open(os.path.join(bdir, "MANIFEST")) as f:
        assert "secrets secrets.db\n" in f.read()
    with open(os.path.join(bdir, "agora.db"), "rb") as f:
        assert b"$y$" not in f.read()
    fresh = make_server(users=(), start=False)
    fresh.agora("restore", bdir)
    st = os.stat(secrets_path(fresh))
    assert (st.st_uid, stat.S_IMODE(st.st_mode)) == (os.geteuid(), 0o600)
    fresh.start()
    every_mechanism_logs_in(fresh)
    # --force replaces the secrets too
    fresh.stop()
    fresh.agora("user", "passwd", "bob", input="changed\n")
    fresh.agora("restore", "--force", bdir)
    fresh.start()
    every_mechanism_logs_in(fresh)


def test_restore_of_a_backup_from_before_secrets_db(make_server):
    old = make_server(start=False)
    make_old_layout(old)
    bdir = os.path.join(old.tmp, "oldbackup")
    os.makedirs(os.path.join(bdir, "config"))
    import shutil
    shutil.copy(os.path.join(old.tmp, "conf", "agora.db"), os.path.join(bdir, "agora.db"))
    fresh = make_server(users=(), start=False)
    fresh.agora("restore", bdir)
    fresh.start()
    every_mechanism_logs_in(fresh)
    assert_no_secrets_in_agora_db(fresh)
