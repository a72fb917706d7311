/* The SQLite backend: mailboxes (create, delete, rename, list), their ACL
 * and the sharing index, special-use, counts and \Recent, and metadata. */

#include "lib-storage/store.h"
#include "lib-storage/store-sqlite-private.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib-acl/acl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---------------------------------------------------------------- mailboxes */

#define MBOX_COLS "id, name, uniqueid, partition, acl, specialuse, uidvalidity, uidnext, " \
	"recentuid, highestmodseq, sharedseen"

static void mbox_from_row(sqlite3_stmt *q, struct mailbox_info *info)
{
	info->id = sqlite3_column_int64(q, 0);
	info->name = sqlite_col_dup(q, 1);
	info->uniqueid = sqlite_col_dup(q, 2);
	info->partition = sqlite_col_dup(q, 3);
	info->acl = sqlite_col_dup(q, 4);
	info->specialuse = sqlite_col_dup(q, 5);
	info->uidvalidity = (uint32_t)sqlite3_column_int64(q, 6);
	info->uidnext = (uint32_t)sqlite3_column_int64(q, 7);
	info->recentuid = (uint32_t)sqlite3_column_int64(q, 8);
	info->highestmodseq = (uint64_t)sqlite3_column_int64(q, 9);
	info->sharedseen = sqlite3_column_int(q, 10) != 0;
}

/* Steps q to its end, appending each row (MBOX_COLS) to *all; resets q and
 * returns the last step's code. The rows are collected before any callback
 * runs: a callback may call back into the store, which would reset the
 * cached statement. */
static int mbox_rows_collect(sqlite3_stmt *q, struct mailbox_info **all, size_t *n)
{
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		*all = xrealloc(*all, (*n + 1) * sizeof(**all));
		memset(&(*all)[*n], 0, sizeof((*all)[*n]));
		mbox_from_row(q, &(*all)[*n]);
		(*n)++;
	}
	sqlite3_reset(q);
	return rc;
}

/* Hands each collected mailbox to cb when the listing succeeded, and frees
 * them either way. */
static void mbox_rows_deliver(struct mailbox_info *all, size_t n, bool ok,
			      void (*cb)(const struct mailbox_info *, void *), void *ctx)
{
	for (size_t i = 0; i < n; i++) {
		if (ok)
			cb(&all[i], ctx);
		mailbox_info_free(&all[i]);
	}
	free(all);
}

int sqlite_mailbox_get(struct store *st, const char *name, struct mailbox_info *info)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT " MBOX_COLS " FROM mailboxes WHERE name = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return sqlite_db_fail(s, "mailbox get");
	if (info != NULL) {
		memset(info, 0, sizeof(*info));
		mbox_from_row(q, info);
	}
	sqlite3_reset(q);
	return 1;
}

