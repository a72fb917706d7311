"""`agora adm`: the cyradm command set over IMAP, driven in batch mode
against the real agorad; effects checked over IMAP as the users."""
import os
import subprocess

import pytest

from conftest import AGORA, SAN_ENV

ALT = {"altnamespace": "yes", "unixhierarchysep": "yes"}


def adm(server, script, args=(), password="adminpw", columns="1"):
    """Runs `agora -C CONF adm` with `script` on stdin."""
    env = dict(SAN_ENV, COLUMNS=columns)
    cmd = [AGORA, "-C", server.conf_path, "adm"]
    if password is not None:
        cmd += ["--password", password]
    return subprocess.run(cmd + list(args), input=script, capture_output=True, text=True,
                          timeout=60, env=env)


def ok(server, script, **kw):
    r = adm(server, script, **kw)
    assert r.returncode == 0 and r.stderr == "", \
        f"adm failed ({r.returncode}) on:\n{script}\nstdout:\n{r.stdout}\nstderr:\n{r.stderr}"
    return r.stdout


def acl_lines(out):
    return sorted(line for line in out.splitlines() if line)


def list_name(line):
    """The mailbox name at the end of a LIST response line."""
    line = line.decode() if isinstance(line, bytes) else line
    if line.endswith('"'):
        return line[line.rindex('"', 0, -1) + 1:-1]
    return line.rsplit(" ", 1)[1]


def imap_names(server, user="admin", pattern="*"):
    m = server.imap(user)
    typ, data = m.list('""', pattern)
    m.logout()
    assert typ == "OK"
    return sorted(list_name(d) for d in data if d)


@pytest.fixture
def server(make_server):
    """A server where the administrator has made its own mailbox (admins get
    no autocreated INBOX, as in the autocreate document and Cyrus)."""
    s = make_server()
    m = s.imap("admin")
    assert m.create("user.admin")[0] == "OK"
    m.logout()
    return s


# ---------------------------------------------------------------- commands

@pytest.mark.parametrize("word", ["createmailbox", "cm", "create"])
def test_create_by_every_name(server, word):
    ok(server, f"{word} shared.box\n{word} user.bob\n{word} user.bob.Trash\n")
    assert imap_names(server) == ["shared.box", "user.admin", "user.bob", "user.bob.Trash"]
    assert imap_names(server, "bob") == ["INBOX", "INBOX.Trash", "shared.box"]


def test_create_on_a_partition(make_server, tmp_path):
    s = make_server(conf={"partition-p2": str(tmp_path / "p2")})
    out = ok(s, "cm --partition p2 shared.a\ncm shared.b p2\ncm shared.c\n"
                "info shared.a\ninfo shared.b\ninfo shared.c\n")
    parts = [line.strip() for line in out.splitlines() if "partition:" in line]
    assert parts == ["partition: p2", "partition: p2", "partition: default"], out
    r = adm(s, "cm shared.d nosuch\n")
    assert r.returncode == 1 and r.stderr == "createmailbox: [CANNOT] Unknown partition\n", r.stderr


@pytest.mark.parametrize("word", ["deletemailbox", "dm", "delete"])
def test_delete_by_every_name(server, word):
    # Admins hold l and a, not x: they grant it to themselves first.
    r = adm(server, f"cm shared.gone\n{word} shared.gone\n")
    assert r.returncode == 1 and r.stderr == "deletemailbox: [NOPERM] Permission denied\n", r.stderr
    ok(server, f"sam shared.gone admin x\n{word} shared.gone\n")
    assert "shared.gone" not in imap_names(server)


@pytest.mark.parametrize("word", ["renamemailbox", "renm", "rename"])
def test_rename_by_every_name(server, word):
    ok(server, f"cm user.bob\ncm user.bob.Old\n{word} user.bob.Old user.bob.New\n")
    assert [n for n in imap_names(server) if n.startswith("user.bob")] == ["user.bob", "user.bob.New"]


def test_rename_to_a_partition(make_server, tmp_path):
    s = make_server(conf={"partition-p2": str(tmp_path / "p2")})
    out = ok(s, "cm shared.a\nrenm shared.a shared.b p2\ninfo shared.b\n")
    assert "partition: p2" in out


@pytest.mark.parametrize("word", ["listmailbox", "lm"])
def test_list_by_every_name(server, word):
    ok(server, "cm user.bob\ncm user.bob.Sent\ncm shared.contact\n")
    assert ok(server, f"{word}\n") == (
        "shared.contact (\\HasNoChildren)\nuser.admin (\\HasNoChildren)\n"
        "user.bob (\\HasChildren)\nuser.bob.Sent (\\HasNoChildren)\n")
    assert ok(server, f"{word} user.%\n") == "user.admin (\\HasNoChildren)\nuser.bob (\\HasChildren)\n"
    assert ok(server, f"{word} nothing*\n") == ""


