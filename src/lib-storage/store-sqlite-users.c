/* The SQLite backend: user accounts, groups, subscriptions, and renaming
 * or purging a user with everything that names them. */

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

/* ---------------------------------------------------------------- users */

int sqlite_user_add(struct store *st, const char *name, const char *secret_id)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "INSERT INTO users(name, secret_id, created) VALUES(?, ?, ?)");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, secret_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)time(NULL));
	if (sqlite3_step(q) != SQLITE_DONE) {
		if (sqlite3_errcode(s->db) == SQLITE_CONSTRAINT)
			return sqlite_fail(s, STORE_ERR_EXISTS, "user %s already exists", name);
		return sqlite_db_fail(s, "user add");
	}
	return 0;
}

int sqlite_user_del(struct store *st, const char *name)
{
	struct sqlite_store *s = S(st);
	if (sqlite_tx_begin(s) < 0)
		return -1;
	sqlite3_stmt *q = sqlite_prep(s, "DELETE FROM users WHERE name = ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if (sqlite_step_done(s, q, "user del") < 0)
		goto fail;
	if (sqlite3_changes(s->db) == 0) {
		sqlite_fail(s, STORE_ERR_NOTFOUND, "no user %s", name);
		goto fail;
	}
	q = sqlite_prep(s, "DELETE FROM group_members WHERE member = ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if (sqlite_step_done(s, q, "user del groups") < 0)
		goto fail;
	q = sqlite_prep(s, "DELETE FROM subscriptions WHERE user = ?");
	if (q == NULL)
		goto fail;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if (sqlite_step_done(s, q, "user del subscriptions") < 0)
		goto fail;
	return sqlite_tx_commit(s);
fail:
	sqlite_tx_rollback(s);
	return -1;
}

int sqlite_user_get(struct store *st, const char *name, str_t *secret_id)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT secret_id FROM users WHERE name = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	if (rc == SQLITE_DONE)
		return 0;
	if (rc != SQLITE_ROW)
		return sqlite_db_fail(s, "user get");
	if (secret_id != NULL) {
		str_clear(secret_id);
		str_append(secret_id, (const char *)sqlite3_column_text(q, 0));
	}
	sqlite3_reset(q);
	return 1;
}

int sqlite_user_list(struct store *st, void (*cb)(const char *, void *), void *ctx)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT name FROM users ORDER BY name");
	if (q == NULL)
		return -1;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		cb((const char *)sqlite3_column_text(q, 0), ctx);
	return rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "user list");
}

int sqlite_group_add(struct store *st, const char *name, const char *const *members)
{
	struct sqlite_store *s = S(st);
	if (sqlite_tx_begin(s) < 0)
		return -1;
	sqlite3_stmt *q = sqlite_prep(s, "INSERT OR IGNORE INTO groups(name) VALUES(?)");
	if (q == NULL)
		goto fail;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if (sqlite_step_done(s, q, "group add") < 0)
		goto fail;
	for (; members != NULL && *members != NULL; members++) {
		q = sqlite_prep(s, "INSERT OR IGNORE INTO group_members(grp, member) VALUES(?, ?)");
		if (q == NULL)
			goto fail;
		sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, *members, -1, SQLITE_STATIC);
		if (sqlite_step_done(s, q, "group member add") < 0)
			goto fail;
	}
	return sqlite_tx_commit(s);
fail:
	sqlite_tx_rollback(s);
	return -1;
}

int sqlite_group_del(struct store *st, const char *name)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "DELETE FROM groups WHERE name = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	if (sqlite_step_done(s, q, "group del") < 0)
		return -1;
	if (sqlite3_changes(s->db) == 0)
		return sqlite_fail(s, STORE_ERR_NOTFOUND, "no group %s", name);
	return 0;
}

int sqlite_group_list(struct store *st, void (*cb)(const char *, const char *, void *), void *ctx)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT g.name, (SELECT group_concat(member, ' ') FROM "
			       "(SELECT member FROM group_members m WHERE m.grp = g.name ORDER BY member)) "
			       "FROM groups g ORDER BY g.name");
	if (q == NULL)
		return -1;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *m = (const char *)sqlite3_column_text(q, 1);
		cb((const char *)sqlite3_column_text(q, 0), m != NULL ? m : "", ctx);
	}
	return rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "group list");
}

int sqlite_user_groups(struct store *st, const char *user, char ***groups_r)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT grp FROM group_members WHERE member = ? ORDER BY grp");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, user, -1, SQLITE_STATIC);
	size_t n = 0;
	char **v = xcalloc(1, sizeof(char *));
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 2) * sizeof(char *));
		v[n++] = sqlite_col_dup(q, 0);
		v[n] = NULL;
	}
	*groups_r = v;
	return rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "user groups");
}