int sqlite_mailbox_create(struct store *st, const char *name, const char *partition,
			  const char *acl, const char *specialuse, struct mailbox_info *info)
{
	struct sqlite_store *s = S(st);
	if (sqlite_partition_dir(s, partition) == NULL)
		return sqlite_fail(s, STORE_ERR_NOTFOUND, "no partition %s", partition);
	char uniqueid[33];
	sqlite_random_hex(uniqueid, 16);
	str_t dir = STR_INIT;
	sqlite_mailbox_dir(s, partition, uniqueid, &dir);
	if (sqlite_mkdir_p(str_c(&dir), 0750) < 0) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "mkdir %s: %s", str_c(&dir), strerror(errno));
		str_free(&dir);
		return -1;
	}
	if (sqlite_tx_begin(s) < 0)
		goto fail_dir;
	/* UIDVALIDITY: the clock, but strictly above every value given before,
	 * so a mailbox re-created under an old name never repeats one. */
	sqlite3_stmt *q = sqlite_prep(s, "SELECT value FROM meta WHERE key = 'last_uidvalidity'");
	if (q == NULL || sqlite3_step(q) != SQLITE_ROW) {
		sqlite_db_fail(s, "uidvalidity");
		goto fail;
	}
	long long last = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	long long uv = (long long)time(NULL);
	if (uv <= last)
		uv = last + 1;
	if (uv > 0xffffffffLL)
		uv = 1;
	q = sqlite_prep(s, "UPDATE meta SET value = ? WHERE key = 'last_uidvalidity'");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, uv);
	if (sqlite_step_done(s, q, "uidvalidity") < 0)
		goto fail;
	char *owner = mailbox_owner(name);
	q = sqlite_prep(s, "INSERT INTO mailboxes(name, uniqueid, partition, acl, specialuse, owner, "
		 "uidvalidity, uidnext, highestmodseq) VALUES(?, ?, ?, ?, ?, ?, ?, 1, 1)");
	if (q == NULL) {
		free(owner);
		goto fail;
	}
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, uniqueid, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, partition, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 4, acl, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 5, specialuse, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 6, owner, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(q, 7, uv);
	free(owner);
	if (sqlite3_step(q) != SQLITE_DONE) {
		if (sqlite3_errcode(s->db) == SQLITE_CONSTRAINT)
			sqlite_fail(s, STORE_ERR_EXISTS, "mailbox %s already exists", name);
		else
			sqlite_db_fail(s, "mailbox create");
		goto fail;
	}
	if (sqlite_shares_write(s, sqlite3_last_insert_rowid(s->db), acl) < 0 || sqlite_tx_commit(s) < 0)
		goto fail;
	str_free(&dir);
	struct mailbox_info made;
	if (sqlite_mailbox_get(st, name, &made) != 1)
		return -1;
	sqlite_meta_write(s, &made);
	if (info != NULL)
		*info = made;
	else
		mailbox_info_free(&made);
	return 0;
fail:
	sqlite_tx_rollback(s);
fail_dir:
	rmdir(str_c(&dir));
	str_free(&dir);
	return -1;
}