def test_list_subscribed_and_columns(server):
    ok(server, "cm user.bob\ncm shared.contact\n")
    m = server.imap("admin")
    assert m.subscribe("shared.contact")[0] == "OK"
    m.logout()
    out = ok(server, "lm\n")
    assert "shared.contact (\\HasNoChildren \\Subscribed)\n" in out, out
    assert ok(server, "lm -subscribed\n") == "shared.contact (\\Subscribed)\n"
    # Without COLUMNS=1, names go in columns 79 wide as cyradm lays them out.
    wide = ok(server, "lm user.%\n", columns="79")
    assert wide == "user.admin (\\HasNoChildren)  user.bob (\\HasNoChildren)    \n", repr(wide)


@pytest.mark.parametrize("word", ["listaclmailbox", "lam", "listacl"])
def test_listacl_by_every_name(server, word):
    ok(server, "cm shared.contact\ncm user.bob\n")
    assert ok(server, f"{word} shared.contact\n") == "anyone lrs\n"
    assert ok(server, f"{word} user.bob\n") == "bob lrswipkxteacd\n"


@pytest.mark.parametrize("word", ["setaclmailbox", "sam", "setacl"])
def test_setacl_by_every_name(server, word):
    ok(server, f"cm shared.contact\n{word} shared.contact bob lrs alice lr\n")
    assert acl_lines(ok(server, "lam shared.contact\n")) == ["alice lr", "anyone lrs", "bob lrs"]


@pytest.mark.parametrize("word", ["deleteaclmailbox", "dam", "deleteacl"])
def test_deleteacl_by_every_name(server, word):
    ok(server, f"cm shared.contact\nsam shared.contact bob lrs alice lr\n{word} shared.contact bob anyone\n")
    assert ok(server, "lam shared.contact\n") == "alice lr\n"


@pytest.mark.parametrize("keyword,shown", [
    ("read", "lrs"), ("post", "lrsp"), ("append", "lrsip"), ("write", "lrswipkxtecd"),
    ("delete", "lrxted"), ("all", "lrswipkxteacd"), ("lrp", "lrp")])
def test_rights_keywords(server, keyword, shown):
    # GETACL adds the obsolete c (for k x) and d (for t e) beside the modern rights.
    ok(server, f"cm shared.contact\nsam shared.contact bob {keyword}\n")
    assert "bob " + shown in ok(server, "lam shared.contact\n").splitlines()


def test_rights_keyword_none_removes_the_entry(server):
    ok(server, "cm shared.contact\nsam shared.contact bob all\nsam shared.contact bob none\n")
    assert ok(server, "lam shared.contact\n") == "anyone lrs\n"


@pytest.mark.parametrize("word", ["mboxconfig", "mboxcfg"])
def test_mboxconfig_and_info(server, word):
    ok(server, f"cm shared.contact\n{word} shared.contact comment 'Contact form'\n"
               f"{word} shared.contact sharedseen true\n")
    out = ok(server, "info shared.contact\n")
    lines = out.splitlines()
    assert lines[:4] == ["{shared.contact}:", "  shared:", "    comment: Contact form", "    partition: default"]
    assert lines[4] == "    sharedseen: true" and lines[5].startswith("    uniqueid: "), out
    ok(server, f"{word} shared.contact comment none\n")
    assert "comment" not in ok(server, "info shared.contact\n")
    r = adm(server, f"{word} shared.contact nosuchkey 1\n")
    assert r.returncode == 1 and r.stderr == "mboxconfig: Unknown parameter nosuchkey\n"


def test_info_without_mailbox_is_server_wide(server):
    assert ok(server, "info\n") == ""


def test_help(server):
    out = ok(server, "help\n")
    assert "createmailbox, cm, create" in out and "setaclmailbox, sam, setacl" in out
    assert ok(server, "help lm\n") == ("lm, alias for listmailbox [-subscribed] [pattern [base]]\n"
                                       "\tlist mailboxes\n")
    assert ok(server, "? dm\n") == "dm, alias for deletemailbox mailbox\n\tdelete mailbox\n"
    r = adm(server, "help nosuch\n")
    assert r.returncode == 1 and r.stdout == "unknown command: nosuch\n"


@pytest.mark.parametrize("word", ["exit", "quit"])
def test_exit_stops_reading(server, word):
    r = adm(server, f"cm shared.a\n{word}\ncm shared.b\n")
    assert r.returncode == 0
    assert "shared.b" not in imap_names(server)
    assert adm(server, "exit 3\n").returncode == 3


@pytest.mark.parametrize("word", ["setquota", "sq"])
def test_setquota_short_form(server, word):
    out = ok(server, f"cm user.bob\n{word} user.bob 15000\nlq user.bob\n")
    assert out == "quota:15000\n STORAGE 0/15000 (0%)\n"


def test_setquota_resources_and_none(server):
    out = ok(server, "cm user.bob\nsq user.bob STORAGE 15000 MESSAGE 100\nlistquota user.bob\n"
                     "sq user.bob MESSAGE none STORAGE 200\nlq user.bob\nsq user.bob none\n")
    assert out == (" STORAGE 0/15000 (0%) MESSAGE 0/100 (0%)\n STORAGE 0/200 (0%)\n"
                   "remove quota\n")
    # `none` removes the quota root itself (RFC 9208 SETQUOTA with no limits)
    r = adm(server, "lq user.bob\n")
    assert r.returncode == 1 and r.stderr == "listquota: [NONEXISTENT] No such quota root\n", r