/* ---------------------------------------------------------------- subscriptions */

int sqlite_subscribe(struct store *st, const char *user, const char *name, bool on)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = on ? sqlite_prep(s, "INSERT OR IGNORE INTO subscriptions(user, name) VALUES(?, ?)")
			     : sqlite_prep(s, "DELETE FROM subscriptions WHERE user = ? AND name = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, user, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, name, -1, SQLITE_STATIC);
	if (sqlite_step_done(s, q, "subscribe") < 0)
		return -1;
	if (!on && sqlite3_changes(s->db) == 0)
		return sqlite_fail(s, STORE_ERR_NOTFOUND, "not subscribed to %s", name);
	return 0;
}

int sqlite_subscriptions(struct store *st, const char *user, void (*cb)(const char *, void *), void *ctx)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT name FROM subscriptions WHERE user = ? ORDER BY name");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, user, -1, SQLITE_STATIC);
	char **names = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		names = xrealloc(names, (n + 1) * sizeof(*names));
		names[n++] = sqlite_col_dup(q, 0);
	}
	sqlite3_reset(q);
	for (size_t i = 0; i < n; i++) {
		if (rc == SQLITE_DONE)
			cb(names[i], ctx);
		free(names[i]);
	}
	free(names);
	return rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "subscriptions");
}

/* ---------------------------------------------------------------- renaming and purging users */

/* The ACL text with the entries of `old` (and `-old`) renamed to `new`
 * (rights merged with an entry `new` already had), or removed when new is
 * NULL. Returns how many entries named `old`. */
static unsigned acl_rename_ident(const char *acl, const char *old, const char *new, str_t *out)
{
	str_t id = STR_INIT, cur = STR_INIT, tmp = STR_INIT, target = STR_INIT;
	size_t at = 0;
	acl_rights_t r;
	unsigned changed = 0;
	while (acl_next_entry(acl, &at, &id, &r)) {
		const char *i = str_c(&id);
		bool neg = i[0] == '-';
		str_clear(&target);
		if (strcmp(i + (neg ? 1 : 0), old) == 0) {
			changed++;
			if (new == NULL)
				continue;
			str_printf(&target, "%s%s", neg ? "-" : "", new);
		} else {
			str_append(&target, i);
		}
		bool found;
		acl_rights_t had = acl_entry_get(str_c(&cur), str_c(&target), &found);
		str_clear(&tmp);
		acl_entry_set(str_c(&cur), str_c(&target), r | had, false, &tmp);
		str_clear(&cur);
		str_append(&cur, str_c(&tmp));
	}
	str_clear(out);
	str_append(out, str_c(&cur));
	str_free(&id);
	str_free(&cur);
	str_free(&tmp);
	str_free(&target);
	return changed;
}

/* Rewrites every ACL entry naming `old` (inside a transaction), with the
 * sharing index. */
static int acls_rename_ident(struct sqlite_store *s, const char *old, const char *new,
			     unsigned *entries_r, unsigned *mailboxes_r)
{
	sqlite3_stmt *q = sqlite_prep(s, "SELECT id, acl FROM mailboxes WHERE instr(acl, ?) > 0");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, old, -1, SQLITE_STATIC);
	int64_t *ids;
	char **acls;
	size_t n;
	int ret = sqlite_collect_id_text(q, &ids, &acls, &n) == SQLITE_DONE ? 0 : sqlite_db_fail(s, "acl list");
	str_t acl = STR_INIT;
	for (size_t i = 0; i < n && ret == 0; i++) {
		unsigned c = acl_rename_ident(acls[i], old, new, &acl);
		if (c == 0)
			continue;
		*entries_r += c;
		(*mailboxes_r)++;
		q = sqlite_prep(s, "UPDATE mailboxes SET acl = ? WHERE id = ?");
		if (q == NULL) {
			ret = -1;
			break;
		}
		sqlite3_bind_text(q, 1, str_c(&acl), -1, SQLITE_TRANSIENT);
		sqlite3_bind_int64(q, 2, ids[i]);
		if (sqlite_step_done(s, q, "acl rewrite") < 0 || sqlite_shares_write(s, ids[i], str_c(&acl)) < 0)
			ret = -1;
	}
	str_free(&acl);
	free(ids);
	sqlite_strv_free_n(acls, n);
	return ret;
}

/* Runs `sql` with ?1 = a and ?2 = b (b may be NULL); the changed row count
 * is added to *changes_r when not NULL. */
