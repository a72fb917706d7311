"""The real cyradm (Debian cyrus-admin) against agorad: the seed's sessions,
their effect on the server, and for each command that `agora adm` prints
exactly what cyradm prints for the same store."""
import re
import shutil
import subprocess

import pytest

from conftest import needs_tool
from test_adm import ALT, acl_lines, adm, check_contact_effect, contact_session, imap_names

CYRADM = shutil.which("cyradm")
pytestmark = needs_tool(CYRADM, "cyradm (Debian package cyrus-admin)")


def cyradm(server, script, password="adminpw"):
    """COLUMNS=1 cyradm --norc --notls ... < script, as REFERENCE.md says;
    returns (returncode, stdout without the echoed prompts, stderr)."""
    r = subprocess.run(
        [CYRADM, "--norc", "--notls", "--user", "admin", "--password", password, "--auth", "PLAIN",
         "--server", "127.0.0.1", "--port", str(server.imap_port)],
        input=script, capture_output=True, text=True, timeout=60, env={"COLUMNS": "1", "PATH": "/usr/bin:/bin"})
    # Without a terminal cyradm echoes each command after "127.0.0.1> ".
    out = "".join(line for line in r.stdout.splitlines(keepends=True) if not line.startswith("127.0.0.1> "))
    out = out.replace("127.0.0.1> ", "")
    return r.returncode, out, r.stderr


def test_contact_session_standard(make_server):
    s = make_server()
    s.agora("group", "add", "staff", "bob")
    rc, out, err = cyradm(s, contact_session({"bob": "user.bob", "alice": "user.alice",
                                               "contact": "shared.contact"}))
    assert rc == 0 and err == "", err
    assert acl_lines(out) == ["anyone p", "group:staff lrswipkxteacd"]
    check_contact_effect(s, "shared.contact")


def test_contact_session_altnamespace(make_server):
    s = make_server(conf=ALT)
    s.agora("group", "add", "staff", "bob")
    rc, out, err = cyradm(s, contact_session({"bob": "user/bob", "alice": "user/alice",
                                               "contact": "shared/contact"}))
    assert rc == 0 and err == "", err
    assert acl_lines(out) == ["anyone p", "group:staff lrswipkxteacd"]
    check_contact_effect(s, "Shared Folders/shared/contact")


def test_seed_book_session(make_server):
    """Managing IMAP ch. 9: accounts with default folders, a helpdesk ACL,
    giving oneself x to delete, renaming."""
    s = make_server()
    s.agora("group", "add", "helpdesk", "alice")
    rc, out, err = cyradm(s, "createmailbox user.bob\ncreatemailbox user.bob.Trash\ncm user.bob.Drafts\n"
                             "listmailbox user.bob.%\ncm shared.help\n"
                             "setaclmailbox shared.help group:helpdesk write\nsetaclmailbox shared.help bob all\n"
                             "listaclmailbox shared.help\nsam user.bob.Drafts admin x\ndm user.bob.Drafts\n"
                             "renm user.bob.Trash user.bob.Deleted\nlm user.bob*\n")
    assert rc == 0 and err == "", err
    lines = out.splitlines()
    assert lines[:2] == ["user.bob.Drafts (\\HasNoChildren)", "user.bob.Trash (\\HasNoChildren)"]
    assert sorted(lines[2:5]) == ["anyone lrs", "bob lrswipkxteacd", "group:helpdesk lrswipkxtecd"]
    assert lines[5:] == ["user.bob (\\HasChildren)", "user.bob.Deleted (\\HasNoChildren)"]
    assert imap_names(s, "bob") == ["INBOX", "INBOX.Deleted", "shared.help"]


def test_errors_and_exit_status(server):
    rc, out, err = cyradm(server, "cm shared.a\ncm shared.a\ndm nosuch\nsam shared.a bob z\n")
    assert rc == 0 and out == ""
    assert err.splitlines() == ["createmailbox: [ALREADYEXISTS] Mailbox already exists",
                                "deletemailbox: [NONEXISTENT] Mailbox does not exist",
                                "setaclmailbox: bob: z: The z right is not supported"]
    rc, out, err = cyradm(server, "lm\n", password="wrong")
    assert rc == 255 and "cyradm: cannot authenticate to server with PLAIN as admin" in err