int sqlite_mailbox_delete(struct store *st, const struct mailbox_info *info)
{
	struct sqlite_store *s = S(st);
	str_t dir = STR_INIT;
	if (sqlite_tx_begin(s) < 0)
		return -1;
	sqlite3_stmt *q = sqlite_prep(s, "SELECT coalesce(sum(size), 0), count(*) FROM messages WHERE mailbox = ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, info->id);
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite_db_fail(s, "mailbox delete usage");
		goto fail;
	}
	int64_t bytes = sqlite3_column_int64(q, 0), msgs = sqlite3_column_int64(q, 1);
	sqlite3_reset(q);
	if (msgs > 0 && sqlite_quota_charge(s, info->name, -bytes, -msgs, false) < 0)
		goto fail;
	if (sqlite_current_dir(s, info->id, info->uniqueid, &dir) < 0) {
		if (s->errcode == STORE_ERR_NOTFOUND)
			sqlite_fail(s, STORE_ERR_NOTFOUND, "mailbox %s does not exist", info->name);
		goto fail;
	}
	q = sqlite_prep(s, "DELETE FROM mailboxes WHERE id = ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, info->id);
	if (sqlite_step_done(s, q, "mailbox delete") < 0)
		goto fail;
	if (sqlite3_changes(s->db) == 0) {
		sqlite_fail(s, STORE_ERR_NOTFOUND, "mailbox %s does not exist", info->name);
		goto fail;
	}
	q = sqlite_prep(s, "DELETE FROM metadata WHERE mailbox = ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, info->id);
	if (sqlite_step_done(s, q, "mailbox delete metadata") < 0 || sqlite_tx_commit(s) < 0)
		goto fail;
	if (sqlite_remove_tree(str_c(&dir)) < 0)
		log_warn("store: could not remove all of %s: %s", str_c(&dir), strerror(errno));
	str_free(&dir);
	return 0;
fail:
	sqlite_tx_rollback(s);
	str_free(&dir);
	return -1;
}

/* The rows of a rename, inside a transaction. */
int sqlite_rename_tx(struct sqlite_store *s, const char *oldname, const char *newname)
{
	size_t oldlen = strlen(oldname);
	int64_t *ids = NULL;
	char **names = NULL;
	size_t n = 0;
	int rc = SQLITE_ERROR;
	int ret = -1;
	struct quota_snap *snap = NULL;
	size_t nsnap = 0;
	if (sqlite_quota_snapshot(s, &snap, &nsnap) < 0)
		goto out;
	sqlite3_stmt *q = sqlite_prep(s, "SELECT id, name FROM mailboxes WHERE name = ?1 OR "
			       "(substr(name, 1, length(?1) + 1) = ?1 || '.') ORDER BY name");
	if (q == NULL)
		goto out;
	sqlite3_bind_text(q, 1, oldname, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		ids = xrealloc(ids, (n + 1) * sizeof(*ids));
		names = xrealloc(names, (n + 1) * sizeof(*names));
		ids[n] = sqlite3_column_int64(q, 0);
		names[n] = sqlite_col_dup(q, 1);
		n++;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		sqlite_db_fail(s, "rename list");
		goto out;
	}
	if (n == 0) {
		sqlite_fail(s, STORE_ERR_NOTFOUND, "mailbox %s does not exist", oldname);
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		str_t nn = STR_INIT;
		str_append(&nn, newname);
		str_append(&nn, names[i] + oldlen);
		char *owner = mailbox_owner(str_c(&nn));
		q = sqlite_prep(s, "UPDATE mailboxes SET name = ?, owner = ? WHERE id = ?");
		if (q == NULL) {
			free(owner);
			str_free(&nn);
			goto out;
		}
		sqlite3_bind_text(q, 1, str_c(&nn), -1, SQLITE_TRANSIENT);
		sqlite3_bind_text(q, 2, owner, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q, 3, ids[i]);
		free(owner);
		rc = sqlite3_step(q);
		str_free(&nn);
		if (rc != SQLITE_DONE) {
			if (sqlite3_errcode(s->db) == SQLITE_CONSTRAINT)
				sqlite_fail(s, STORE_ERR_EXISTS, "mailbox %s already exists", newname);
			else
				sqlite_db_fail(s, "rename");
			goto out;
		}
	}
	/* Subscriptions follow the mailbox. */
	q = sqlite_prep(s, "UPDATE OR REPLACE subscriptions SET name = ?2 || substr(name, length(?1) + 1) "
		 "WHERE name = ?1 OR substr(name, 1, length(?1) + 1) = ?1 || '.'");
	if (q == NULL)
		goto out;
	sqlite3_bind_text(q, 1, oldname, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, newname, -1, SQLITE_STATIC);
	if (sqlite_step_done(s, q, "rename subscriptions") < 0)
		goto out;
	/* Roots named by the mailboxes move with them; messages may now be
	 * under other roots, and a root they enter must have room for them. */
	if (sqlite_quota_rename(s, oldname, newname) < 0 || sqlite_quota_refresh_under(s, oldname) < 0 ||
	    sqlite_quota_refresh_under(s, newname) < 0 ||
	    sqlite_quota_check_growth(s, snap, nsnap, oldname, newname) < 0)
		goto out;
	ret = 0;
out:
	sqlite_quota_snapshot_free(snap, nsnap);
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	free(ids);
	return ret;
}

/* After a committed rename: every mailbox now under `name` gets its
 * mailbox.meta rewritten with its new name. */
void sqlite_meta_refresh_under(struct sqlite_store *s, const char *name)
{
	sqlite3_stmt *q = sqlite_prep(s, "SELECT id FROM mailboxes WHERE name = ?1 OR "
				      "(name > ?1 || '.' AND name < ?1 || '/')");
	if (q == NULL)
		return;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	int64_t *ids = NULL;
	size_t n = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		ids = xrealloc(ids, (n + 1) * sizeof(*ids));
		ids[n++] = sqlite3_column_int64(q, 0);
	}
	sqlite3_reset(q);
	for (size_t i = 0; i < n; i++)
		sqlite_meta_refresh(s, ids[i]);
	free(ids);
}

int sqlite_mailbox_rename(struct store *st, const char *oldname, const char *newname)
{
	struct sqlite_store *s = S(st);
	if (sqlite_tx_begin(s) < 0)
		return -1;
	if (sqlite_rename_tx(s, oldname, newname) < 0 || sqlite_tx_commit(s) < 0) {
		sqlite_tx_rollback(s);
		return -1;
	}
	sqlite_meta_refresh_under(s, newname);
	return 0;
}

int sqlite_mailbox_list(struct store *st, const char *prefix,
			void (*cb)(const struct mailbox_info *, void *), void *ctx)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q;
	if (prefix == NULL) {
		q = sqlite_prep(s, "SELECT " MBOX_COLS " FROM mailboxes ORDER BY name");
	} else {
		/* Range scan on the name index: the prefix itself and names
		 * between "prefix." and "prefix/" ('/' follows '.' in ASCII). */
		q = sqlite_prep(s, "SELECT " MBOX_COLS " FROM mailboxes WHERE name = ?1 OR "
			 "(name > ?1 || '.' AND name < ?1 || '/') ORDER BY name");
	}
	if (q == NULL)
		return -1;
	if (prefix != NULL)
		sqlite3_bind_text(q, 1, prefix, -1, SQLITE_STATIC);
	struct mailbox_info *all = NULL;
	size_t n = 0;
	int rc = mbox_rows_collect(q, &all, &n);
	mbox_rows_deliver(all, n, rc == SQLITE_DONE, cb, ctx);
	return rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "mailbox list");
}

