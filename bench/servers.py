"""Private Agora and Dovecot instances for the benchmarks.

Each server gets its own temporary directory, free loopback ports, the same
users and the same password hash (a yescrypt crypt(3) hash made by Agora's
own `agora user add`, handed to Dovecot's passwd-file as {CRYPT}).
"""
import os
import pwd
import grp
import shutil
import signal
import socket
import sqlite3
import subprocess
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BUILD = os.environ.get("AGORA_BUILD", os.path.join(ROOT, "build-release"))
PASSWORD = "benchpw"


def cheap_hash(password=PASSWORD):
    """A yescrypt hash at libcrypt's lowest cost (count 1), for the IDLE
    memory benchmark only: thousands of logins at the default cost (~70 ms
    each here) would take longer than the measurement is worth."""
    import ctypes
    lib = ctypes.CDLL("libcrypt.so.1")
    lib.crypt_gensalt_ra.restype = ctypes.c_void_p
    lib.crypt_gensalt_ra.argtypes = [ctypes.c_char_p, ctypes.c_ulong, ctypes.c_char_p, ctypes.c_int]
    lib.crypt.restype = ctypes.c_char_p
    lib.crypt.argtypes = [ctypes.c_char_p, ctypes.c_char_p]
    setting = lib.crypt_gensalt_ra(b"$y$", 1, None, 0)
    h = lib.crypt(password.encode(), ctypes.c_char_p(setting)).decode()
    ctypes.CDLL("libc.so.6").free(ctypes.c_void_p(setting))
    return h


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_port(port, proc, seconds=30):
    end = time.time() + seconds
    while time.time() < end:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return True
        except OSError:
            time.sleep(0.05)
    return False


