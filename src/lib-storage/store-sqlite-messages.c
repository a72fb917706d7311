/* The SQLite backend: messages (append, list, fields, flags, expunge,
 * copy and move) and their journal lines. */

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

/* ---------------------------------------------------------------- messages */

int sqlite_tmpfile_create(struct store *st, const char *partition, str_t *path_r)
{
	struct sqlite_store *s = S(st);
	const char *dir = sqlite_partition_dir(s, partition);
	if (dir == NULL)
		return sqlite_fail(s, STORE_ERR_NOTFOUND, "no partition %s", partition);
	char guid[33];
	sqlite_random_hex(guid, 16);
	str_clear(path_r);
	str_printf(path_r, "%s/tmp", dir);
	if (sqlite_mkdir_p(str_c(path_r), 0750) < 0)
		return sqlite_fail(s, STORE_ERR_INTERNAL, "mkdir %s: %s", str_c(path_r), strerror(errno));
	str_printf(path_r, "/%s", guid);
	return 0;
}

int sqlite_msgfile_create(struct store *st, const struct mailbox_info *mbox, str_t *path_r)
{
	struct sqlite_store *s = S(st);
	if (sqlite_current_dir(s, mbox->id, mbox->uniqueid, path_r) < 0)
		return -1;
	if (sqlite_mkdir_p(str_c(path_r), 0750) < 0)
		return sqlite_fail(s, STORE_ERR_INTERNAL, "mkdir %s: %s", str_c(path_r), strerror(errno));
	char guid[33];
	sqlite_random_hex(guid, 16);
	str_printf(path_r, "/%s", guid);
	return 0;
}

static const char *path_basename(const char *p)
{
	const char *slash = strrchr(p, '/');
	return slash != NULL ? slash + 1 : p;
}

/* Bumps highestmodseq and returns the new value; inside a transaction. */
static int next_modseq(struct sqlite_store *s, int64_t mbox_id, uint64_t *modseq_r)
{
	sqlite3_stmt *q = sqlite_prep(s, "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 "
			       "WHERE id = ? RETURNING highestmodseq");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, mbox_id);
	if (sqlite3_step(q) != SQLITE_ROW)
		return sqlite_fail(s, STORE_ERR_NOTFOUND, "mailbox vanished");
	*modseq_r = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return 0;
}

/* Takes the next UID; inside a transaction. */
static int next_uid(struct sqlite_store *s, int64_t mbox_id, uint32_t *uid_r)
{
	sqlite3_stmt *q = sqlite_prep(s, "UPDATE mailboxes SET uidnext = uidnext + 1 "
			       "WHERE id = ? RETURNING uidnext - 1");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, mbox_id);
	if (sqlite3_step(q) != SQLITE_ROW)
		return sqlite_fail(s, STORE_ERR_NOTFOUND, "mailbox vanished");
	sqlite3_int64 uid = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	if (uid >= 0xffffffffLL)
		return sqlite_fail(s, STORE_ERR_LIMIT, "the mailbox has run out of UIDs");
	*uid_r = (uint32_t)uid;
	return 0;
}

