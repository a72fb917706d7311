"""Helpers of the reconstruct and check tests: a snapshot of the store read
from the database and the message files, and damage done while agorad is
stopped."""
import hashlib
import os
import sqlite3


def db_path(server):
    return os.path.join(server.settings["configdirectory"], "agora.db")


def spool(server):
    return server.settings["partition-default"]


def mbox_dir(server, uniqueid):
    return os.path.join(spool(server), uniqueid[:2], uniqueid)


def snapshot(server):
    """{name: {"uidvalidity", "acl", "specialuse", "messages": {uid: (sha256, flags, keywords)}}}
    and the sharing index as {(ident, mailbox name)}."""
    out = {}
    with sqlite3.connect(db_path(server)) as db:
        for mid, name, uniqueid, uv, acl, su in db.execute(
                "SELECT id, name, uniqueid, uidvalidity, acl, specialuse FROM mailboxes"):
            msgs = {}
            for uid, guid, flags, kw in db.execute(
                    "SELECT uid, guid, flags, keywords FROM messages WHERE mailbox = ?", (mid,)):
                with open(os.path.join(mbox_dir(server, uniqueid), guid), "rb") as f:
                    h = hashlib.sha256(f.read()).hexdigest()
                msgs[uid] = (h, flags, kw or "")
            out[name] = {"uidvalidity": uv, "acl": acl, "specialuse": su, "messages": msgs}
        shares = set(db.execute(
            "SELECT s.ident, b.name FROM shares s JOIN mailboxes b ON b.id = s.mailbox"))
    return out, shares


def message_row(server, mailbox, uid=None):
    """(uniqueid, guid, uid, mailbox id) of a message of `mailbox` (its lowest UID by default)."""
    with sqlite3.connect(db_path(server)) as db:
        mid, uniqueid = db.execute("SELECT id, uniqueid FROM mailboxes WHERE name = ?",
                                   (mailbox,)).fetchone()
        q = "SELECT guid, uid FROM messages WHERE mailbox = ?"
        args = (mid,)
        if uid is not None:
            q += " AND uid = ?"
            args = (mid, uid)
        guid, uid = db.execute(q + " ORDER BY uid LIMIT 1", args).fetchone()
    return uniqueid, guid, uid, mid


def execute(server, sql, args=()):
    with sqlite3.connect(db_path(server)) as db:
        db.execute(sql, args)
