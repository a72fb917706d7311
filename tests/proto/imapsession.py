"""Helpers for the sharing tests: an imaplib session that returns the exact
response lines of a command, and the names each namespace shows."""
import imaplib
import re


def q(name):
    """A mailbox name as a quoted string."""
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


class Session:
    """imaplib for the connection and login; cmd() sends one command and
    returns every line up to and including its tagged answer (literals in
    the answer are kept inline)."""

    def __init__(self, server, user):
        self.user = user
        self.m = server.imap(user)

    def cmd(self, text):
        tag = self.m._new_tag().decode()
        self.m.send(f"{tag} {text}\r\n".encode())
        lines = []
        while True:
            line = self.m.readline()
            if not line:
                raise ConnectionError(f"connection closed after {lines!r}")
            line = line.decode("utf-8", "replace").rstrip("\r\n")
            lit = re.search(r"\{(\d+)\}$", line)
            while lit:
                data = self.m.read(int(lit.group(1))).decode("utf-8", "replace")
                more = self.m.readline().decode("utf-8", "replace").rstrip("\r\n")
                line = line + data + more
                lit = re.search(r"\{(\d+)\}$", more)
            lines.append(line)
            if line.startswith(tag + " "):
                return [tag] + lines  # the tag first, so callers can strip it

    def run(self, text):
        """(tagged status word, tagged text without tag, untagged lines)."""
        out = self.cmd(text)
        tag, lines = out[0], out[1:]
        last = lines[-1][len(tag) + 1:]
        status, _, rest = last.partition(" ")
        return status, rest, lines[:-1]

    def ok(self, text):
        status, rest, untagged = self.run(text)
        assert status == "OK", f"{self.user}: {text!r} answered {status} {rest}"
        return untagged

    def no(self, text):
        status, rest, untagged = self.run(text)
        assert status == "NO", f"{self.user}: {text!r} answered {status} {rest} (expected NO)"
        return rest

    def append(self, name, msg, flags=None):
        typ, data = self.m.append(q(name), flags, None, msg)
        assert typ == "OK", f"{self.user}: APPEND {name}: {typ} {data}"

    def list_names(self, pattern="*", ref=""):
        """{name: attributes} from LIST."""
        out = {}
        for line in self.ok(f"LIST {q(ref)} {q(pattern)}"):
            mo = re.match(r'\* LIST \(([^)]*)\) "(.)" (?:"((?:[^"\\]|\\.)*)"|(\S+))$', line)
            assert mo, f"unparsable LIST line {line!r}"
            name = mo.group(3) if mo.group(3) is not None else mo.group(4)
            out[name.replace('\\"', '"').replace("\\\\", "\\")] = mo.group(1).split()
        return out

    def logout(self):
        try:
            self.m.logout()
        except Exception:
            pass


class Names:
    """How one configuration shows internal names: to an administrator
    (the internal namespace with the configured separator) and to a user."""

    def __init__(self, alt, unixsep):
        self.alt = alt
        self.sep = "/" if unixsep else "."

    def _levels(self, internal):
        return self.sep.join(l.replace("^", ".") if self.sep == "/" else l
                             for l in internal.split("."))

    def admin(self, internal):
        return self._levels(internal)

    def user(self, internal, me):
        parts = internal.split(".")
        if parts[0] == "user" and len(parts) > 1 and parts[1] == me:
            if len(parts) == 2:
                return "INBOX"
            rest = ".".join(parts[2:])
            return self._levels(rest) if self.alt else "INBOX" + self.sep + self._levels(rest)
        if not self.alt:
            return self._levels(internal)
        if parts[0] == "user":
            return "Other Users" + self.sep + self._levels(".".join(parts[1:]))
        return "Shared Folders" + self.sep + self._levels(internal)

    def conf(self):
        return {"altnamespace": "yes" if self.alt else "no",
                "unixhierarchysep": "yes" if self.sep == "/" else "no"}


NAMESPACES = {
    "standard": Names(False, False),
    "alt-unixsep": Names(True, True),
}