static int insert_seen(struct sqlite_store *s, int64_t mbox, const char *user, uint32_t uid, bool on)
{
	sqlite3_stmt *q = on ? sqlite_prep(s, "INSERT OR IGNORE INTO seen(mailbox, user, uid) VALUES(?, ?, ?)")
			     : sqlite_prep(s, "DELETE FROM seen WHERE mailbox = ? AND user = ? AND uid = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, mbox);
	sqlite3_bind_text(q, 2, user, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, uid);
	return sqlite_step_done(s, q, "seen");
}

int sqlite_msg_append(struct store *st, const struct mailbox_info *mbox, const char *user,
		      const struct new_msg *m, uint32_t *uid_r, uint64_t *modseq_r)
{
	struct sqlite_store *s = S(st);
	const char *guid = path_basename(m->tmp_path);
	str_t dir = STR_INIT, final = STR_INIT, moved = STR_INIT;
	bool committed = false;
	if (sqlite_current_dir(s, mbox->id, mbox->uniqueid, &dir) < 0)
		goto fail_file;
	str_printf(&final, "%s/%s", str_c(&dir), guid);
	/* The file reaches its final name, durably, before the row exists:
	 * linked (copied when the temporary file is on another partition's
	 * filesystem) and its directory fsynced. When this early placement
	 * fails (a move removed the directory under it), the file is placed
	 * under the lock below instead. A file written in place
	 * (msgfile_create) is there already, unless the mailbox moved since:
	 * only its name is synced (when a partition move takes it away before
	 * the lock, the placement below writes it again from m->data, or
	 * finds no file to place and nothing is stored). */
	if (strcmp(str_c(&final), m->tmp_path) == 0) {
		if (sqlite_fsync_dir(str_c(&dir)) < 0 && (errno != ENOENT || m->data == NULL)) {
			sqlite_fail(s, errno == ENOENT ? STORE_ERR_MOVED : STORE_ERR_INTERNAL, "fsync %s: %s",
				    str_c(&dir), strerror(errno));
			goto fail_file;
		}
	} else if (sqlite_mkdir_p(str_c(&dir), 0750) < 0 || sqlite_place_file(m->tmp_path, str_c(&final)) < 0 ||
		   sqlite_fsync_dir(str_c(&dir)) < 0) {
		unlink(str_c(&final));
		str_clear(&final);
	}
	bool own_seen = sqlite_seen_in_flags(mbox, user);
	if (sqlite_tx_begin_grouped(s) < 0)
		goto fail_file;
	/* Under the lock: the file is where the mailbox is now (a move may have
	 * switched it, or moved it away and back, since the file was placed). */
	str_t now = STR_INIT;
	if (sqlite_current_dir(s, mbox->id, mbox->uniqueid, &now) < 0) {
		str_free(&now);
		goto fail;
	}
	str_printf(&moved, "%s/%s", str_c(&now), guid);
	if (access(str_c(&moved), F_OK) < 0) {
		int pr = sqlite_mkdir_p(str_c(&now), 0750);
		if (pr == 0)
			pr = sqlite_place_file(m->tmp_path, str_c(&moved));
		/* No file to place: a move removed the directory it was in,
		 * with the file. Written again when the caller has the bytes. */
		bool gone = pr < 0 && errno == ENOENT && access(m->tmp_path, F_OK) < 0;
		if (gone && m->data != NULL)
			pr = sqlite_write_file(str_c(&moved), m->data, m->size);
		if (pr == 0)
			pr = sqlite_fsync_dir(str_c(&now));
		if (pr < 0) {
			int e = errno;
			sqlite_fail(s, gone && m->data == NULL ? STORE_ERR_MOVED : STORE_ERR_INTERNAL,
				    "storing %s: %s", str_c(&moved), strerror(e));
			str_free(&now);
			goto fail;
		}
	}
	str_free(&now);
	/* Every other name of the file goes now, while the row does not exist
	 * yet: a copy placed early in a directory the mailbox has left, and
	 * the name it was written under. After the commit a name in a mailbox
	 * directory may be the message's real one again: a move back to that
	 * partition links the committed message there under the lock. */
	if (strncmp(str_c(&moved), str_c(&dir), dir.len) != 0 || str_c(&moved)[dir.len] != '/') {
		if (final.len > 0)
			unlink(str_c(&final));
		rmdir(str_c(&dir)); /* when empty: a directory only this made again */
	}
	str_clear(&final);
	if (strcmp(m->tmp_path, str_c(&moved)) != 0) {
		unlink(m->tmp_path);
		/* written in place where the mailbox no longer is */
		str_t wdir = STR_INIT;
		if (guid > m->tmp_path)
			str_append_n(&wdir, m->tmp_path, (size_t)(guid - m->tmp_path) - 1);
		if (wdir.len > 0 && strcmp(path_basename(str_c(&wdir)), mbox->uniqueid) == 0 &&
		    strcmp(str_c(&wdir), str_c(&dir)) != 0)
			rmdir(str_c(&wdir));
		str_free(&wdir);
	}
	if (next_uid(s, mbox->id, uid_r) < 0 || next_modseq(s, mbox->id, modseq_r) < 0)
		goto fail;
	sqlite3_stmt *q = sqlite_prep(s, "INSERT INTO messages(mailbox, uid, guid, size, internaldate, tz, "
			       "sentdate, flags, keywords, modseq, envelope, bodystructure, body, header) "
			       "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (q == NULL)
		goto fail;
	uint32_t flags = m->flags & MSG_STORED_FLAGS;
	if (!own_seen)
		flags &= ~(uint32_t)MSG_SEEN;
	sqlite3_bind_int64(q, 1, mbox->id);
	sqlite3_bind_int64(q, 2, *uid_r);
	sqlite3_bind_text(q, 3, guid, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 4, (sqlite3_int64)m->size);
	sqlite3_bind_int64(q, 5, (sqlite3_int64)m->internaldate);
	sqlite3_bind_int(q, 6, m->internaldate_tz);
	sqlite3_bind_int64(q, 7, (sqlite3_int64)m->sentdate);
	sqlite3_bind_int(q, 8, (int)flags);
	sqlite3_bind_text(q, 9, m->keywords != NULL && m->keywords[0] != '\0' ? m->keywords : NULL, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 10, (sqlite3_int64)*modseq_r);
	sqlite3_bind_text(q, 11, m->envelope, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 12, m->bodystructure, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 13, m->body, -1, SQLITE_STATIC);
	if (m->header != NULL)
		sqlite3_bind_blob(q, 14, m->header, (int)m->header_len, SQLITE_STATIC);
	if (sqlite_step_done(s, q, "append") < 0)
		goto fail;
	if (m->search != NULL && sqlite_search_fields_put(s, mbox->id, *uid_r, m->search, m->search_len) < 0)
		goto fail;
	if (sqlite_quota_charge(s, mbox->name, (int64_t)m->size, 1, true) < 0)
		goto fail;
	if (m->dedup_id != NULL) {
		q = sqlite_prep(s, "INSERT INTO deliveries(mailbox, message_id, time) VALUES(?, ?, ?)");
		if (q == NULL)
			goto fail;
		sqlite3_bind_int64(q, 1, mbox->id);
		sqlite3_bind_text(q, 2, m->dedup_id, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)time(NULL));
		if (sqlite3_step(q) != SQLITE_DONE) {
			if (sqlite3_errcode(s->db) == SQLITE_CONSTRAINT)
				sqlite_fail(s, STORE_ERR_DUPLICATE, "%s was delivered to %s before", m->dedup_id, mbox->name);
			else
				sqlite_db_fail(s, "deliveries");
			goto fail;
		}
		/* Remembered for three days, as long as an MTA retries; pruned
		 * now and then so the table stays small. */
		if ((++s->dedup_inserts & 255) == 0) {
			q = sqlite_prep(s, "DELETE FROM deliveries WHERE time < ?");
			if (q == NULL)
				goto fail;
			sqlite3_bind_int64(q, 1, (sqlite3_int64)time(NULL) - 3 * 86400);
			if (sqlite_step_done(s, q, "deliveries prune") < 0)
				goto fail;
		}
	}
	if (!own_seen && (m->flags & MSG_SEEN) && insert_seen(s, mbox->id, user, *uid_r, true) < 0)
		goto fail;
	if (sqlite_tx_commit_then_sync(s, &committed) < 0)
		goto fail;
	str_t jl = STR_INIT;
	sqlite_journal_add(&jl, *uid_r, guid, *modseq_r, m->size, m->internaldate, m->internaldate_tz,
			   flags, m->keywords);
	sqlite_journal_write(s, mbox, &jl);
	str_free(&jl);
	str_free(&dir);
	str_free(&final);
	str_free(&moved);
	return 0;
fail:
	sqlite_tx_rollback(s);
fail_file:
	/* Only files no committed row names (a commit whose WAL sync failed
	 * keeps its file: the row may survive; its other names went before
	 * the commit). */
	if (!committed) {
		if (final.len > 0)
			unlink(str_c(&final));
		if (moved.len > 0)
			unlink(str_c(&moved));
		unlink(m->tmp_path);
	}
	str_free(&dir);
	str_free(&final);
	str_free(&moved);
	return -1;
}

int sqlite_msg_list(struct store *st, const struct mailbox_info *mbox, const char *user,
		    uint64_t since, struct msg_rec **recs_r, size_t *count_r)
{
	struct sqlite_store *s = S(st);
	bool own = sqlite_seen_in_flags(mbox, user);
	sqlite3_stmt *q;
	if (own) {
		q = sqlite_prep(s, "SELECT uid, flags, keywords, modseq FROM messages "
			 "WHERE mailbox = ?1 AND modseq > ?2 ORDER BY uid");
	} else {
		q = sqlite_prep(s, "SELECT m.uid, (m.flags & ~8) | (CASE WHEN s.uid IS NULL THEN 0 ELSE 8 END), "
			 "m.keywords, m.modseq FROM messages m LEFT JOIN seen s ON s.mailbox = m.mailbox "
			 "AND s.uid = m.uid AND s.user = ?3 WHERE m.mailbox = ?1 AND m.modseq > ?2 ORDER BY m.uid");
	}
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, mbox->id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)since);
	if (!own)
		sqlite3_bind_text(q, 3, user, -1, SQLITE_STATIC);
	size_t n = 0, alloc = 0;
	struct msg_rec *recs = NULL;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		if (n == alloc) {
			alloc = alloc == 0 ? 64 : alloc * 2;
			recs = xrealloc(recs, alloc * sizeof(*recs));
		}
		recs[n].uid = (uint32_t)sqlite3_column_int64(q, 0);
		recs[n].flags = (uint32_t)sqlite3_column_int(q, 1);
		recs[n].keywords = sqlite_col_dup(q, 2);
		recs[n].modseq = (uint64_t)sqlite3_column_int64(q, 3);
		n++;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		msg_rec_free_array(recs, n);
		return sqlite_db_fail(s, "message list");
	}
	*recs_r = recs;
	*count_r = n;
	return 0;
}