static int set_column(struct sqlite_store *s, sqlite3_stmt *q, int64_t id)
{
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 2, id);
	if (sqlite_step_done(s, q, "mailbox update") < 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return sqlite_fail(s, STORE_ERR_NOTFOUND, "mailbox does not exist");
	return 0;
}

/* Writes the sharing index rows of one mailbox (inside a transaction).
 * "$NAME" and "group:NAME" are one identifier, kept as "group:NAME". */
int sqlite_shares_write(struct sqlite_store *s, int64_t id, const char *acl)
{
	sqlite3_stmt *q = sqlite_prep(s, "DELETE FROM shares WHERE mailbox = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	if (sqlite_step_done(s, q, "shares") < 0)
		return -1;
	size_t at = 0;
	str_t ident = STR_INIT, norm = STR_INIT;
	acl_rights_t r;
	int ret = 0;
	while (ret == 0 && acl_next_entry(acl, &at, &ident, &r)) {
		const char *name = str_c(&ident);
		if (name[0] == '-' || !(r & ACL_L))
			continue;
		str_clear(&norm);
		if (name[0] == '$')
			str_printf(&norm, "group:%s", name + 1);
		else
			str_append(&norm, name);
		q = sqlite_prep(s, "INSERT OR IGNORE INTO shares(ident, mailbox) VALUES(?, ?)");
		if (q == NULL) {
			ret = -1;
			break;
		}
		sqlite3_bind_text(q, 1, str_c(&norm), -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q, 2, id);
		ret = sqlite_step_done(s, q, "shares");
	}
	str_free(&ident);
	str_free(&norm);
	return ret;
}

int sqlite_mailbox_set_acl(struct store *st, int64_t id, const char *acl)
{
	struct sqlite_store *s = S(st);
	if (sqlite_tx_begin(s) < 0)
		return -1;
	sqlite3_stmt *q = sqlite_prep(s, "UPDATE mailboxes SET acl = ? WHERE id = ?");
	if (q != NULL)
		sqlite3_bind_text(q, 1, acl, -1, SQLITE_STATIC);
	if (set_column(s, q, id) < 0 || sqlite_shares_write(s, id, acl) < 0 || sqlite_tx_commit(s) < 0) {
		sqlite_tx_rollback(s);
		return -1;
	}
	sqlite_meta_refresh(s, id);
	return 0;
}

int sqlite_mailbox_list_shared(struct store *st, const char *const *idents,
			       void (*cb)(const struct mailbox_info *, void *), void *ctx)
{
	struct sqlite_store *s = S(st);
	struct mailbox_info *all = NULL;
	size_t n = 0;
	int rc = SQLITE_DONE;
	for (const char *const *id = idents; *id != NULL && rc == SQLITE_DONE; id++) {
		sqlite3_stmt *q = sqlite_prep(s, "SELECT " MBOX_COLS " FROM mailboxes WHERE id IN "
				       "(SELECT mailbox FROM shares WHERE ident = ?)");
		if (q == NULL) {
			rc = SQLITE_ERROR;
			break;
		}
		sqlite3_bind_text(q, 1, *id, -1, SQLITE_STATIC);
		rc = mbox_rows_collect(q, &all, &n);
	}
	mbox_rows_deliver(all, n, rc == SQLITE_DONE, cb, ctx);
	return rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "shared list");
}

