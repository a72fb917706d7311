/* Quota roots of the SQLite backend.
 *
 * Invariant: for every root, storage_used and message_used equal the sum
 * of the sizes and the count of the messages in the mailboxes it covers
 * (the root's mailbox and those below it, minus those below a deeper root).
 * Every transaction that adds or removes messages charges the root in the
 * same transaction (sqlite_quota_charge), so usage never drifts; a change
 * that moves mailboxes between roots recomputes the roots concerned. */
#include "lib-storage/store-sqlite-private.h"
#include "lib/xalloc.h"

#include <stdlib.h>
#include <string.h>

/* Nearest root covering `name`: 1 found (root_r), 0 none, -1 error. */
static int root_of(struct sqlite_store *s, const char *name, str_t *root_r)
{
	str_t cand = STR_INIT;
	str_append(&cand, name);
	int ret = 0;
	for (;;) {
		sqlite3_stmt *q = sqlite_prep(s, "SELECT 1 FROM quota_roots WHERE root = ?");
		if (q == NULL) {
			ret = -1;
			break;
		}
		sqlite3_bind_text(q, 1, str_c(&cand), -1, SQLITE_STATIC);
		int rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc == SQLITE_ROW) {
			str_clear(root_r);
			str_append(root_r, str_c(&cand));
			ret = 1;
			break;
		}
		if (rc != SQLITE_DONE) {
			ret = sqlite_db_fail(s, "quota root");
			break;
		}
		char *dot = strrchr(cand.data, '.');
		if (dot == NULL)
			break;
		str_truncate(&cand, (size_t)(dot - cand.data));
	}
	str_free(&cand);
	return ret;
}

int sqlite_quota_same_root(struct sqlite_store *s, const char *a, const char *b)
{
	str_t ra = STR_INIT, rb = STR_INIT;
	int r1 = root_of(s, a, &ra), r2 = r1 < 0 ? -1 : root_of(s, b, &rb);
	int ret = r1 < 0 || r2 < 0 ? -1 : r1 == r2 && (r1 == 0 || strcmp(str_c(&ra), str_c(&rb)) == 0);
	str_free(&ra);
	str_free(&rb);
	return ret;
}

int sqlite_quota_charge(struct sqlite_store *s, const char *mailbox, int64_t bytes, int64_t messages,
			bool check)
{
	str_t root = STR_INIT;
	int r = root_of(s, mailbox, &root);
	if (r <= 0) {
		str_free(&root);
		return r;
	}
	if (check && (bytes > 0 || messages > 0)) {
		sqlite3_stmt *q = sqlite_prep(s, "SELECT storage_limit, message_limit, storage_used, message_used "
					      "FROM quota_roots WHERE root = ?");
		if (q == NULL) {
			str_free(&root);
			return -1;
		}
		sqlite3_bind_text(q, 1, str_c(&root), -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW) {
			bool over = false;
			if (sqlite3_column_type(q, 0) != SQLITE_NULL && bytes > 0 &&
			    sqlite3_column_int64(q, 2) + bytes > sqlite3_column_int64(q, 0) * 1024)
				over = true;
			if (sqlite3_column_type(q, 1) != SQLITE_NULL && messages > 0 &&
			    sqlite3_column_int64(q, 3) + messages > sqlite3_column_int64(q, 1))
				over = true;
			sqlite3_reset(q);
			if (over) {
				sqlite_fail(s, STORE_ERR_OVERQUOTA, "quota of %s exceeded", str_c(&root));
				str_free(&root);
				return -1;
			}
		}
		sqlite3_reset(q);
	}
	sqlite3_stmt *q = sqlite_prep(s, "UPDATE quota_roots SET storage_used = max(0, storage_used + ?), "
				      "message_used = max(0, message_used + ?) WHERE root = ?");
	if (q == NULL) {
		str_free(&root);
		return -1;
	}
	sqlite3_bind_int64(q, 1, bytes);
	sqlite3_bind_int64(q, 2, messages);
	sqlite3_bind_text(q, 3, str_c(&root), -1, SQLITE_STATIC);
	int ret = sqlite_step_done(s, q, "quota charge");
	str_free(&root);
	return ret;
}