int sqlite_msg_expunged_since(struct store *st, int64_t mbox_id, uint64_t since,
			      uint32_t **uids_r, size_t *count_r)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT uid FROM expunged WHERE mailbox = ? AND modseq > ? ORDER BY uid");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, mbox_id);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)since);
	size_t n = 0;
	uint32_t *uids = NULL;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		uids = xrealloc(uids, (n + 1) * sizeof(*uids));
		uids[n++] = (uint32_t)sqlite3_column_int64(q, 0);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		free(uids);
		return sqlite_db_fail(s, "expunged list");
	}
	*uids_r = uids;
	*count_r = n;
	return 0;
}

int sqlite_search_fields_put(struct sqlite_store *s, int64_t mbox_id, uint32_t uid, const char *fields,
			     size_t len)
{
	sqlite3_stmt *q = sqlite_prep(s, "INSERT OR REPLACE INTO message_search(mailbox, uid, fields) VALUES(?, ?, ?)");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, mbox_id);
	sqlite3_bind_int64(q, 2, uid);
	sqlite3_bind_blob(q, 3, len > 0 ? fields : "", (int)len, SQLITE_STATIC);
	return sqlite_step_done(s, q, "search fields");
}

int sqlite_msg_search_fields(struct store *st, const struct mailbox_info *mbox,
			     int (*cb)(void *ctx, uint32_t uid, const char *data, size_t len), void *ctx)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT uid, fields FROM message_search WHERE mailbox = ? ORDER BY uid");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, mbox->id);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *data = sqlite3_column_blob(q, 1);
		size_t len = (size_t)sqlite3_column_bytes(q, 1);
		if (cb(ctx, (uint32_t)sqlite3_column_int64(q, 0), data != NULL ? data : "", len) != 0) {
			rc = SQLITE_DONE;
			break;
		}
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE)
		return sqlite_db_fail(s, "search fields");
	return 0;
}