int sqlite_shares_rebuild(struct store *st)
{
	struct sqlite_store *s = S(st);
	if (sqlite_tx_begin(s) < 0)
		return -1;
	sqlite3_stmt *q = sqlite_prep(s, "SELECT id, acl FROM mailboxes");
	if (q == NULL)
		goto fail;
	int64_t *ids = NULL;
	char **acls = NULL;
	size_t n = 0;
	while (sqlite3_step(q) == SQLITE_ROW) {
		ids = xrealloc(ids, (n + 1) * sizeof(*ids));
		acls = xrealloc(acls, (n + 1) * sizeof(*acls));
		ids[n] = sqlite3_column_int64(q, 0);
		acls[n] = sqlite_col_dup(q, 1);
		n++;
	}
	sqlite3_reset(q);
	int ret = sqlite_exec(s, "DELETE FROM shares");
	for (size_t i = 0; i < n; i++) {
		if (ret == 0)
			ret = sqlite_shares_write(s, ids[i], acls[i]);
		free(acls[i]);
	}
	free(ids);
	free(acls);
	if (ret < 0 || sqlite_tx_commit(s) < 0)
		goto fail;
	return 0;
fail:
	sqlite_tx_rollback(s);
	return -1;
}

int sqlite_mailbox_set_specialuse(struct store *st, int64_t id, const char *su)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "UPDATE mailboxes SET specialuse = ? WHERE id = ?");
	if (q != NULL)
		sqlite3_bind_text(q, 1, su, -1, SQLITE_STATIC);
	if (set_column(s, q, id) < 0)
		return -1;
	sqlite_meta_refresh(s, id);
	return 0;
}

int sqlite_mailbox_set_sharedseen(struct store *st, int64_t id, bool shared)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "UPDATE mailboxes SET sharedseen = ? WHERE id = ?");
	if (q != NULL)
		sqlite3_bind_int(q, 1, shared ? 1 : 0);
	if (set_column(s, q, id) < 0)
		return -1;
	sqlite_meta_refresh(s, id);
	return 0;
}

/* Whether `user`'s \Seen in this mailbox is the one in messages.flags. */
bool sqlite_seen_in_flags(const struct mailbox_info *mbox, const char *user)
{
	if (mbox->sharedseen || user == NULL)
		return true;
	char *owner = mailbox_owner(mbox->name);
	bool mine = owner != NULL && strcmp(owner, user) == 0;
	free(owner);
	return mine;
}

int sqlite_mailbox_counts(struct store *st, const struct mailbox_info *mbox, const char *user,
			  struct mailbox_counts *c)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q;
	bool own = sqlite_seen_in_flags(mbox, user);
	if (own) {
		q = sqlite_prep(s, "SELECT count(*), coalesce(sum((flags & 8) = 0), 0), "
			 "coalesce(sum(uid > (SELECT recentuid FROM mailboxes WHERE id = ?1)), 0), "
			 "coalesce(sum(size), 0) FROM messages WHERE mailbox = ?1");
	} else {
		q = sqlite_prep(s, "SELECT count(*), coalesce(sum(s.uid IS NULL), 0), "
			 "coalesce(sum(m.uid > (SELECT recentuid FROM mailboxes WHERE id = ?1)), 0), "
			 "coalesce(sum(m.size), 0) FROM messages m LEFT JOIN seen s "
			 "ON s.mailbox = m.mailbox AND s.uid = m.uid AND s.user = ?2 WHERE m.mailbox = ?1");
	}
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, mbox->id);
	if (!own)
		sqlite3_bind_text(q, 2, user, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW)
		return sqlite_db_fail(s, "mailbox counts");
	c->messages = (uint32_t)sqlite3_column_int64(q, 0);
	c->unseen = (uint32_t)sqlite3_column_int64(q, 1);
	c->recent = (uint32_t)sqlite3_column_int64(q, 2);
	c->size = (uint64_t)sqlite3_column_int64(q, 3);
	sqlite3_reset(q);
	return 0;
}

static int claim_recent_tx(struct sqlite_store *s, int64_t id, uint32_t *old_r, uint32_t *new_r);

int sqlite_mailbox_claim_recent(struct store *st, int64_t id, uint32_t *old_r, uint32_t *new_r)
{
	struct sqlite_store *s = S(st);
	/* \Recent is advisory: no need to wait for the disk. */
	sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	int ret = claim_recent_tx(s, id, old_r, new_r);
	sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	return ret;
}