/* The usage a root should have, from the messages. */
static int compute(struct sqlite_store *s, const char *root, uint64_t *bytes_r, uint64_t *msgs_r)
{
	/* Mailboxes under the root, except those under a deeper root. */
	sqlite3_stmt *q = sqlite_prep(s,
		"SELECT coalesce(sum(m.size), 0), count(m.uid) FROM mailboxes b JOIN messages m ON m.mailbox = b.id "
		"WHERE (b.name = ?1 OR (b.name > ?1 || '.' AND b.name < ?1 || '/')) AND NOT EXISTS "
		"(SELECT 1 FROM quota_roots r WHERE r.root != ?1 AND (r.root > ?1 || '.' AND r.root < ?1 || '/') "
		" AND (b.name = r.root OR (b.name > r.root || '.' AND b.name < r.root || '/')))");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, root, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW)
		return sqlite_db_fail(s, "quota compute");
	*bytes_r = (uint64_t)sqlite3_column_int64(q, 0);
	*msgs_r = (uint64_t)sqlite3_column_int64(q, 1);
	sqlite3_reset(q);
	return 0;
}

static int store_usage(struct sqlite_store *s, const char *root, uint64_t bytes, uint64_t msgs)
{
	sqlite3_stmt *q = sqlite_prep(s, "UPDATE quota_roots SET storage_used = ?, message_used = ? WHERE root = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, (sqlite3_int64)bytes);
	sqlite3_bind_int64(q, 2, (sqlite3_int64)msgs);
	sqlite3_bind_text(q, 3, root, -1, SQLITE_STATIC);
	return sqlite_step_done(s, q, "quota usage");
}

static int recompute(struct sqlite_store *s, const char *root)
{
	uint64_t b = 0, m = 0;
	if (compute(s, root, &b, &m) < 0)
		return -1;
	return store_usage(s, root, b, m);
}

int sqlite_quota_refresh_under(struct sqlite_store *s, const char *name)
{
	/* The root covering `name` from above, and every root inside it. */
	str_t root = STR_INIT;
	int r = root_of(s, name, &root);
	if (r < 0 || (r == 1 && recompute(s, str_c(&root)) < 0)) {
		str_free(&root);
		return -1;
	}
	str_free(&root);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT root FROM quota_roots WHERE root > ?1 || '.' AND root < ?1 || '/'");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	str_t roots = STR_INIT;
	while (sqlite3_step(q) == SQLITE_ROW) {
		str_append(&roots, (const char *)sqlite3_column_text(q, 0));
		str_append_c(&roots, '\0');
	}
	sqlite3_reset(q);
	int ret = 0;
	for (size_t at = 0; at < roots.len && ret == 0; at += strlen(roots.data + at) + 1)
		ret = recompute(s, roots.data + at);
	str_free(&roots);
	return ret;
}

int sqlite_quota_rename(struct sqlite_store *s, const char *oldname, const char *newname)
{
	sqlite3_stmt *q = sqlite_prep(s, "UPDATE quota_roots SET root = ?2 || substr(root, length(?1) + 1) "
				      "WHERE root = ?1 OR (root > ?1 || '.' AND root < ?1 || '/')");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, oldname, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, newname, -1, SQLITE_STATIC);
	return sqlite_step_done(s, q, "quota rename");
}

int sqlite_quota_snapshot(struct sqlite_store *s, struct quota_snap **snap_r, size_t *n_r)
{
	*snap_r = NULL;
	*n_r = 0;
	sqlite3_stmt *q = sqlite_prep(s, "SELECT root, storage_used, message_used FROM quota_roots");
	if (q == NULL)
		return -1;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		*snap_r = xrealloc(*snap_r, (*n_r + 1) * sizeof(**snap_r));
		struct quota_snap *e = &(*snap_r)[(*n_r)++];
		e->root = xstrdup((const char *)sqlite3_column_text(q, 0));
		e->bytes = sqlite3_column_int64(q, 1);
		e->msgs = sqlite3_column_int64(q, 2);
	}
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "quota snapshot");
}