/* One statement for every field; only the columns asked for are read (a
 * column SQLite is not asked for is neither copied nor, when it lies in an
 * overflow page, read from disk). */
int sqlite_msg_fields(struct store *st, const struct mailbox_info *mbox, uint32_t uid, unsigned fields,
		      struct msg_detail *d)
{
	struct sqlite_store *s = S(st);
	/* The partition comes from the same read as the row: a session's
	 * mailbox_info may predate a partition move. */
	sqlite3_stmt *q = sqlite_prep(s, "SELECT m.size, m.internaldate, m.tz, m.sentdate, m.guid, m.envelope, "
			       "m.bodystructure, m.body, m.header, b.partition FROM messages m "
			       "JOIN mailboxes b ON b.id = m.mailbox WHERE m.mailbox = ? AND m.uid = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, mbox->id);
	sqlite3_bind_int64(q, 2, uid);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(q);
		return 0;
	}
	if (rc != SQLITE_ROW)
		return sqlite_db_fail(s, "message detail");
	memset(d, 0, sizeof(*d));
	d->uid = uid;
	d->size = (uint64_t)sqlite3_column_int64(q, 0);
	d->internaldate = (time_t)sqlite3_column_int64(q, 1);
	d->internaldate_tz = sqlite3_column_int(q, 2);
	d->sentdate = (time_t)sqlite3_column_int64(q, 3);
	if (fields & MSG_F_ENVELOPE)
		d->envelope = sqlite_col_dup(q, 5);
	if (fields & MSG_F_STRUCTURE) {
		d->bodystructure = sqlite_col_dup(q, 6);
		d->body = sqlite_col_dup(q, 7);
	}
	if (fields & MSG_F_HEADER) {
		d->header_len = (size_t)sqlite3_column_bytes(q, 8);
		const void *h = sqlite3_column_blob(q, 8);
		d->header = xmemdup(h != NULL ? h : "", d->header_len + 1);
		d->header[d->header_len] = '\0';
	}
	if (fields & MSG_F_PATH) {
		d->guid = sqlite_col_dup(q, 4);
		str_t path = STR_INIT;
		const char *part = (const char *)sqlite3_column_text(q, 9);
		sqlite_mailbox_dir(s, part != NULL && sqlite_partition_dir(s, part) != NULL ? part : mbox->partition,
				   mbox->uniqueid, &path);
		str_printf(&path, "/%s", d->guid);
		d->path = str_steal(&path);
	}
	sqlite3_reset(q);
	return 1;
}

int sqlite_msg_detail(struct store *st, const struct mailbox_info *mbox, uint32_t uid,
		      struct msg_detail *d)
{
	return sqlite_msg_fields(st, mbox, uid, MSG_F_ALL, d);
}

int sqlite_read_begin(struct store *st)
{
	struct sqlite_store *s = S(st);
	sqlite_reset_all(s);
	return sqlite_exec(s, "BEGIN");
}

void sqlite_read_end(struct store *st)
{
	struct sqlite_store *s = S(st);
	sqlite_reset_all(s);
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
}

static bool keyword_in(const char *list, const char *kw, size_t kwlen)
{
	if (list == NULL)
		return false;
	const char *p = list;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		const char *start = p;
		while (*p != '\0' && *p != ' ')
			p++;
		if ((size_t)(p - start) == kwlen && kwlen > 0 && strncasecmp(start, kw, kwlen) == 0)
			return true;
	}
	return false;
}

/* Applies op to a keyword list; returns the new list (malloc'd, NULL when
 * empty). */
static char *keywords_apply(const char *old, enum flag_op op, const char *kws)
{
	str_t out = STR_INIT;
	if (op != FLAG_SET && old != NULL) {
		const char *p = old;
		while (*p != '\0') {
			while (*p == ' ')
				p++;
			const char *start = p;
			while (*p != '\0' && *p != ' ')
				p++;
			size_t len = (size_t)(p - start);
			if (len == 0)
				continue;
			if (op == FLAG_REMOVE && keyword_in(kws, start, len))
				continue;
			if (out.len > 0)
				str_append_c(&out, ' ');
			str_append_n(&out, start, len);
		}
	}
	if (op != FLAG_REMOVE && kws != NULL) {
		const char *p = kws;
		while (*p != '\0') {
			while (*p == ' ')
				p++;
			const char *start = p;
			while (*p != '\0' && *p != ' ')
				p++;
			size_t len = (size_t)(p - start);
			if (len == 0 || keyword_in(str_c(&out), start, len))
				continue;
			if (out.len > 0)
				str_append_c(&out, ' ');
			str_append_n(&out, start, len);
		}
	}
	if (out.len == 0) {
		str_free(&out);
		return NULL;
	}
	return str_steal(&out);
}