static int claim_recent_tx(struct sqlite_store *s, int64_t id, uint32_t *old_r, uint32_t *new_r)
{
	if (sqlite_tx_begin(s) < 0)
		return -1;
	sqlite3_stmt *q = sqlite_prep(s, "SELECT recentuid, uidnext FROM mailboxes WHERE id = ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_int64(q, 1, id);
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite_fail(s, STORE_ERR_NOTFOUND, "mailbox does not exist");
		goto fail;
	}
	*old_r = (uint32_t)sqlite3_column_int64(q, 0);
	sqlite3_int64 last = sqlite3_column_int64(q, 1) - 1;
	sqlite3_reset(q);
	*new_r = (uint32_t)last;
	if ((sqlite3_int64)*old_r != last) {
		q = sqlite_prep(s, "UPDATE mailboxes SET recentuid = ? WHERE id = ?");
		if (q == NULL)
			goto fail;
		sqlite3_bind_int64(q, 1, last);
		sqlite3_bind_int64(q, 2, id);
		if (sqlite_step_done(s, q, "claim recent") < 0)
			goto fail;
	}
	return sqlite_tx_commit(s);
fail:
	sqlite_tx_rollback(s);
	return -1;
}

/* ---------------------------------------------------------------- metadata */

int sqlite_metadata_set(struct store *st, int64_t mailbox, const char *user, const char *entry,
			const char *value, size_t value_len)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = value != NULL ?
		sqlite_prep(s, "INSERT OR REPLACE INTO metadata(mailbox, user, entry, value) VALUES(?, ?, ?, ?)") :
		sqlite_prep(s, "DELETE FROM metadata WHERE mailbox = ? AND user = ? AND entry = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, mailbox);
	sqlite3_bind_text(q, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, entry, -1, SQLITE_STATIC);
	if (value != NULL)
		sqlite3_bind_blob(q, 4, value, (int)value_len, SQLITE_STATIC);
	return sqlite_step_done(s, q, "metadata");
}

int sqlite_metadata_list(struct store *st, int64_t mailbox, const char *user, const char *prefix,
			 int depth, void (*cb)(const char *, const char *, size_t, void *), void *ctx)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT entry, value FROM metadata WHERE mailbox = ?1 AND user = ?2 AND "
			       "(entry = ?3 OR (entry > ?3 || '/' AND entry < ?3 || '0')) ORDER BY entry");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, mailbox);
	sqlite3_bind_text(q, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 3, prefix, -1, SQLITE_STATIC);
	size_t plen = strlen(prefix);
	str_t rows = STR_INIT;
	int rc;
	/* collect first: the callback may use the store */
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *e = (const char *)sqlite3_column_text(q, 0);
		if (depth >= 0 && strlen(e) > plen) {
			int levels = 0;
			for (const char *p = e + plen; *p != '\0'; p++)
				levels += *p == '/';
			if (levels > depth)
				continue;
		}
		uint32_t vlen = (uint32_t)sqlite3_column_bytes(q, 1);
		str_append(&rows, e);
		str_append_c(&rows, '\0');
		str_append_n(&rows, &vlen, sizeof(vlen));
		str_append_n(&rows, sqlite3_column_blob(q, 1), vlen);
	}
	sqlite3_reset(q);
	for (size_t at = 0; rc == SQLITE_DONE && at < rows.len;) {
		const char *e = rows.data + at;
		at += strlen(e) + 1;
		uint32_t vlen;
		memcpy(&vlen, rows.data + at, sizeof(vlen));
		at += sizeof(vlen);
		cb(e, rows.data + at, vlen, ctx);
		at += vlen;
	}
	str_free(&rows);
	return rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "metadata list");
}

int sqlite_metadata_count(struct store *st, int64_t mailbox, unsigned *count_r)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT count(*) FROM metadata WHERE mailbox = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, mailbox);
	if (sqlite3_step(q) != SQLITE_ROW)
		return sqlite_db_fail(s, "metadata count");
	*count_r = (unsigned)sqlite3_column_int(q, 0);
	sqlite3_reset(q);
	return 0;
}