void sqlite_quota_snapshot_free(struct quota_snap *snap, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(snap[i].root);
	free(snap);
}

static const struct quota_snap *snap_find(const struct quota_snap *snap, size_t n, const char *root)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(snap[i].root, root) == 0)
			return &snap[i];
	return NULL;
}

int sqlite_quota_check_growth(struct sqlite_store *s, const struct quota_snap *snap, size_t n,
			      const char *oldname, const char *newname)
{
	sqlite3_stmt *q = sqlite_prep(s, "SELECT root, storage_limit, message_limit, storage_used, message_used "
				      "FROM quota_roots");
	if (q == NULL)
		return -1;
	size_t newlen = strlen(newname);
	str_t before = STR_INIT, over = STR_INIT;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *root = (const char *)sqlite3_column_text(q, 0);
		const struct quota_snap *b = NULL;
		if (strncmp(root, newname, newlen) == 0 && (root[newlen] == '\0' || root[newlen] == '.')) {
			str_clear(&before);
			str_append(&before, oldname);
			str_append(&before, root + newlen);
			b = snap_find(snap, n, str_c(&before));
		}
		if (b == NULL)
			b = snap_find(snap, n, root);
		if (b == NULL)
			continue;
		int64_t bytes = sqlite3_column_int64(q, 3), msgs = sqlite3_column_int64(q, 4);
		if ((sqlite3_column_type(q, 1) != SQLITE_NULL && bytes > b->bytes &&
		     bytes > sqlite3_column_int64(q, 1) * 1024) ||
		    (sqlite3_column_type(q, 2) != SQLITE_NULL && msgs > b->msgs && msgs > sqlite3_column_int64(q, 2))) {
			str_append(&over, root);
			break;
		}
	}
	sqlite3_reset(q);
	int ret = 0;
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = sqlite_db_fail(s, "quota check");
	else if (over.len > 0)
		ret = sqlite_fail(s, STORE_ERR_OVERQUOTA, "quota of %s exceeded", str_c(&over));
	str_free(&before);
	str_free(&over);
	return ret;
}

static void read_row(sqlite3_stmt *q, struct quota_info *qi)
{
	memset(qi, 0, sizeof(*qi));
	qi->root = xstrdup((const char *)sqlite3_column_text(q, 0));
	qi->storage_limit = sqlite3_column_type(q, 1) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 1);
	qi->message_limit = sqlite3_column_type(q, 2) == SQLITE_NULL ? -1 : sqlite3_column_int64(q, 2);
	qi->storage_used = (uint64_t)sqlite3_column_int64(q, 3);
	qi->message_used = (uint64_t)sqlite3_column_int64(q, 4);
}

int sqlite_quota_get(struct store *st, const char *root, struct quota_info *qi)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT root, storage_limit, message_limit, storage_used, message_used "
				      "FROM quota_roots WHERE root = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, root, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return sqlite_db_fail(s, "quota get");
	read_row(q, qi);
	sqlite3_reset(q);
	return 1;
}

static int tx(struct sqlite_store *s, const char *sql)
{
	if (sqlite3_exec(s->db, sql, NULL, NULL, NULL) != SQLITE_OK)
		return sqlite_db_fail(s, sql);
	return 0;
}