int sqlite_msg_store_flags(struct store *st, const struct mailbox_info *mbox, const char *user,
			   const uint32_t *uids, size_t n, enum flag_op op, uint32_t flags,
			   const char *keywords, uint64_t unchangedsince,
			   struct msg_rec **recs_r, size_t *count_r,
			   uint32_t **failed_r, size_t *nfailed_r)
{
	struct sqlite_store *s = S(st);
	bool own = sqlite_seen_in_flags(mbox, user);
	struct msg_rec *recs = xcalloc(n ? n : 1, sizeof(*recs));
	uint32_t *failed = NULL;
	size_t nrec = 0, nfailed = 0;
	uint64_t modseq = 0;
	flags &= MSG_STORED_FLAGS;
	/* Flag changes are committed without waiting for the disk (the WAL
	 * still orders them; a later message commit makes them durable): a
	 * crash of the machine may lose the last flag changes, never a
	 * message. */
	sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	if (sqlite_tx_begin(s) < 0)
		goto fail_nolock;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *q;
		if (own) {
			q = sqlite_prep(s, "SELECT flags, keywords, modseq FROM messages WHERE mailbox = ?1 AND uid = ?2");
		} else {
			q = sqlite_prep(s, "SELECT (m.flags & ~8) | (CASE WHEN s.uid IS NULL THEN 0 ELSE 8 END), "
				 "m.keywords, m.modseq FROM messages m LEFT JOIN seen s ON s.mailbox = m.mailbox "
				 "AND s.uid = m.uid AND s.user = ?3 WHERE m.mailbox = ?1 AND m.uid = ?2");
		}
		if (q == NULL)
			goto fail;
		sqlite3_bind_int64(q, 1, mbox->id);
		sqlite3_bind_int64(q, 2, uids[i]);
		if (!own)
			sqlite3_bind_text(q, 3, user, -1, SQLITE_STATIC);
		int rc = sqlite3_step(q);
		if (rc == SQLITE_DONE)
			continue; /* expunged meanwhile */
		if (rc != SQLITE_ROW) {
			sqlite_db_fail(s, "store flags read");
			goto fail;
		}
		uint32_t oldf = (uint32_t)sqlite3_column_int(q, 0);
		char *oldk = sqlite_col_dup(q, 1);
		uint64_t oldmodseq = (uint64_t)sqlite3_column_int64(q, 2);
		sqlite3_reset(q);
		if (unchangedsince != 0 && oldmodseq > unchangedsince) {
			failed = xrealloc(failed, (nfailed + 1) * sizeof(*failed));
			failed[nfailed++] = uids[i];
			free(oldk);
			continue;
		}
		uint32_t newf = op == FLAG_SET ? flags : op == FLAG_ADD ? (oldf | flags) : (oldf & ~flags);
		char *newk = keywords_apply(oldk, op, keywords);
		bool kchanged = (oldk == NULL) != (newk == NULL) ||
			(oldk != NULL && strcmp(oldk, newk) != 0);
		free(oldk);
		if (newf == oldf && !kchanged) {
			/* Unchanged: RFC 7162 still reports it with its modseq. */
			recs[nrec].uid = uids[i];
			recs[nrec].flags = newf;
			recs[nrec].keywords = newk;
			recs[nrec].modseq = oldmodseq;
			nrec++;
			continue;
		}
		if (modseq == 0 && next_modseq(s, mbox->id, &modseq) < 0) {
			free(newk);
			goto fail;
		}
		if (!own && ((newf ^ oldf) & MSG_SEEN)) {
			if (insert_seen(s, mbox->id, user, uids[i], (newf & MSG_SEEN) != 0) < 0) {
				free(newk);
				goto fail;
			}
		}
		q = own ? sqlite_prep(s, "UPDATE messages SET flags = ?, keywords = ?, modseq = ? WHERE mailbox = ? AND uid = ?")
			: sqlite_prep(s, "UPDATE messages SET flags = (flags & 8) | (? & ~8), keywords = ?, modseq = ? "
			       "WHERE mailbox = ? AND uid = ?");
		if (q == NULL) {
			free(newk);
			goto fail;
		}
		sqlite3_bind_int(q, 1, (int)newf);
		sqlite3_bind_text(q, 2, newk, -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)modseq);
		sqlite3_bind_int64(q, 4, mbox->id);
		sqlite3_bind_int64(q, 5, uids[i]);
		if (sqlite_step_done(s, q, "store flags") < 0) {
			free(newk);
			goto fail;
		}
		recs[nrec].uid = uids[i];
		recs[nrec].flags = newf;
		recs[nrec].keywords = newk;
		recs[nrec].modseq = modseq;
		nrec++;
	}
	if (sqlite_tx_commit(s) < 0)
		goto fail;
	sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	if (modseq != 0) {
		str_t jl = STR_INIT;
		for (size_t i = 0; i < nrec; i++) {
			if (recs[i].modseq != modseq)
				continue;
			/* 'f': another reader's change; the row's \Seen is not theirs. */
			str_printf(&jl, "%c %u %llu %u%s%s\n", own ? 'F' : 'f', recs[i].uid,
				   (unsigned long long)modseq, recs[i].flags & (own ? MSG_STORED_FLAGS : ~(uint32_t)MSG_SEEN & MSG_STORED_FLAGS),
				   recs[i].keywords != NULL ? " " : "", recs[i].keywords != NULL ? recs[i].keywords : "");
		}
		sqlite_journal_write(s, mbox, &jl);
		str_free(&jl);
	}
	*recs_r = recs;
	*count_r = nrec;
	*failed_r = failed;
	*nfailed_r = nfailed;
	return 0;
fail:
	sqlite_tx_rollback(s);
fail_nolock:
	sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	msg_rec_free_array(recs, nrec);
	free(failed);
	return -1;
}

/* Removes rows (inside a transaction) and returns the files to unlink once
 * the transaction has committed. */