@pytest.mark.parametrize("word", ["listquotaroot", "lqr", "lqm"])
def test_listquotaroot(server, word):
    out = ok(server, f"cm user.bob\ncm user.bob.Sent\nsq user.bob 15000\n{word} user.bob.Sent\n")
    assert out == "quota:15000\nuser.bob STORAGE 0/15000 (0%)\n"


def test_setquota_checks_its_arguments(server):
    r = adm(server, "sq user.bob STORAGE lots\nsq user.bob STORAGE 1 MESSAGE\n")
    assert r.returncode == 1
    assert r.stderr.splitlines()[0] == "setquota: STORAGE: lots: not a number"
    assert r.stderr.splitlines()[1] == "usage: setquota mailbox limit num [limit num ...]"


# ------------------------------------------------------ batch, errors, exit

def test_batch_from_a_file_with_comments(server, tmp_path):
    script = tmp_path / "cmds"
    script.write_text("# set up the contact box\n\ncm shared.contact   # shared\n"
                      "  sam shared.contact anyone p\nlam shared.contact\n")
    r = adm(server, "", args=[str(script)])
    assert r.returncode == 0 and r.stderr == ""
    assert r.stdout == "anyone p\n"


def test_password_file_and_user_option(server, tmp_path):
    pw = tmp_path / "pw"
    pw.write_text("adminpw\n")
    r = adm(server, "lm user.%\n", args=["--user", "admin", "--password-file", str(pw), "--auth", "LOGIN"],
            password=None)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "user.admin (\\HasNoChildren)\n"


def test_errors_go_to_stderr_and_processing_continues(server):
    r = adm(server, "cm shared.a\ncm shared.a\ndm nosuch\nsam shared.a bob z\n"
                    "dam nosuch bob\nlam nosuch\nfrobnicate\nsam shared.a bob\ncm shared.b\n")
    assert r.returncode == 1
    assert r.stdout == ""
    assert r.stderr.splitlines() == [
        "createmailbox: [ALREADYEXISTS] Mailbox already exists",
        "deletemailbox: [NONEXISTENT] Mailbox does not exist",
        "setaclmailbox: bob: z: The z right is not supported",
        "deleteaclmailbox: bob: [NONEXISTENT] Mailbox does not exist",
        "listaclmailbox: [NONEXISTENT] Mailbox does not exist",
        "frobnicate: unknown command (try help)",
        "usage: setaclmailbox mailbox id rights [id rights ...]",
    ]
    assert "shared.b" in imap_names(server)


def test_bad_login_is_status_2(server):
    r = adm(server, "lm\n", password="wrong")
    assert r.returncode == 2
    assert r.stderr.startswith("agora adm: cannot authenticate to 127.0.0.1 as admin with PLAIN:"), r.stderr


def test_no_server_is_status_2(server):
    r = adm(server, "lm\n", args=["--port", "1"])
    assert r.returncode == 2 and "cannot connect to 127.0.0.1 port 1" in r.stderr, r.stderr


def test_usage_errors_are_status_2(server):
    assert adm(server, "", args=["--bogus"]).returncode == 2
    r = adm(server, "lm\n", password=None)
    assert r.returncode == 2 and "--password" in r.stderr


# ------------------------------------------------ the seed's contact mailbox

def contact_session(admin_names):
    box = admin_names["contact"]
    return (f"cm {admin_names['bob']}\ncm {admin_names['alice']}\ncm {box}\n"
            f"sam {box} anyone p\nsam {box} group:staff all\nlam {box}\n")


@pytest.mark.parametrize("conf,names,bob_sees", [
    ({}, {"bob": "user.bob", "alice": "user.alice", "contact": "shared.contact"}, "shared.contact"),
    (ALT, {"bob": "user/bob", "alice": "user/alice", "contact": "shared/contact"},
     "Shared Folders/shared/contact"),
], ids=["standard", "altnamespace"])
def test_contact_mailbox_session(make_server, conf, names, bob_sees):
    s = make_server(conf=conf)
    s.agora("group", "add", "staff", "bob")
    out = ok(s, contact_session(names))
    assert acl_lines(out) == ["anyone p", "group:staff lrswipkxteacd"]
    check_contact_effect(s, bob_sees)


def check_contact_effect(s, bob_sees):
    """bob (in staff) has every right; alice (anyone: p) cannot see it."""
    bob = s.imap("bob")
    typ, data = bob.list('""', "*")
    names = [list_name(d) for d in data if d]
    assert bob_sees in names, names
    typ, data = bob.myrights(f'"{bob_sees}"')
    assert typ == "OK" and data[0].decode().endswith("lrswipkxteacd"), data
    from conftest import message
    assert bob.append(f'"{bob_sees}"', None, None, message("to contact"))[0] == "OK"
    assert bob.select(f'"{bob_sees}"')[0] == "OK"
    bob.logout()
    alice = s.imap("alice")
    typ, data = alice.list('""', "*")
    assert not any(b"contact" in d for d in data if d), data
    assert alice.select(f'"{bob_sees}"')[0] == "NO"
    alice.logout()