static int run2(struct sqlite_store *s, const char *sql, const char *a, const char *b, unsigned *changes_r)
{
	sqlite3_stmt *q = sqlite_prep(s, sql);
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, a, -1, SQLITE_STATIC);
	if (b != NULL)
		sqlite3_bind_text(q, 2, b, -1, SQLITE_STATIC);
	if (sqlite_step_done(s, q, sql) < 0)
		return -1;
	if (changes_r != NULL)
		*changes_r += (unsigned)sqlite3_changes(s->db);
	return 0;
}

/* 1 when the users table has `name`, 0 not, -1 error. */
static int has_account(struct sqlite_store *s, const char *name)
{
	return sqlite_row_exists(s, "SELECT 1 FROM users WHERE name = ?", name, "user get");
}

/* Mailboxes named `top` or below it. */
static int count_tree(struct sqlite_store *s, const char *top, int64_t *n_r)
{
	sqlite3_stmt *q = sqlite_prep(s, "SELECT count(*) FROM mailboxes WHERE name = ?1 OR "
			       "(name > ?1 || '.' AND name < ?1 || '/')");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, top, -1, SQLITE_STATIC);
	if (sqlite3_step(q) != SQLITE_ROW)
		return sqlite_db_fail(s, "count mailboxes");
	*n_r = sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return 0;
}

int sqlite_user_rename(struct store *st, const char *oldname, const char *newname)
{
	struct sqlite_store *s = S(st);
	str_t oldtop = STR_INIT, newtop = STR_INIT;
	str_printf(&oldtop, "user.%s", oldname);
	str_printf(&newtop, "user.%s", newname);
	unsigned entries = 0, mailboxes = 0;
	int ret = -1;
	if (sqlite_tx_begin(s) < 0)
		goto out;
	int old_has = has_account(s, oldname), new_has = has_account(s, newname);
	int64_t nmbox = 0;
	if (old_has < 0 || new_has < 0 || count_tree(s, str_c(&oldtop), &nmbox) < 0)
		goto out;
	if (old_has && new_has) {
		sqlite_fail(s, STORE_ERR_EXISTS, "user %s already has an account", newname);
		goto out;
	}
	if (!old_has && nmbox == 0) {
		sqlite_fail(s, STORE_ERR_NOTFOUND, "no user %s", oldname);
		goto out;
	}
	if (nmbox > 0 && sqlite_rename_tx(s, str_c(&oldtop), str_c(&newtop)) < 0)
		goto out;
	if ((old_has && run2(s, "UPDATE users SET name = ?2 WHERE name = ?1", oldname, newname, NULL) < 0) ||
	    run2(s, "UPDATE OR REPLACE subscriptions SET user = ?2 WHERE user = ?1", oldname, newname, NULL) < 0 ||
	    run2(s, "UPDATE OR REPLACE seen SET user = ?2 WHERE user = ?1", oldname, newname, NULL) < 0 ||
	    run2(s, "UPDATE OR REPLACE metadata SET user = ?2 WHERE user = ?1", oldname, newname, NULL) < 0 ||
	    run2(s, "UPDATE OR REPLACE group_members SET member = ?2 WHERE member = ?1", oldname, newname, NULL) < 0 ||
	    acls_rename_ident(s, oldname, newname, &entries, &mailboxes) < 0)
		goto out;
	ret = sqlite_tx_commit(s);
	if (ret == 0 && nmbox > 0)
		sqlite_meta_refresh_under(s, str_c(&newtop));
	if (ret == 0)
		log_info("store: renamed user %s to %s (%lld mailboxes, %u ACL entries in %u mailboxes)",
			 oldname, newname, (long long)nmbox, entries, mailboxes);
out:
	if (ret < 0)
		sqlite_tx_rollback(s);
	str_free(&oldtop);
	str_free(&newtop);
	return ret;
}