static int expunge_rows(struct sqlite_store *s, const struct mailbox_info *mbox,
			const uint32_t *uids, size_t n, str_t *files, str_t *jl)
{
	uint64_t modseq = 0;
	if (n == 0)
		return 0;
	if (next_modseq(s, mbox->id, &modseq) < 0)
		return -1;
	str_t dir = STR_INIT;
	int64_t freed_bytes = 0, freed_msgs = 0;
	if (sqlite_current_dir(s, mbox->id, mbox->uniqueid, &dir) < 0)
		goto fail;
	for (size_t i = 0; i < n; i++) {
		sqlite3_stmt *q = sqlite_prep(s, "DELETE FROM messages WHERE mailbox = ? AND uid = ? RETURNING guid, size");
		if (q == NULL)
			goto fail;
		sqlite3_bind_int64(q, 1, mbox->id);
		sqlite3_bind_int64(q, 2, uids[i]);
		int rc = sqlite3_step(q);
		if (rc == SQLITE_ROW) {
			freed_bytes += sqlite3_column_int64(q, 1);
			freed_msgs++;
			str_printf(files, "%s/%s", str_c(&dir), (const char *)sqlite3_column_text(q, 0));
			str_append_c(files, '\0');
			rc = sqlite3_step(q);
		}
		sqlite3_reset(q);
		if (rc != SQLITE_DONE) {
			sqlite_db_fail(s, "expunge");
			goto fail;
		}
		if (sqlite3_changes(s->db) == 0)
			continue;
		str_printf(jl, "X %u %llu\n", uids[i], (unsigned long long)modseq);
		q = sqlite_prep(s, "INSERT OR REPLACE INTO expunged(mailbox, uid, modseq) VALUES(?, ?, ?)");
		if (q == NULL)
			goto fail;
		sqlite3_bind_int64(q, 1, mbox->id);
		sqlite3_bind_int64(q, 2, uids[i]);
		sqlite3_bind_int64(q, 3, (sqlite3_int64)modseq);
		if (sqlite_step_done(s, q, "expunge record") < 0)
			goto fail;
		q = sqlite_prep(s, "DELETE FROM seen WHERE mailbox = ? AND uid = ?");
		if (q == NULL)
			goto fail;
		sqlite3_bind_int64(q, 1, mbox->id);
		sqlite3_bind_int64(q, 2, uids[i]);
		if (sqlite_step_done(s, q, "expunge seen") < 0)
			goto fail;
	}
	str_free(&dir);
	return freed_msgs > 0 ? sqlite_quota_charge(s, mbox->name, -freed_bytes, -freed_msgs, false) : 0;
fail:
	str_free(&dir);
	return -1;
}

static void unlink_files(const str_t *files)
{
	for (size_t at = 0; at < files->len;) {
		const char *p = files->data + at;
		if (unlink(p) < 0 && errno != ENOENT)
			log_warn("store: unlink %s: %s", p, strerror(errno));
		at += strlen(p) + 1;
	}
}

int sqlite_msg_expunge(struct store *st, const struct mailbox_info *mbox,
		       const uint32_t *uids, size_t n)
{
	struct sqlite_store *s = S(st);
	str_t files = STR_INIT, jl = STR_INIT;
	if (sqlite_tx_begin(s) < 0)
		return -1;
	if (expunge_rows(s, mbox, uids, n, &files, &jl) < 0 || sqlite_tx_commit(s) < 0) {
		sqlite_tx_rollback(s);
		str_free(&files);
		str_free(&jl);
		return -1;
	}
	sqlite_journal_write(s, mbox, &jl);
	str_free(&jl);
	unlink_files(&files);
	str_free(&files);
	return 0;
}

/* The file name (guid) of message `uid` of mailbox `mbox`: 1 with *guid_r
 * malloc'd; 0 when there is no such row (a failing step counts as none: the
 * callers take the message as expunged meanwhile); -1 when the statement
 * cannot be prepared (error set). */