def test_sharedseen_on_a_shared_mailbox(server):
    # Cyrus 3.6.1 kills the session here; Agora must not.
    rc, out, err = cyradm(server, "cm shared.team\nmboxcfg shared.team sharedseen true\ninfo shared.team\n")
    assert rc == 0 and err == "", err
    assert "    sharedseen: true" in out.splitlines()


# ------------------------------------------------------- parity, command by command

SETUP = "cm user.bob\ncm user.bob.Sent\ncm user.alice\ncm shared.contact\nsam shared.contact anyone p\n"

PARITY = {
    "createmailbox": "cm shared.new\ncreatemailbox shared.new2\nlm shared.*\n",
    "deletemailbox": "sam user.bob.Sent admin x\ndm user.bob.Sent\ndeletemailbox nosuch\nlm user.bob*\n",
    "renamemailbox": "renm user.bob.Sent user.bob.Old\nrenamemailbox nosuch x\nlm user.bob*\n",
    "listmailbox": "lm\nlistmailbox user.%\nlm *contact\nlm nothing\nlm -subscribed\n",
    "listaclmailbox": "lam user.bob\nlistaclmailbox shared.contact\nlam nosuch\n",
    "setaclmailbox": "sam shared.contact bob read\nsam shared.contact alice write\nsam shared.contact bob z\n"
                     "lam shared.contact\n",
    "deleteaclmailbox": "sam shared.contact bob read\ndam shared.contact bob\ndam nosuch bob\nlam shared.contact\n",
    "mboxconfig": "mboxcfg shared.contact comment hello\nmboxconfig shared.contact sharedseen true\n"
                  "info shared.contact\nmboxcfg shared.contact comment none\ninfo shared.contact\n",
    "info": "info\ninfo shared.contact\ninfo user.bob\n",
    "help": "help lm\nhelp sam\nhelp cm\n",
}
QUOTA_PARITY = {
    "setquota": "sq user.bob 15000\nsq user.alice STORAGE 100\n",
    "listquota": "sq user.bob 15000\nlq user.bob\n",
    "listquotaroot": "sq user.bob 15000\nlqr user.bob.Sent\n",
}


def normalise(out):
    """lam's order is a Perl hash's in cyradm: sort runs of ACL lines; the
    uniqueid differs between two stores."""
    out = re.sub(r"uniqueid: [0-9a-f]+", "uniqueid: X", out)
    return sorted(out.splitlines())


def both(make_server, script):
    a = make_server()
    b = make_server()
    for s in (a, b):
        assert adm(s, SETUP).returncode == 0
    rc, cy_out, cy_err = cyradm(a, script)
    r = adm(b, script)
    return cy_out, cy_err, r


@pytest.mark.parametrize("name", sorted(PARITY))
def test_same_output_as_cyradm(make_server, name):
    cy_out, cy_err, r = both(make_server, PARITY[name])
    if name == "help":
        # Usage strings: ours lists only the options agora adm has.
        cy = [l for l in cy_out.splitlines() if l.startswith("\t")]
        assert [l for l in r.stdout.splitlines() if l.startswith("\t")] == cy
        return
    if "la" in PARITY[name] or "info" in PARITY[name]:
        assert normalise(r.stdout) == normalise(cy_out), f"cyradm:\n{cy_out}\nagora adm:\n{r.stdout}"
    else:
        assert r.stdout == cy_out, f"cyradm:\n{cy_out}\nagora adm:\n{r.stdout}"
    # The same errors, each on its own line (cyradm prints lm/lam/info
    # errors without the command's name; agora adm always names it).
    ours = [re.sub(r"^(listmailbox|listaclmailbox|info): ", "", l) for l in r.stderr.splitlines()]
    assert ours == cy_err.splitlines()


def test_lm_output_is_identical_line_for_line(make_server):
    cy_out, _, r = both(make_server, "lm\nlm user.%\n")
    assert r.stdout == cy_out


@pytest.mark.parametrize("name", sorted(QUOTA_PARITY))
def test_same_quota_output_as_cyradm(make_server, name):
    cy_out, cy_err, r = both(make_server, QUOTA_PARITY[name])
    assert r.returncode == 0 and cy_err == ""
    assert r.stdout == cy_out