int sqlite_user_purge(struct store *st, const char *name, str_t *report)
{
	struct sqlite_store *s = S(st);
	str_t top = STR_INIT, dirs = STR_INIT, lines = STR_INIT;
	str_printf(&top, "user.%s", name);
	struct mbox_row {
		int64_t id;
		char *name, *uniqueid, *partition;
	} *rows = NULL;
	size_t n = 0;
	unsigned subs = 0, seen = 0, meta = 0, groups = 0, roots = 0, entries = 0, aclboxes = 0, account = 0;
	int ret = -1;
	if (sqlite_tx_begin(s) < 0)
		goto out;
	sqlite3_stmt *q = sqlite_prep(s, "SELECT id, name, uniqueid, partition FROM mailboxes WHERE name = ?1 OR "
			       "(name > ?1 || '.' AND name < ?1 || '/') ORDER BY name");
	if (q == NULL)
		goto out;
	sqlite3_bind_text(q, 1, str_c(&top), -1, SQLITE_STATIC);
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		rows = xrealloc(rows, (n + 1) * sizeof(*rows));
		rows[n].id = sqlite3_column_int64(q, 0);
		rows[n].name = sqlite_col_dup(q, 1);
		rows[n].uniqueid = sqlite_col_dup(q, 2);
		rows[n].partition = sqlite_col_dup(q, 3);
		n++;
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		sqlite_db_fail(s, "purge list");
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		q = sqlite_prep(s, "SELECT coalesce(sum(size), 0), count(*) FROM messages WHERE mailbox = ?");
		if (q == NULL)
			goto out;
		sqlite3_bind_int64(q, 1, rows[i].id);
		if (sqlite3_step(q) != SQLITE_ROW) {
			sqlite_db_fail(s, "purge usage");
			goto out;
		}
		int64_t bytes = sqlite3_column_int64(q, 0), msgs = sqlite3_column_int64(q, 1);
		sqlite3_reset(q);
		if (msgs > 0 && sqlite_quota_charge(s, rows[i].name, -bytes, -msgs, false) < 0)
			goto out;
		q = sqlite_prep(s, "DELETE FROM mailboxes WHERE id = ?");
		if (q == NULL)
			goto out;
		sqlite3_bind_int64(q, 1, rows[i].id);
		if (sqlite_step_done(s, q, "purge mailbox") < 0)
			goto out;
		q = sqlite_prep(s, "DELETE FROM metadata WHERE mailbox = ?");
		if (q == NULL)
			goto out;
		sqlite3_bind_int64(q, 1, rows[i].id);
		if (sqlite_step_done(s, q, "purge metadata") < 0)
			goto out;
		if (sqlite_partition_dir(s, rows[i].partition) != NULL) {
			sqlite_mailbox_dir(s, rows[i].partition, rows[i].uniqueid, &dirs);
			str_append_c(&dirs, '\0');
		}
		str_printf(&lines, "removed mailbox %s (%lld messages)\n", rows[i].name, (long long)msgs);
	}
	if (run2(s, "DELETE FROM quota_roots WHERE root = ?1 OR substr(root, 1, length(?1) + 1) = ?1 || '.'",
		 str_c(&top), NULL, &roots) < 0 ||
	    run2(s, "DELETE FROM subscriptions WHERE user = ?2 OR name = ?1 OR "
		 "substr(name, 1, length(?1) + 1) = ?1 || '.'", str_c(&top), name, &subs) < 0 ||
	    run2(s, "DELETE FROM seen WHERE user = ?1", name, NULL, &seen) < 0 ||
	    run2(s, "DELETE FROM metadata WHERE user = ?1", name, NULL, &meta) < 0 ||
	    run2(s, "DELETE FROM group_members WHERE member = ?1", name, NULL, &groups) < 0 ||
	    acls_rename_ident(s, name, NULL, &entries, &aclboxes) < 0 ||
	    run2(s, "DELETE FROM users WHERE name = ?1", name, NULL, &account) < 0)
		goto out;
	if (account == 0 && n == 0 && subs == 0 && seen == 0 && meta == 0 && groups == 0 && entries == 0) {
		sqlite_fail(s, STORE_ERR_NOTFOUND, "no user %s", name);
		goto out;
	}
	if (sqlite_tx_commit(s) < 0)
		goto out;
	ret = 0;
	for (size_t at = 0; at < dirs.len; at += strlen(dirs.data + at) + 1) {
		if (sqlite_remove_tree(dirs.data + at) < 0)
			log_warn("store: could not remove all of %s: %s", dirs.data + at, strerror(errno));
	}
	if (account)
		str_printf(report, "removed account %s\n", name);
	else
		str_printf(report, "no account %s to remove\n", name);
	str_append(report, str_c(&lines));
	str_printf(report, "removed %u subscriptions\n", subs);
	str_printf(report, "removed %u per-user \\Seen records\n", seen);
	str_printf(report, "removed %u ACL entries from %u mailboxes\n", entries, aclboxes);
	str_printf(report, "removed %u quota roots\n", roots);
	str_printf(report, "removed %u group memberships\n", groups);
	str_printf(report, "removed %u private metadata entries\n", meta);
	log_info("store: purged user %s (%zu mailboxes)", name, n);
out:
	if (ret < 0)
		sqlite_tx_rollback(s);
	for (size_t i = 0; i < n; i++) {
		free(rows[i].name);
		free(rows[i].uniqueid);
		free(rows[i].partition);
	}
	free(rows);
	str_free(&top);
	str_free(&dirs);
	str_free(&lines);
	return ret;
}