static int msg_guid(struct sqlite_store *s, int64_t mbox, uint32_t uid, char **guid_r)
{
	sqlite3_stmt *q = sqlite_prep(s, "SELECT guid FROM messages WHERE mailbox = ? AND uid = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, mbox);
	sqlite3_bind_int64(q, 2, uid);
	*guid_r = sqlite3_step(q) == SQLITE_ROW ? sqlite_col_dup(q, 0) : NULL;
	sqlite3_reset(q);
	return *guid_r != NULL ? 1 : 0;
}

int sqlite_msg_copy(struct store *st, const struct mailbox_info *src, const struct mailbox_info *dst,
		    const char *user, const uint32_t *uids, size_t n, bool move, uint32_t **new_uids_r)
{
	struct sqlite_store *s = S(st);
	str_t srcdir = STR_INIT, dstdir = STR_INIT, made = STR_INIT, files = STR_INIT;
	str_t srcjl = STR_INIT, dstjl = STR_INIT;
	uint32_t *new_uids = xcalloc(n ? n : 1, sizeof(uint32_t));
	char **guids = xcalloc(n ? n : 1, sizeof(char *));
	bool own_src = sqlite_seen_in_flags(src, user), own_dst = sqlite_seen_in_flags(dst, user);
	int ret = -1;
	size_t i;

	/* The directories of the partitions the mailboxes are on now (the
	 * callers' mailbox_info may predate a partition move). */
	if (sqlite_current_dir(s, src->id, src->uniqueid, &srcdir) < 0 ||
	    sqlite_current_dir(s, dst->id, dst->uniqueid, &dstdir) < 0)
		goto out;
	if (sqlite_mkdir_p(str_c(&dstdir), 0750) < 0) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "mkdir %s: %s", str_c(&dstdir), strerror(errno));
		goto out;
	}
	/* Files first (hard links; a copy across partitions), then one
	 * transaction for every row. */
	for (i = 0; i < n; i++) {
		char *guid;
		int found = msg_guid(s, src->id, uids[i], &guid);
		if (found < 0)
			goto out;
		if (found == 0)
			continue;
		char newguid[33];
		sqlite_random_hex(newguid, 16);
		str_t from = STR_INIT, to = STR_INIT;
		str_printf(&from, "%s/%s", str_c(&srcdir), guid);
		str_printf(&to, "%s/%s", str_c(&dstdir), newguid);
		free(guid);
		int r = sqlite_place_file(str_c(&from), str_c(&to));
		if (r < 0 && errno == ENOENT && sqlite_current_dir(s, src->id, src->uniqueid, &srcdir) == 0) {
			/* The source finished moving to another partition. */
			str_clear(&from);
			r = -1;
			found = msg_guid(s, src->id, uids[i], &guid);
			if (found > 0) {
				str_printf(&from, "%s/%s", str_c(&srcdir), guid);
				free(guid);
				r = sqlite_place_file(str_c(&from), str_c(&to));
			} else if (found == 0) {
				errno = ENOENT;
			}
		}
		if (r < 0 && errno != ENOENT) {
			sqlite_fail(s, STORE_ERR_INTERNAL, "copy %s: %s", str_c(&from), strerror(errno));
			str_free(&from);
			str_free(&to);
			goto out;
		}
		/* ENOENT: a partition move removed a directory under us; the
		 * file is placed under the lock below. */
		if (r == 0) {
			str_append(&made, str_c(&to));
			str_append_c(&made, '\0');
		}
		guids[i] = xstrdup(newguid);
		str_free(&from);
		str_free(&to);
	}
	if (sqlite_fsync_dir(str_c(&dstdir)) < 0 && errno != ENOENT) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "fsync %s: %s", str_c(&dstdir), strerror(errno));
		goto out;
	}
	if (sqlite_tx_begin(s) < 0)
		goto out;
	/* Under the lock: every file is where the target is now. A partition
	 * move may have switched it (or moved it away and back, removing the
	 * old directory with what was in it) since the files were placed; they
	 * are placed again from the source, where it is now. */
	str_t now = STR_INIT, srcnow = STR_INIT, placed = STR_INIT;
	if (sqlite_current_dir(s, dst->id, dst->uniqueid, &now) < 0 ||
	    sqlite_current_dir(s, src->id, src->uniqueid, &srcnow) < 0) {
		str_free(&now);
		str_free(&srcnow);
		goto fail_tx;
	}
	bool relocated = strcmp(str_c(&now), str_c(&dstdir)) != 0;
	int pr = sqlite_mkdir_p(str_c(&now), 0750);
	for (i = 0; pr == 0 && i < n; i++) {
		if (guids[i] == NULL)
			continue;
		str_t from = STR_INIT, to = STR_INIT;
		str_printf(&to, "%s/%s", str_c(&now), guids[i]);
		if (access(str_c(&to), F_OK) < 0) {
			char *guid;
			int found = msg_guid(s, src->id, uids[i], &guid);
			if (found < 0) {
				str_free(&to);
				pr = -1;
				break;
			}
			/* not found: expunged meanwhile, the row copies nothing */
			if (found > 0) {
				str_printf(&from, "%s/%s", str_c(&srcnow), guid);
				free(guid);
				pr = sqlite_place_file(str_c(&from), str_c(&to));
				if (pr == 0) {
					str_append(&placed, str_c(&to));
					str_append_c(&placed, '\0');
				}
			}
		}
		str_free(&from);
		str_free(&to);
	}
	if (pr == 0 && (relocated || placed.len > 0))
		pr = sqlite_fsync_dir(str_c(&now));
	if (relocated) {
		/* The early copies in the directory the target has left go
		 * now, before the rows exist: after the commit those names may
		 * be real again (a move back links the committed messages there
		 * under the lock). */
		unlink_files(&made);
		str_free(&made);
		made = placed;
		rmdir(str_c(&dstdir)); /* when empty: a directory only this made again */
	} else {
		str_append_n(&made, placed.data != NULL ? placed.data : "", placed.len);
		str_free(&placed);
	}
	str_free(&srcnow);
	if (pr < 0) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "copy to %s: %s", str_c(&now), strerror(errno));
		str_free(&now);
		goto fail_tx;
	}
	/* from here on, where the target is */
	str_clear(&dstdir);
	str_append(&dstdir, str_c(&now));
	str_free(&now);
	uint64_t modseq = 0;
	int64_t copied_bytes = 0, copied_msgs = 0;
	if (next_modseq(s, dst->id, &modseq) < 0)
		goto fail_tx;
	for (i = 0; i < n; i++) {
		if (guids[i] == NULL)
			continue;
		if (next_uid(s, dst->id, &new_uids[i]) < 0)
			goto fail_tx;
		sqlite3_stmt *q;
		if (own_src) {
			q = sqlite_prep(s, "INSERT INTO messages(mailbox, uid, guid, size, internaldate, tz, sentdate, "
				 "flags, keywords, modseq, envelope, bodystructure, body, header) SELECT ?1, ?2, ?3, size, "
				 "internaldate, tz, sentdate, flags, keywords, ?4, envelope, bodystructure, body, header "
				 "FROM messages WHERE mailbox = ?5 AND uid = ?6 RETURNING flags, size, internaldate, tz, keywords");
		} else {
			q = sqlite_prep(s, "INSERT INTO messages(mailbox, uid, guid, size, internaldate, tz, sentdate, "
				 "flags, keywords, modseq, envelope, bodystructure, body, header) SELECT ?1, ?2, ?3, size, "
				 "internaldate, tz, sentdate, (flags & ~8) | (CASE WHEN EXISTS(SELECT 1 FROM seen "
				 "WHERE mailbox = ?5 AND uid = ?6 AND user = ?7) THEN 8 ELSE 0 END), keywords, ?4, "
				 "envelope, bodystructure, body, header FROM messages WHERE mailbox = ?5 AND uid = ?6 "
				 "RETURNING flags, size, internaldate, tz, keywords");
		}
		if (q == NULL)
			goto fail_tx;
		sqlite3_bind_int64(q, 1, dst->id);
		sqlite3_bind_int64(q, 2, new_uids[i]);
		sqlite3_bind_text(q, 3, guids[i], -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 4, (sqlite3_int64)modseq);
		sqlite3_bind_int64(q, 5, src->id);
		sqlite3_bind_int64(q, 6, uids[i]);
		if (!own_src)
			sqlite3_bind_text(q, 7, user, -1, SQLITE_STATIC);
		int rc = sqlite3_step(q);
		uint32_t f = rc == SQLITE_ROW ? (uint32_t)sqlite3_column_int(q, 0) : 0;
		if (rc == SQLITE_ROW) {
			copied_bytes += sqlite3_column_int64(q, 1);
			copied_msgs++;
			sqlite_journal_add(&dstjl, new_uids[i], guids[i], modseq, (uint64_t)sqlite3_column_int64(q, 1),
					   (time_t)sqlite3_column_int64(q, 2), sqlite3_column_int(q, 3),
					   own_dst ? f : f & ~(uint32_t)MSG_SEEN,
					   (const char *)sqlite3_column_text(q, 4));
		}
		bool had_row = rc == SQLITE_ROW;
		if (rc == SQLITE_ROW)
			rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE) {
			sqlite_db_fail(s, "copy");
			goto fail_tx;
		}
		if (!had_row) {
			/* Expunged after its file was linked: the link goes
			 * now, under the lock, as no row will name it. */
			str_t link_path = STR_INIT;
			str_printf(&link_path, "%s/%s", str_c(&dstdir), guids[i]);
			unlink(str_c(&link_path));
			str_free(&link_path);
			new_uids[i] = 0;
			continue;
		}
		q = sqlite_prep(s, "INSERT OR REPLACE INTO message_search(mailbox, uid, fields) SELECT ?1, ?2, fields "
				"FROM message_search WHERE mailbox = ?3 AND uid = ?4");
		if (q == NULL)
			goto fail_tx;
		sqlite3_bind_int64(q, 1, dst->id);
		sqlite3_bind_int64(q, 2, new_uids[i]);
		sqlite3_bind_int64(q, 3, src->id);
		sqlite3_bind_int64(q, 4, uids[i]);
		if (sqlite_step_done(s, q, "copy search fields") < 0)
			goto fail_tx;
		if (!own_dst && (f & MSG_SEEN)) {
			/* The copier's \Seen is theirs alone in the target. */
			q = sqlite_prep(s, "UPDATE messages SET flags = flags & ~8 WHERE mailbox = ? AND uid = ?");
			if (q == NULL)
				goto fail_tx;
			sqlite3_bind_int64(q, 1, dst->id);
			sqlite3_bind_int64(q, 2, new_uids[i]);
			if (sqlite_step_done(s, q, "copy seen") < 0 ||
			    insert_seen(s, dst->id, user, new_uids[i], true) < 0)
				goto fail_tx;
		}
	}
	/* A move gives back the source's usage first, so a move inside one
	 * quota root costs nothing: it adds nothing to the root, so it is
	 * allowed even when the root is over a limit lowered below its usage. */
	int same_root = move ? sqlite_quota_same_root(s, src->name, dst->name) : 0;
	if (same_root < 0)
		goto fail_tx;
	if (move && expunge_rows(s, src, uids, n, &files, &srcjl) < 0)
		goto fail_tx;
	if (sqlite_quota_charge(s, dst->name, copied_bytes, copied_msgs, !same_root) < 0)
		goto fail_tx;
	if (sqlite_tx_commit(s) < 0)
		goto fail_tx;
	sqlite_journal_write(s, dst, &dstjl);
	sqlite_journal_write(s, src, &srcjl);
	unlink_files(&files);
	*new_uids_r = new_uids;
	new_uids = NULL;
	ret = 0;
	goto out;
fail_tx:
	sqlite_tx_rollback(s);
out:
	if (ret < 0) {
		unlink_files(&made);
	}
	for (i = 0; i < n; i++)
		free(guids[i]);
	free(guids);
	free(new_uids);
	str_free(&srcdir);
	str_free(&dstdir);
	str_free(&made);
	str_free(&files);
	str_free(&srcjl);
	str_free(&dstjl);
	return ret;
}