int sqlite_quota_set(struct store *st, const char *root, int64_t storage_limit, int64_t message_limit)
{
	struct sqlite_store *s = S(st);
	for (unsigned i = 0; i < STMT_CACHE && s->cache[i].sql != NULL; i++)
		sqlite3_reset(s->cache[i].stmt);
	if (tx(s, "BEGIN IMMEDIATE") < 0)
		return -1;
	sqlite3_stmt *q;
	int ret = -1;
	if (storage_limit < 0 && message_limit < 0) {
		q = sqlite_prep(s, "DELETE FROM quota_roots WHERE root = ?");
		if (q == NULL)
			goto out;
		sqlite3_bind_text(q, 1, root, -1, SQLITE_STATIC);
		if (sqlite_step_done(s, q, "quota delete") < 0)
			goto out;
		if (sqlite3_changes(s->db) == 0) {
			sqlite_fail(s, STORE_ERR_NOTFOUND, "no quota root %s", root);
			goto out;
		}
	} else {
		q = sqlite_prep(s, "INSERT INTO quota_roots(root, storage_limit, message_limit) VALUES(?1, ?2, ?3) "
				"ON CONFLICT(root) DO UPDATE SET storage_limit = ?2, message_limit = ?3");
		if (q == NULL)
			goto out;
		sqlite3_bind_text(q, 1, root, -1, SQLITE_STATIC);
		if (storage_limit >= 0)
			sqlite3_bind_int64(q, 2, storage_limit);
		if (message_limit >= 0)
			sqlite3_bind_int64(q, 3, message_limit);
		if (sqlite_step_done(s, q, "quota set") < 0)
			goto out;
	}
	/* The new (or vanished) root takes usage from (or gives it back to)
	 * the root above it. */
	if (sqlite_quota_refresh_under(s, root) < 0)
		goto out;
	char *dot = strrchr(root, '.');
	if (dot != NULL) {
		char *parent = xstrndup(root, (size_t)(dot - root));
		int r = sqlite_quota_refresh_under(s, parent);
		free(parent);
		if (r < 0)
			goto out;
	}
	ret = tx(s, "COMMIT");
	/* The limits are kept in the mailbox's meta file too. */
	if (ret == 0)
		sqlite_meta_refresh_name(s, root);
out:
	if (ret < 0 && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

int sqlite_quota_root_of(struct store *st, const char *mailbox, str_t *root_r)
{
	return root_of(S(st), mailbox, root_r);
}

int sqlite_quota_list(struct store *st, void (*cb)(const struct quota_info *, void *), void *ctx)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT root, storage_limit, message_limit, storage_used, message_used "
				      "FROM quota_roots ORDER BY root");
	if (q == NULL)
		return -1;
	struct quota_info *all = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		all = xrealloc(all, (n + 1) * sizeof(*all));
		read_row(q, &all[n++]);
	}
	sqlite3_reset(q);
	for (size_t i = 0; i < n; i++) {
		if (rc == SQLITE_DONE)
			cb(&all[i], ctx);
		quota_info_free(&all[i]);
	}
	free(all);
	return rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "quota list");
}

int sqlite_quota_verify(struct store *st, const char *root, bool fix, struct quota_info *stored,
			   struct quota_info *computed)
{
	struct sqlite_store *s = S(st);
	for (unsigned i = 0; i < STMT_CACHE && s->cache[i].sql != NULL; i++)
		sqlite3_reset(s->cache[i].stmt);
	if (tx(s, fix ? "BEGIN IMMEDIATE" : "BEGIN") < 0)
		return -1;
	int ret = -1;
	int r = sqlite_quota_get(st, root, stored);
	if (r <= 0) {
		if (r == 0)
			sqlite_fail(s, STORE_ERR_NOTFOUND, "no quota root %s", root);
		goto out;
	}
	*computed = *stored;
	computed->root = xstrdup(stored->root);
	if (compute(s, root, &computed->storage_used, &computed->message_used) < 0)
		goto out;
	if (fix && (computed->storage_used != stored->storage_used ||
		    computed->message_used != stored->message_used) &&
	    store_usage(s, root, computed->storage_used, computed->message_used) < 0)
		goto out;
	ret = tx(s, "COMMIT");
out:
	if (ret < 0 && !sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	return ret;
}