def proc_tree(root_pid):
    """root_pid and all its descendants (from /proc)."""
    children = {}
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        try:
            with open(f"/proc/{d}/stat") as f:
                s = f.read()
        except OSError:
            continue
        ppid = int(s[s.rfind(")") + 2:].split()[1])
        children.setdefault(ppid, []).append(int(d))
    out, todo = [], [root_pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo.extend(children.get(p, []))
    return out


def pss_kib(pids):
    """Sum of Pss (KiB) over pids, from /proc/PID/smaps_rollup."""
    total = 0
    for p in pids:
        try:
            with open(f"/proc/{p}/smaps_rollup") as f:
                for line in f:
                    if line.startswith("Pss:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            pass
    return total


class Base:
    name = "?"

    def __init__(self, tmp, users):
        self.tmp = tmp
        self.users = list(users)
        self.imap_port = free_port()
        self.lmtp_port = free_port()
        self.proc = None
        self.log_path = os.path.join(tmp, f"{self.name}.log")

    def pids(self):
        return proc_tree(self.proc.pid) if self.proc else []

    def pss_kib(self):
        return pss_kib(self.pids())

    def nprocs(self):
        return len(self.pids())

    def _spawn(self, argv, **kw):
        self.log = open(self.log_path, "a")
        self.proc = subprocess.Popen(argv, stdout=self.log, stderr=self.log,
                                     start_new_session=True, **kw)
        if not wait_port(self.imap_port, self.proc) or not wait_port(self.lmtp_port, self.proc):
            raise RuntimeError(f"{self.name} did not start:\n{self.log_text()[-3000:]}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def log_text(self):
        try:
            with open(self.log_path, errors="replace") as f:
                return f.read()
        except OSError:
            return ""


class Agora(Base):
    name = "agora"

    def __init__(self, tmp, users, workers=int(os.environ.get("AGORA_BENCH_WORKERS", "2")), cheap_users=(), cheap=None):
        super().__init__(tmp, list(users) + list(cheap_users))
        self.conf = os.path.join(tmp, "agora.conf")
        settings = {
            "configdirectory": os.path.join(tmp, "conf"),
            "partition-default": os.path.join(tmp, "spool"),
            "imap_listen": f"127.0.0.1:{self.imap_port}",
            "lmtp_listen": f"127.0.0.1:{self.lmtp_port}",
            "admins": "admin",
            "altnamespace": "no",
            "unixhierarchysep": "no",
            "autocreate_quota": "0",
            "failedloginpause": "0",
            "workers": str(workers),
            # The idle benchmark holds hundreds of sessions per user.
            "maxlogins_per_user": "0",
        }
        with open(self.conf, "w") as f:
            for k, v in settings.items():
                f.write(f"{k}: {v}\n")
        for u in self.users:
            r = subprocess.run([os.path.join(BUILD, "agora"), "-C", self.conf, "user", "add", u],
                               input=PASSWORD + "\n", capture_output=True, text=True, timeout=60)
            if r.returncode != 0:
                raise RuntimeError(f"agora user add {u}: {r.stderr}")
        if cheap_users:
            ids = self._secret_ids()
            db = sqlite3.connect(os.path.join(tmp, "conf", "secrets.db"))
            with db:
                db.executemany("UPDATE secrets SET value = ? WHERE id = ? AND scheme = 'password'",
                               [(cheap, ids[u]) for u in cheap_users])
            db.close()

    def _secret_ids(self):
        """Account name -> its secret id (agora.db); the hashes themselves
        are in secrets.db, which only the auth process and `agora` open."""
        db = sqlite3.connect(os.path.join(self.tmp, "conf", "agora.db"))
        try:
            return dict(db.execute("SELECT name, secret_id FROM users"))
        finally:
            db.close()

    def password_hash(self):
        sid = self._secret_ids()[self.users[0]]
        db = sqlite3.connect(os.path.join(self.tmp, "conf", "secrets.db"))
        try:
            return db.execute("SELECT value FROM secrets WHERE id = ? AND scheme = 'password'",
                              (sid,)).fetchone()[0]
        finally:
            db.close()

    def start(self):
        self._spawn([os.path.join(BUILD, "agorad"), "-C", self.conf])
        return self


def ensure_vmail():
    try:
        return pwd.getpwnam("vmail")
    except KeyError:
        subprocess.run(["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin",
                        "--user-group", "vmail"], check=True)
        return pwd.getpwnam("vmail")


DOVECOT_CONF = """\
# Generated by bench/servers.py: a private Dovecot, loopback only.
base_dir = {tmp}/run
state_dir = {tmp}/state
instance_name = bench-{imap_port}
protocols = imap lmtp
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_username_format = %Ln
log_path = {tmp}/dovecot.log
first_valid_uid = 1
default_internal_user = dovecot
default_login_user = dovenull
# Room for one imap process per connection in the idle benchmark.
default_process_limit = 12000
default_client_limit = 15000
mail_location = maildir:{tmp}/mail/%n
passdb {{
  driver = passwd-file
  args = scheme=CRYPT username_format=%n {tmp}/passwd
}}
userdb {{
  driver = static
  args = uid={uid} gid={gid} home={tmp}/mail/%n
}}
protocol imap {{
  mail_max_userip_connections = 100000
}}
service imap-login {{
  inet_listener imap {{
    address = 127.0.0.1
    port = {imap_port}
  }}
  inet_listener imaps {{
    port = 0
  }}
  service_count = 0
  process_min_avail = 2
}}
service imap {{
  service_count = 100
  process_min_avail = 2
  process_limit = 12000
}}
service lmtp {{
  inet_listener lmtp {{
    address = 127.0.0.1
    port = {lmtp_port}
  }}
  process_min_avail = 4
}}
"""


class Dovecot(Base):
    name = "dovecot"

    def __init__(self, tmp, users, password_hash, cheap_users=(), cheap=None):
        super().__init__(tmp, list(users) + list(cheap_users))
        vm = ensure_vmail()
        os.chmod(tmp, 0o755)
        mail = os.path.join(tmp, "mail")
        os.makedirs(mail, exist_ok=True)
        os.chown(mail, vm.pw_uid, vm.pw_gid)
        self.conf = os.path.join(tmp, "dovecot.conf")
        with open(self.conf, "w") as f:
            f.write(DOVECOT_CONF.format(tmp=tmp, imap_port=self.imap_port,
                                        lmtp_port=self.lmtp_port, uid=vm.pw_uid, gid=vm.pw_gid))
        pw = os.path.join(tmp, "passwd")
        with open(pw, "w") as f:
            for u in self.users:
                h = cheap if u in cheap_users else password_hash
                f.write(f"{u}:{{CRYPT}}{h}\n")
        os.chmod(pw, 0o644)

    def start(self):
        self._spawn(["dovecot", "-F", "-c", self.conf])
        return self

    def log_text(self):
        return super().log_text() + "\n" + open(os.path.join(self.tmp, "dovecot.log"),
                                                errors="replace").read() \
            if os.path.exists(os.path.join(self.tmp, "dovecot.log")) else super().log_text()
