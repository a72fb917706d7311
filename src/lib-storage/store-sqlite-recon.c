/* Rebuilding the metadata from the files, and checking one against the
 * other (`agora reconstruct`, `agora check`), with what each mailbox
 * directory keeps for it (mailbox.meta, mailbox.journal: described in
 * store-sqlite-journal.c). */
#include "lib-storage/store.h"
#include "lib-storage/store-sqlite-private.h"
#include "lib/bounds.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib-acl/acl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* ---------------------------------------------------------------- helpers */

static void report(const struct store_repair *r, int *count, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void report(const struct store_repair *r, int *count, const char *fmt, ...)
{
	str_t line = STR_INIT;
	va_list ap;
	va_start(ap, fmt);
	str_vprintf(&line, fmt, ap);
	va_end(ap);
	r->report(r->ctx, str_c(&line));
	str_free(&line);
	(*count)++;
}

static bool is_guid(const char *name)
{
	size_t n = 0;
	for (; name[n] != '\0'; n++)
		if (!((name[n] >= '0' && name[n] <= '9') || (name[n] >= 'a' && name[n] <= 'f')))
			return false;
	return n == 32;
}

/* The temporary name of a mailbox.meta or mailbox.journal being rewritten
 * (write_file_atomic). */
static bool is_record_tmp(const char *name)
{
	return strcmp(name, "." MAILBOX_META ".tmp") == 0 || strcmp(name, "." MAILBOX_JOURNAL ".tmp") == 0;
}

/* Files of a directory, sorted. */
static char **list_dir(const char *dir, size_t *n_r)
{
	char **v = NULL;
	size_t n = 0;
	DIR *d = opendir(dir);
	if (d != NULL) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			v = xrealloc(v, (n + 1) * sizeof(*v));
			v[n++] = xstrdup(de->d_name);
		}
		closedir(d);
	}
	*n_r = n;
	return v;
}

static bool name_selected(const char *name, const char *const *names, bool recursive)
{
	if (names == NULL)
		return true;
	for (const char *const *p = names; *p != NULL; p++) {
		size_t l = strlen(*p);
		if (strcmp(name, *p) == 0 || (recursive && strncmp(name, *p, l) == 0 && name[l] == '.'))
			return true;
	}
	return false;
}

static int begin(struct sqlite_store *s)
{
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return sqlite_db_fail(s, "begin");
	return 0;
}

static int commit(struct sqlite_store *s)
{
	if (sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		sqlite_db_fail(s, "commit");
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

/* Moves a damaged file to PARTITION/lost+found/UNIQUEID-NAME. */
static void lost_found(struct sqlite_store *s, const char *partition, const char *uniqueid, const char *dir,
		       const char *name)
{
	str_t lf = STR_INIT, from = STR_INIT;
	str_printf(&lf, "%s/lost+found", config_partition(s->cfg, partition));
	mkdir(str_c(&lf), 0750);
	str_printf(&lf, "/%s-%s", uniqueid, name);
	str_printf(&from, "%s/%s", dir, name);
	if (rename(str_c(&from), str_c(&lf)) < 0)
		unlink(str_c(&from));
	str_free(&lf);
	str_free(&from);
}

struct meta {
	char *name, *uniqueid, *partition, *acl, *specialuse;
	uint32_t uidvalidity;
	bool sharedseen;
	bool has_quota;
	long long quota_storage, quota_message;
};

static void meta_free(struct meta *m)
{
	free(m->name);
	free(m->uniqueid);
	free(m->partition);
	free(m->acl);
	free(m->specialuse);
}

static int meta_read(const char *dir, struct meta *m)
{
	memset(m, 0, sizeof(*m));
	size_t len;
	char *data = sqlite_read_file(dir, MAILBOX_META, &len);
	if (data == NULL)
		return -1;
	bool magic = false;
	for (char *line = data, *nl; (nl = strchr(line, '\n')) != NULL; line = nl + 1) {
		*nl = '\0';
		char *sp = strchr(line, ' ');
		if (sp == NULL)
			continue;
		*sp = '\0';
		const char *v = sp + 1;
		if (strcmp(line, "agora-mailbox") == 0)
			magic = strcmp(v, "1") == 0;
		else if (strcmp(line, "name") == 0)
			m->name = xstrdup(v);
		else if (strcmp(line, "uniqueid") == 0)
			m->uniqueid = xstrdup(v);
		else if (strcmp(line, "partition") == 0)
			m->partition = xstrdup(v);
		else if (strcmp(line, "acl") == 0)
			m->acl = xstrdup(v);
		else if (strcmp(line, "specialuse") == 0)
			m->specialuse = xstrdup(v);
		else if (strcmp(line, "uidvalidity") == 0)
			m->uidvalidity = (uint32_t)strtoul(v, NULL, 10);
		else if (strcmp(line, "sharedseen") == 0)
			m->sharedseen = strcmp(v, "1") == 0;
		else if (strcmp(line, "quota") == 0)
			m->has_quota = sscanf(v, "%lld %lld", &m->quota_storage, &m->quota_message) == 2;
	}
	free(data);
	if (!magic || m->name == NULL || m->uniqueid == NULL || m->partition == NULL || m->acl == NULL) {
		meta_free(m);
		return -1;
	}
	return 0;
}

static uint32_t last_uidvalidity(struct sqlite_store *s)
{
	sqlite3_stmt *q = sqlite_prep(s, "SELECT value FROM meta WHERE key = 'last_uidvalidity'");
	uint32_t v = 0;
	if (q != NULL && sqlite3_step(q) == SQLITE_ROW)
		v = (uint32_t)sqlite3_column_int64(q, 0);
	if (q != NULL)
		sqlite3_reset(q);
	return v;
}

static int set_last_uidvalidity(struct sqlite_store *s, uint32_t v)
{
	sqlite3_stmt *q = sqlite_prep(s, "UPDATE meta SET value = ?1 WHERE key = 'last_uidvalidity' "
			       "AND CAST(value AS INTEGER) < ?1");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, v);
	return sqlite_step_done(s, q, "uidvalidity");
}

/* ---------------------------------------------------------------- reconstruct */

struct recon {
	struct sqlite_store *s;
	const struct store_repair *r;
	const char *const *names;
	bool recursive;
	int changes;
	int failed;
	/* uniqueids of mailboxes re-created from their meta file in this run */
	char **fresh;
	size_t nfresh;
};

static void recon_tmp(const char *part, const char *dir, void *ctx)
{
	struct recon *rc = ctx;
	str_t tmp = STR_INIT;
	str_printf(&tmp, "%s/tmp", dir);
	size_t n;
	char **files = list_dir(str_c(&tmp), &n);
	for (size_t i = 0; i < n; i++) {
		str_t p = STR_INIT;
		str_printf(&p, "%s/%s", str_c(&tmp), files[i]);
		if (unlink(str_c(&p)) == 0)
			report(rc->r, &rc->changes, "partition %s: removed stray file tmp/%s", part, files[i]);
		str_free(&p);
	}
	sqlite_strv_free_n(files, n);
	str_free(&tmp);
}

static int uniqueid_known(struct sqlite_store *s, const char *uniqueid)
{
	return sqlite_row_exists(s, "SELECT 1 FROM mailboxes WHERE uniqueid = ?", uniqueid, NULL);
}

/* A quota root named by a re-created mailbox; its usage is computed at the
 * end of the run. */
static void restore_quota(struct recon *rc, const struct meta *m)
{
	struct sqlite_store *s = rc->s;
	sqlite3_stmt *q = sqlite_prep(s, "INSERT OR IGNORE INTO quota_roots(root, storage_limit, message_limit) "
			       "VALUES(?, ?, ?)");
	if (q == NULL)
		return;
	sqlite3_bind_text(q, 1, m->name, -1, SQLITE_STATIC);
	if (m->quota_storage >= 0)
		sqlite3_bind_int64(q, 2, m->quota_storage);
	if (m->quota_message >= 0)
		sqlite3_bind_int64(q, 3, m->quota_message);
	if (sqlite_step_done(s, q, "quota root") == 0 && sqlite3_changes(s->db) > 0)
		report(rc->r, &rc->changes, "%s: quota root re-created (STORAGE %lld, MESSAGE %lld)", m->name,
		       m->quota_storage, m->quota_message);
}

/* Mailbox directories the database does not know: re-created from their
 * meta file. */
static void recon_dirs(const char *part, const char *pdir, void *ctx)
{
	struct recon *rc = ctx;
	struct sqlite_store *s = rc->s;
	size_t nx;
	char **xx = list_dir(pdir, &nx);
	sqlite_sort_n(xx, nx, sizeof(*xx), sqlite_strp_cmp);
	for (size_t i = 0; i < nx; i++) {
		if (strlen(xx[i]) != 2 || strcmp(xx[i], "..") == 0)
			continue;
		str_t sub = STR_INIT;
		str_printf(&sub, "%s/%s", pdir, xx[i]);
		size_t nu;
		char **uids = list_dir(str_c(&sub), &nu);
		sqlite_sort_n(uids, nu, sizeof(*uids), sqlite_strp_cmp);
		for (size_t k = 0; k < nu; k++) {
			int known = uniqueid_known(s, uids[k]);
			if (known != 0) {
				if (known < 0)
					rc->failed = 1;
				continue;
			}
			str_t dir = STR_INIT;
			str_printf(&dir, "%s/%s", str_c(&sub), uids[k]);
			struct meta m;
			if (meta_read(str_c(&dir), &m) < 0) {
				if (rc->names == NULL)
					report(rc->r, &rc->changes, "%s: no readable %s, not rebuilt", str_c(&dir), MAILBOX_META);
				str_free(&dir);
				continue;
			}
			if (!name_selected(m.name, rc->names, rc->recursive) || strcmp(m.uniqueid, uids[k]) != 0 ||
			    strcmp(m.partition, part) != 0) {
				if (strcmp(m.uniqueid, uids[k]) != 0 || strcmp(m.partition, part) != 0)
					report(rc->r, &rc->changes, "%s: %s names another directory, not rebuilt",
					       str_c(&dir), MAILBOX_META);
				meta_free(&m);
				str_free(&dir);
				continue;
			}
			char *owner = mailbox_owner(m.name);
			sqlite3_stmt *q = sqlite_prep(s, "INSERT INTO mailboxes(name, uniqueid, partition, acl, specialuse, "
					       "owner, uidvalidity, uidnext, highestmodseq, sharedseen) VALUES(?, ?, ?, ?, ?, ?, ?, 1, 1, ?)");
			if (q != NULL) {
				sqlite3_bind_text(q, 1, m.name, -1, SQLITE_STATIC);
				sqlite3_bind_text(q, 2, m.uniqueid, -1, SQLITE_STATIC);
				sqlite3_bind_text(q, 3, m.partition, -1, SQLITE_STATIC);
				sqlite3_bind_text(q, 4, m.acl, -1, SQLITE_STATIC);
				sqlite3_bind_text(q, 5, m.specialuse, -1, SQLITE_STATIC);
				sqlite3_bind_text(q, 6, owner, -1, SQLITE_STATIC);
				sqlite3_bind_int64(q, 7, m.uidvalidity);
				sqlite3_bind_int(q, 8, m.sharedseen ? 1 : 0);
				if (sqlite_step_done(s, q, "mailbox") == 0) {
					report(rc->r, &rc->changes, "%s: mailbox re-created from %s", m.name, str_c(&dir));
					rc->fresh = xrealloc(rc->fresh, (rc->nfresh + 1) * sizeof(*rc->fresh));
					rc->fresh[rc->nfresh++] = xstrdup(m.uniqueid);
					set_last_uidvalidity(s, m.uidvalidity);
					if (m.has_quota)
						restore_quota(rc, &m);
				} else {
					report(rc->r, &rc->changes, "%s: cannot re-create %s: %s", str_c(&dir), m.name,
					       str_c(&s->error));
				}
			}
			free(owner);
			meta_free(&m);
			str_free(&dir);
		}
		sqlite_strv_free_n(uids, nu);
		str_free(&sub);
	}
	sqlite_strv_free_n(xx, nx);
}

struct row {
	uint32_t uid;
	char *guid;
	uint64_t size;
};

static int row_guid_cmp(const void *a, const void *b)
{
	return strcmp(((const struct row *)a)->guid, ((const struct row *)b)->guid);
}

#define ROWS_ALL "SELECT uid, guid, size FROM messages WHERE mailbox = ?1"
#define ROWS_WITHOUT_SEARCH ROWS_ALL " AND NOT EXISTS (SELECT 1 FROM message_search f " \
	"WHERE f.mailbox = ?1 AND f.uid = messages.uid)"

/* The rows `sql` (ROWS_ALL or ROWS_WITHOUT_SEARCH) selects of mailbox
 * `id`, sorted by guid. */
static int load_rows(struct sqlite_store *s, const char *sql, int64_t id, struct row **rows_r, size_t *n_r)
{
	sqlite3_stmt *q = sqlite_prep(s, sql);
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	struct row *rows = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		rows = xrealloc(rows, (n + 1) * sizeof(*rows));
		rows[n].uid = (uint32_t)sqlite3_column_int64(q, 0);
		rows[n].guid = xstrdup((const char *)sqlite3_column_text(q, 1));
		rows[n].size = (uint64_t)sqlite3_column_int64(q, 2);
		n++;
	}
	sqlite3_reset(q);
	if (n > 0)
		sqlite_sort_n(rows, n, sizeof(*rows), row_guid_cmp);
	*rows_r = rows;
	*n_r = n;
	return rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "messages");
}

static void rows_free(struct row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(rows[i].guid);
	free(rows);
}

static struct row *row_find(struct row *rows, size_t n, const char *guid)
{
	struct row key = { .guid = (char *)guid };
	return n > 0 ? bsearch(&key, rows, n, sizeof(*rows), row_guid_cmp) : NULL;
}

static int bump_modseq(struct sqlite_store *s, int64_t id, uint64_t *modseq_r)
{
	sqlite3_stmt *q = sqlite_prep(s, "UPDATE mailboxes SET highestmodseq = highestmodseq + 1 WHERE id = ? "
			       "RETURNING highestmodseq");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_reset(q);
		return sqlite_db_fail(s, "modseq");
	}
	*modseq_r = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return 0;
}

/* Runs `sql` with ?1 = mailbox id and ?2 = uid. */
static int run_id_uid(struct sqlite_store *s, const char *sql, int64_t id, uint32_t uid, const char *what)
{
	sqlite3_stmt *q = sqlite_prep(s, sql);
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, uid);
	return sqlite_step_done(s, q, what);
}

static int drop_row(struct sqlite_store *s, int64_t id, uint32_t uid)
{
	uint64_t modseq = 0;
	if (bump_modseq(s, id, &modseq) < 0 ||
	    run_id_uid(s, "DELETE FROM messages WHERE mailbox = ? AND uid = ?", id, uid, "drop") < 0 ||
	    run_id_uid(s, "DELETE FROM seen WHERE mailbox = ? AND uid = ?", id, uid, "drop seen") < 0)
		return -1;
	sqlite3_stmt *q = sqlite_prep(s, "INSERT OR REPLACE INTO expunged(mailbox, uid, modseq) VALUES(?, ?, ?)");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, uid);
	sqlite3_bind_int64(q, 3, (sqlite3_int64)modseq);
	return sqlite_step_done(s, q, "drop expunged");
}

static int uid_used(struct sqlite_store *s, int64_t id, uint32_t uid)
{
	sqlite3_stmt *q = sqlite_prep(s, "SELECT 1 FROM messages WHERE mailbox = ?1 AND uid = ?2 UNION ALL "
			       "SELECT 1 FROM expunged WHERE mailbox = ?1 AND uid = ?2");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	sqlite3_bind_int64(q, 2, uid);
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	return rc == SQLITE_ROW ? 1 : 0;
}

struct pending {
	char *name;
	long long mtime;
};

static int pending_cmp(const void *a, const void *b)
{
	const struct pending *x = a, *y = b;
	if (x->mtime != y->mtime)
		return x->mtime < y->mtime ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* The UID of a message the mailbox holds with exactly the bytes of file
 * `name`, or 0. A file no record and no journal line names, equal to a
 * message already there, is the file of a write that did not commit (a
 * crash before the OK): its sender, never told OK, sent it again. */
static uint32_t same_bytes_as(const struct row *rows, size_t nrows, const char *dir, const char *name)
{
	str_t p = STR_INIT;
	str_printf(&p, "%s/%s", dir, name);
	struct stat st;
	int r = stat(str_c(&p), &st);
	str_free(&p);
	if (r < 0)
		return 0;
	size_t len = 0;
	char *data = NULL;
	uint32_t uid = 0;
	for (size_t i = 0; i < nrows && uid == 0; i++) {
		/* a row with guid "" was handled: its file was gone or damaged */
		if (rows[i].guid[0] == '\0' || rows[i].size != (uint64_t)st.st_size)
			continue;
		if (data == NULL && (data = sqlite_read_file(dir, name, &len)) == NULL)
			return 0;
		size_t olen = 0;
		char *other = sqlite_read_file(dir, rows[i].guid, &olen);
		if (other != NULL && olen == len && memcmp(other, data, len) == 0)
			uid = rows[i].uid;
		free(other);
	}
	free(data);
	return uid;
}

/* Adds the message file `name` as a row; 1 added, 0 set aside, -1 error. */
static int add_file(struct recon *rc, const struct mailbox_info *mb, const char *dir, const char *name,
		    struct jent *je, uint32_t uid)
{
	struct sqlite_store *s = rc->s;
	size_t len = 0;
	char *data = sqlite_read_file(dir, name, &len);
	if (data == NULL) {
		report(rc->r, &rc->changes, "%s: cannot read %s: %s", mb->name, name, strerror(errno));
		return 0;
	}
	struct new_msg m;
	memset(&m, 0, sizeof(m));
	const char *why = NULL;
	if (je != NULL && je->size != len)
		why = "truncated";
	else if (len == 0 || rc->r->prepare(rc->r->ctx, data, len, &m) < 0)
		why = "not a message";
	if (why != NULL) {
		free(data);
		lost_found(s, mb->partition, mb->uniqueid, dir, name);
		report(rc->r, &rc->changes, "%s: file %s is %s (%zu bytes%s); moved to lost+found", mb->name, name,
		       why, len, je != NULL && je->size != len ? ", journal says more" : "");
		return 0;
	}
	uint64_t modseq = 0;
	if (bump_modseq(s, mb->id, &modseq) < 0) {
		free(data);
		return -1;
	}
	struct stat stt;
	time_t idate = je != NULL ? (time_t)je->idate : time(NULL);
	if (je == NULL) {
		str_t p2 = STR_INIT;
		str_printf(&p2, "%s/%s", dir, name);
		if (stat(str_c(&p2), &stt) == 0)
			idate = stt.st_mtime;
		str_free(&p2);
	}
	sqlite3_stmt *q = sqlite_prep(s, "INSERT INTO messages(mailbox, uid, guid, size, internaldate, tz, "
			       "sentdate, flags, keywords, modseq, envelope, bodystructure, body, header) "
			       "VALUES(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	int ret = -1;
	if (q != NULL) {
		sqlite3_bind_int64(q, 1, mb->id);
		sqlite3_bind_int64(q, 2, uid);
		sqlite3_bind_text(q, 3, name, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 4, (sqlite3_int64)len);
		sqlite3_bind_int64(q, 5, (sqlite3_int64)idate);
		sqlite3_bind_int(q, 6, je != NULL ? je->tz : 0);
		sqlite3_bind_int64(q, 7, (sqlite3_int64)(m.sentdate != 0 ? m.sentdate : idate));
		sqlite3_bind_int(q, 8, je != NULL ? (int)(je->flags & MSG_STORED_FLAGS) : 0);
		sqlite3_bind_text(q, 9, je != NULL ? je->keywords : NULL, -1, SQLITE_STATIC);
		sqlite3_bind_int64(q, 10, (sqlite3_int64)modseq);
		sqlite3_bind_text(q, 11, m.envelope, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 12, m.bodystructure, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 13, m.body, -1, SQLITE_STATIC);
		sqlite3_bind_blob(q, 14, m.header != NULL ? m.header : data, (int)m.header_len, SQLITE_STATIC);
		ret = sqlite_step_done(s, q, "add message");
		if (ret == 0 && m.search != NULL)
			ret = sqlite_search_fields_put(s, mb->id, uid, m.search, m.search_len);
	}
	free(data);
	if (ret < 0)
		return -1;
	q = sqlite_prep(s, "UPDATE mailboxes SET uidnext = max(uidnext, ?1 + 1) WHERE id = ?2");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, uid);
	sqlite3_bind_int64(q, 2, mb->id);
	if (sqlite_step_done(s, q, "uidnext") < 0)
		return -1;
	if (je == NULL) {
		/* so that a later rebuild finds its UID */
		str_t jl = STR_INIT;
		sqlite_journal_add(&jl, uid, name, modseq, len, idate, 0, 0, NULL);
		sqlite_journal_write(s, mb, &jl);
		str_free(&jl);
	}
	return 1;
}

/* Messages stored before the search fields were (a store older than the
 * message_search table): their fields, from their files. SEARCH answers the
 * same without them, from the header, only slower. */
static int fill_search(struct recon *rc, const struct mailbox_info *mb, const char *dir)
{
	struct sqlite_store *s = rc->s;
	struct row *v = NULL;
	size_t n = 0;
	int ret = load_rows(s, ROWS_WITHOUT_SEARCH, mb->id, &v, &n);
	size_t done = 0;
	for (size_t i = 0; ret == 0 && i < n; i++) {
		size_t len = 0;
		char *data = sqlite_read_file(dir, v[i].guid, &len);
		if (data == NULL)
			continue; /* the file check above has reported it */
		struct new_msg m;
		memset(&m, 0, sizeof(m));
		/* a message without a header has no fields to search */
		if (len == 0 || rc->r->prepare(rc->r->ctx, data, len, &m) < 0)
			m.search_len = 0;
		ret = sqlite_search_fields_put(s, mb->id, v[i].uid, m.search, m.search_len);
		free(data);
		done++;
	}
	if (ret == 0 && done > 0)
		report(rc->r, &rc->changes, "%s: search fields stored for %zu message%s stored without them",
		       mb->name, done, done == 1 ? "" : "s");
	rows_free(v, n);
	return ret;
}

static bool is_fresh(struct recon *rc, const char *uniqueid)
{
	for (size_t i = 0; i < rc->nfresh; i++)
		if (strcmp(rc->fresh[i], uniqueid) == 0)
			return true;
	return false;
}

static int recon_mailbox(struct recon *rc, const struct mailbox_info *mb0)
{
	struct sqlite_store *s = rc->s;
	struct mailbox_info mb = *mb0;
	bool fresh = is_fresh(rc, mb.uniqueid);
	str_t dir = STR_INIT;
	sqlite_mailbox_dir(s, mb.partition, mb.uniqueid, &dir);
	struct journal j;
	sqlite_journal_load(&j, str_c(&dir));
	struct row *rows = NULL;
	size_t nrows = 0, nfiles = 0;
	char **files = NULL;
	int ret = -1;
	if (begin(s) < 0)
		goto out;
	if (load_rows(s, ROWS_ALL, mb.id, &rows, &nrows) < 0)
		goto out_tx;
	files = list_dir(str_c(&dir), &nfiles);
	if (files == NULL && nrows > 0) {
		/* The directory itself is gone. */
		struct stat st;
		if (stat(str_c(&dir), &st) < 0)
			report(rc->r, &rc->changes, "%s: directory %s is missing", mb.name, str_c(&dir));
	}
	sqlite_sort_n(files, nfiles, sizeof(*files), sqlite_strp_cmp);
	/* Rows whose file is gone or damaged. */
	for (size_t i = 0; i < nrows; i++) {
		str_t p = STR_INIT;
		str_printf(&p, "%s/%s", str_c(&dir), rows[i].guid);
		struct stat st;
		int r = stat(str_c(&p), &st);
		str_free(&p);
		if (r == 0 && (uint64_t)st.st_size == rows[i].size)
			continue;
		if (drop_row(s, mb.id, rows[i].uid) < 0)
			goto out_tx;
		if (r < 0) {
			report(rc->r, &rc->changes, "%s: UID %" PRIu32 ": file %s is gone; record removed", mb.name,
			       rows[i].uid, rows[i].guid);
		} else {
			lost_found(s, mb.partition, mb.uniqueid, str_c(&dir), rows[i].guid);
			report(rc->r, &rc->changes, "%s: UID %" PRIu32 ": file %s is %lld bytes, the record says %" PRIu64
			       "; record removed, file moved to lost+found", mb.name, rows[i].uid, rows[i].guid,
			       (long long)st.st_size, rows[i].size);
		}
		free(rows[i].guid);
		rows[i].guid = xstrdup(""); /* handled */
	}
	sqlite_sort_n(rows, nrows, sizeof(*rows), row_guid_cmp);
	/* Files no row names. */
	struct pending *pend = NULL;
	size_t npend = 0;
	for (size_t i = 0; i < nfiles; i++) {
		const char *f = files[i];
		if (strcmp(f, MAILBOX_META) == 0 || strcmp(f, MAILBOX_JOURNAL) == 0)
			continue;
		if (is_record_tmp(f)) {
			/* an unfinished rewrite of mailbox.meta or a journal
			 * compaction: the file it would have replaced is whole */
			str_t p = STR_INIT;
			str_printf(&p, "%s/%s", str_c(&dir), f);
			unlink(str_c(&p));
			str_free(&p);
			report(rc->r, &rc->changes, "%s: removed unfinished %s", mb.name, f);
			continue;
		}
		if (!is_guid(f)) {
			lost_found(s, mb.partition, mb.uniqueid, str_c(&dir), f);
			report(rc->r, &rc->changes, "%s: stray file %s moved to lost+found", mb.name, f);
			continue;
		}
		if (row_find(rows, nrows, f) != NULL)
			continue;
		struct jent *je = sqlite_journal_guid(&j, f);
		if (je != NULL && je->expunged) {
			/* An expunge whose unlink did not happen. */
			str_t p = STR_INIT;
			str_printf(&p, "%s/%s", str_c(&dir), f);
			unlink(str_c(&p));
			str_free(&p);
			report(rc->r, &rc->changes, "%s: removed file %s of expunged UID %" PRIu32, mb.name, f, je->uid);
			continue;
		}
		pend = xrealloc(pend, (npend + 1) * sizeof(*pend));
		pend[npend].name = files[i];
		struct stat st;
		str_t p = STR_INIT;
		str_printf(&p, "%s/%s", str_c(&dir), f);
		pend[npend].mtime = stat(str_c(&p), &st) == 0 ? (long long)st.st_mtime : 0;
		str_free(&p);
		npend++;
	}
	if (fresh) {
		/* Start from what the journal knew. */
		sqlite3_stmt *q = sqlite_prep(s, "UPDATE mailboxes SET uidnext = ?, highestmodseq = ? WHERE id = ?");
		if (q == NULL)
			goto out_pend;
		sqlite3_bind_int64(q, 1, (sqlite3_int64)j.max_uid + 1);
		sqlite3_bind_int64(q, 2, (sqlite3_int64)(j.max_modseq > 0 ? j.max_modseq : 1));
		sqlite3_bind_int64(q, 3, mb.id);
		if (sqlite_step_done(s, q, "fresh") < 0)
			goto out_pend;
		if (!j.present && npend > 0) {
			uint32_t uv = (uint32_t)time(NULL);
			uint32_t last = last_uidvalidity(s);
			if (uv <= last)
				uv = last + 1;
			if (uv <= mb.uidvalidity)
				uv = mb.uidvalidity + 1;
			q = sqlite_prep(s, "UPDATE mailboxes SET uidvalidity = ? WHERE id = ?");
			if (q == NULL)
				goto out_pend;
			sqlite3_bind_int64(q, 1, uv);
			sqlite3_bind_int64(q, 2, mb.id);
			if (sqlite_step_done(s, q, "uidvalidity") < 0 || set_last_uidvalidity(s, uv) < 0)
				goto out_pend;
			report(rc->r, &rc->changes, "%s: no %s, UIDs cannot be recovered: UIDVALIDITY %" PRIu32
			       " is now %" PRIu32, mb.name, MAILBOX_JOURNAL, mb.uidvalidity, uv);
			mb.uidvalidity = uv;
		}
	}
	sqlite_sort_n(pend, npend, sizeof(*pend), pending_cmp);
	/* Files the journal names keep their UIDs; the others get new ones
	 * after them, oldest first. */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < npend; i++) {
			if (pend[i].name == NULL)
				continue;
			struct jent *je = sqlite_journal_guid(&j, pend[i].name);
			uint32_t uid = 0;
			if (pass == 0) {
				if (je == NULL)
					continue;
				int used = uid_used(s, mb.id, je->uid);
				if (used < 0)
					goto out_pend;
				if (used)
					continue;
				uid = je->uid;
			} else {
				sqlite3_stmt *q = sqlite_prep(s, "SELECT uidnext FROM mailboxes WHERE id = ?");
				if (q == NULL)
					goto out_pend;
				sqlite3_bind_int64(q, 1, mb.id);
				if (sqlite3_step(q) == SQLITE_ROW)
					uid = (uint32_t)sqlite3_column_int64(q, 0);
				sqlite3_reset(q);
				if (uid == 0)
					goto out_pend;
				uint32_t twin = je == NULL ? same_bytes_as(rows, nrows, str_c(&dir), pend[i].name) : 0;
				if (twin != 0) {
					lost_found(s, mb.partition, mb.uniqueid, str_c(&dir), pend[i].name);
					report(rc->r, &rc->changes, "%s: file %s has no record and the bytes of UID %" PRIu32
					       ": a write that did not finish, sent again; moved to lost+found", mb.name,
					       pend[i].name, twin);
					pend[i].name = NULL;
					continue;
				}
				if (je != NULL && je->uid != uid)
					je = NULL; /* its UID is taken: a new message to clients */
			}
			int r = add_file(rc, &mb, str_c(&dir), pend[i].name, je, uid);
			if (r < 0)
				goto out_pend;
			if (r > 0) {
				if (je != NULL || pass == 0)
					report(rc->r, &rc->changes, "%s: UID %" PRIu32 ": message %s added from its file",
					       mb.name, uid, pend[i].name);
				else
					report(rc->r, &rc->changes, "%s: UID %" PRIu32 ": message %s added from its file "
					       "with a new UID", mb.name, uid, pend[i].name);
			}
			pend[i].name = NULL;
		}
	}
	if (fill_search(rc, &mb, str_c(&dir)) < 0)
		goto out_pend;
	if (commit(s) < 0)
		goto out_pend;
	ret = 0;
	/* The meta file, as the database now says. */
	struct mailbox_info now;
	if (s->store.be->mailbox_get(&s->store, mb.name, &now) == 1) {
		str_t want = STR_INIT;
		sqlite_meta_text(s, &now, &want);
		size_t len;
		char *have = sqlite_read_file(str_c(&dir), MAILBOX_META, &len);
		if (have == NULL || len != want.len || memcmp(have, want.data, len) != 0) {
			mkdir(str_c(&dir), 0750);
			if (sqlite_meta_write(s, &now) == 0)
				report(rc->r, &rc->changes, "%s: %s %s", mb.name, MAILBOX_META,
				       have == NULL ? "written" : "rewritten");
		}
		free(have);
		str_free(&want);
		mailbox_info_free(&now);
	}
out_pend:
	free(pend);
out_tx:
	if (ret < 0)
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
out:
	rows_free(rows, nrows);
	sqlite_strv_free_n(files, nfiles);
	sqlite_journal_free(&j);
	str_free(&dir);
	return ret;
}

struct mb_list {
	struct mailbox_info *v;
	size_t n;
};

static void collect_mb(const struct mailbox_info *info, void *ctx)
{
	struct mb_list *l = ctx;
	l->v = xrealloc(l->v, (l->n + 1) * sizeof(*l->v));
	struct mailbox_info *c = &l->v[l->n++];
	*c = *info;
	c->name = xstrdup(info->name);
	c->uniqueid = xstrdup(info->uniqueid);
	c->partition = xstrdup(info->partition);
	c->acl = xstrdup(info->acl != NULL ? info->acl : "");
	c->specialuse = info->specialuse != NULL ? xstrdup(info->specialuse) : NULL;
}

static void mb_list_free(struct mb_list *l)
{
	for (size_t i = 0; i < l->n; i++)
		mailbox_info_free(&l->v[i]);
	free(l->v);
}

/* The sharing index as one sorted text, to tell whether it changed. */
static int shares_text(struct sqlite_store *s, str_t *out)
{
	sqlite3_stmt *q = sqlite_prep(s, "SELECT ident, mailbox FROM shares ORDER BY mailbox, ident");
	if (q == NULL)
		return -1;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW)
		str_printf(out, "%lld %s\n", (long long)sqlite3_column_int64(q, 1),
			   (const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	return rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "shares");
}

/* The sharing index the ACLs call for. */
static void shares_expected(const struct mb_list *l, str_t *out)
{
	char **lines = NULL;
	size_t n = 0;
	str_t ident = STR_INIT, line = STR_INIT;
	for (size_t i = 0; i < l->n; i++) {
		size_t at = 0;
		acl_rights_t r;
		while (acl_next_entry(l->v[i].acl, &at, &ident, &r)) {
			const char *name = str_c(&ident);
			if (name[0] == '-' || !(r & ACL_L))
				continue;
			str_clear(&line);
			str_printf(&line, "%020lld %s%s\n", (long long)l->v[i].id, name[0] == '$' ? "group:" : "",
				   name[0] == '$' ? name + 1 : name);
			lines = xrealloc(lines, (n + 1) * sizeof(*lines));
			lines[n++] = xstrdup(str_c(&line));
		}
	}
	if (n > 0)
		sqlite_sort_n(lines, n, sizeof(*lines), sqlite_strp_cmp);
	for (size_t i = 0; i < n; i++) {
		if (i > 0 && strcmp(lines[i], lines[i - 1]) == 0)
			continue;
		/* drop the padding so the text matches shares_text's */
		const char *p = lines[i];
		while (*p == '0' && p[1] != ' ')
			p++;
		str_append(out, p);
	}
	sqlite_strv_free_n(lines, n);
	str_free(&ident);
	str_free(&line);
}

struct roots {
	char **v;
	size_t n;
};

static void collect_root(const struct quota_info *q, void *ctx)
{
	struct roots *r = ctx;
	r->v = xrealloc(r->v, (r->n + 1) * sizeof(*r->v));
	r->v[r->n++] = xstrdup(q->root);
}

static int quotas(struct sqlite_store *s, const struct store_repair *r, bool fix, int *count)
{
	struct roots roots = { NULL, 0 };
	if (s->store.be->quota_list(&s->store, collect_root, &roots) < 0)
		return -1;
	int ret = 0;
	for (size_t i = 0; i < roots.n; i++) {
		struct quota_info stored, computed;
		if (s->store.be->quota_verify(&s->store, roots.v[i], fix, &stored, &computed) < 0) {
			ret = -1;
			continue;
		}
		if (stored.storage_used != computed.storage_used || stored.message_used != computed.message_used)
			report(r, count, "quota %s: usage %s %" PRIu64 " bytes in %" PRIu64 " messages, %s %" PRIu64
			       " bytes in %" PRIu64 " messages", roots.v[i], fix ? "was" : "recorded", stored.storage_used,
			       stored.message_used, fix ? "now" : "the messages hold", computed.storage_used,
			       computed.message_used);
		quota_info_free(&stored);
		quota_info_free(&computed);
	}
	sqlite_strv_free_n(roots.v, roots.n);
	return ret;
}

static int shares_step(struct sqlite_store *s, const struct store_repair *r, bool fix, int *count)
{
	struct mb_list l = { NULL, 0 };
	str_t have = STR_INIT, want = STR_INIT;
	int ret = -1;
	if (s->store.be->mailbox_list(&s->store, NULL, collect_mb, &l) < 0 || shares_text(s, &have) < 0)
		goto out;
	shares_expected(&l, &want);
	ret = 0;
	if (have.len == want.len && (have.len == 0 || memcmp(have.data, want.data, have.len) == 0))
		goto out;
	if (fix) {
		ret = s->store.be->shares_rebuild(&s->store);
		if (ret == 0)
			report(r, count, "sharing index rebuilt from the ACLs");
	} else {
		/* One line per difference. */
		for (int side = 0; side < 2; side++) {
			const str_t *a = side == 0 ? &want : &have, *b = side == 0 ? &have : &want;
			for (const char *p = str_c(a), *nl; (nl = strchr(p, '\n')) != NULL; p = nl + 1) {
				size_t len = (size_t)(nl - p) + 1;
				bool found = false;
				for (const char *q = str_c(b), *nl2; (nl2 = strchr(q, '\n')) != NULL; q = nl2 + 1)
					if ((size_t)(nl2 - q) + 1 == len && memcmp(p, q, len) == 0) {
						found = true;
						break;
					}
				if (found)
					continue;
				long long id = strtoll(p, NULL, 10);
				const char *ident = strchr(p, ' ') + 1;
				const char *mname = "?";
				for (size_t i = 0; i < l.n; i++)
					if (l.v[i].id == id)
						mname = l.v[i].name;
				report(r, count, "%s: sharing index %s %.*s", mname,
				       side == 0 ? "lacks" : "wrongly lists", (int)(nl - ident), ident);
			}
		}
	}
out:
	mb_list_free(&l);
	str_free(&have);
	str_free(&want);
	return ret;
}

/* Views and triggers: Agora's schema has none, so one in agora.db was put
 * there by something else (see sqlite-guard.h: they never run). check
 * reports each, reconstruct drops it. */
static int schema_step(struct sqlite_store *s, const struct store_repair *r, bool fix, int *count)
{
	sqlite3_stmt *q = sqlite_prep(s, "SELECT type, name, tbl_name FROM sqlite_schema "
				      "WHERE type IN ('view', 'trigger') ORDER BY type, name");
	if (q == NULL)
		return -1;
	char **found = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *type = (const char *)sqlite3_column_text(q, 0);
		const char *name = (const char *)sqlite3_column_text(q, 1);
		const char *tbl = (const char *)sqlite3_column_text(q, 2);
		if (fix) {
			found = xrealloc(found, (n + 2) * sizeof(*found));
			found[n++] = sqlite3_mprintf("DROP %s IF EXISTS \"%w\"", strcmp(type, "view") == 0 ? "VIEW" : "TRIGGER",
						     name);
			found[n++] = sqlite3_mprintf("%s %s", type, name);
		} else if (strcmp(type, "trigger") == 0) {
			report(r, count, "agora.db: trigger %s on %s is not part of Agora's schema", name, tbl);
		} else {
			report(r, count, "agora.db: view %s is not part of Agora's schema", name);
		}
	}
	sqlite3_reset(q);
	int ret = rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "schema");
	/* pairs: the statement, then what it drops */
	for (size_t i = 0; i < n; i += 2) {
		if (ret == 0) {
			if (sqlite_exec(s, found[i]) < 0)
				ret = -1;
			else
				report(r, count, "agora.db: %s dropped (not part of Agora's schema)", found[i + 1]);
		}
		sqlite3_free(found[i]);
		sqlite3_free(found[i + 1]);
	}
	free(found);
	return ret;
}

int sqlite_reconstruct(struct store *st, const char *const *names, bool recursive, const struct store_repair *r)
{
	struct sqlite_store *s = S(st);
	struct recon rc = { .s = s, .r = r, .names = names, .recursive = recursive };
	if (names == NULL)
		config_foreach_partition(s->cfg, recon_tmp, &rc);
	if (begin(s) < 0)
		return -1;
	config_foreach_partition(s->cfg, recon_dirs, &rc);
	if (commit(s) < 0)
		rc.failed = 1;
	struct mb_list l = { NULL, 0 };
	if (st->be->mailbox_list(st, NULL, collect_mb, &l) < 0)
		rc.failed = 1;
	for (size_t i = 0; i < l.n; i++) {
		if (!name_selected(l.v[i].name, names, recursive))
			continue;
		if (recon_mailbox(&rc, &l.v[i]) < 0) {
			report(r, &rc.changes, "%s: not rebuilt: %s", l.v[i].name, str_c(&s->error));
			rc.failed = 1;
		}
	}
	mb_list_free(&l);
	if (shares_step(s, r, true, &rc.changes) < 0 || quotas(s, r, true, &rc.changes) < 0 ||
	    schema_step(s, r, true, &rc.changes) < 0)
		rc.failed = 1;
	sqlite_strv_free_n(rc.fresh, rc.nfresh);
	return rc.failed ? -1 : rc.changes;
}

/* ---------------------------------------------------------------- check */

struct check {
	struct sqlite_store *s;
	const struct store_repair *r;
	int problems;
};

static void check_tmp(const char *part, const char *dir, void *ctx)
{
	struct check *c = ctx;
	str_t tmp = STR_INIT;
	str_printf(&tmp, "%s/tmp", dir);
	size_t n;
	char **files = list_dir(str_c(&tmp), &n);
	sqlite_sort_n(files, n, sizeof(*files), sqlite_strp_cmp);
	for (size_t i = 0; i < n; i++)
		report(c->r, &c->problems, "partition %s: stray file tmp/%s", part, files[i]);
	sqlite_strv_free_n(files, n);
	str_free(&tmp);
}

static void check_dirs(const char *part, const char *pdir, void *ctx)
{
	struct check *c = ctx;
	size_t nx;
	char **xx = list_dir(pdir, &nx);
	sqlite_sort_n(xx, nx, sizeof(*xx), sqlite_strp_cmp);
	for (size_t i = 0; i < nx; i++) {
		if (strlen(xx[i]) != 2)
			continue;
		str_t sub = STR_INIT;
		str_printf(&sub, "%s/%s", pdir, xx[i]);
		size_t nu;
		char **uids = list_dir(str_c(&sub), &nu);
		sqlite_sort_n(uids, nu, sizeof(*uids), sqlite_strp_cmp);
		for (size_t k = 0; k < nu; k++)
			if (uniqueid_known(c->s, uids[k]) == 0)
				report(c->r, &c->problems, "partition %s: directory %s/%s belongs to no mailbox", part,
				       xx[i], uids[k]);
		sqlite_strv_free_n(uids, nu);
		str_free(&sub);
	}
	sqlite_strv_free_n(xx, nx);
}

static void check_mailbox(struct check *c, const struct mailbox_info *mb)
{
	struct sqlite_store *s = c->s;
	str_t dir = STR_INIT;
	sqlite_mailbox_dir(s, mb->partition, mb->uniqueid, &dir);
	struct row *rows = NULL;
	size_t nrows = 0, nfiles = 0;
	if (load_rows(s, ROWS_ALL, mb->id, &rows, &nrows) < 0) {
		report(c->r, &c->problems, "%s: %s", mb->name, str_c(&s->error));
		str_free(&dir);
		return;
	}
	char **files = list_dir(str_c(&dir), &nfiles);
	sqlite_sort_n(files, nfiles, sizeof(*files), sqlite_strp_cmp);
	for (size_t i = 0; i < nrows; i++) {
		str_t p = STR_INIT;
		str_printf(&p, "%s/%s", str_c(&dir), rows[i].guid);
		struct stat st;
		if (stat(str_c(&p), &st) < 0)
			report(c->r, &c->problems, "%s: UID %" PRIu32 ": file %s is missing", mb->name, rows[i].uid,
			       rows[i].guid);
		else if ((uint64_t)st.st_size != rows[i].size)
			report(c->r, &c->problems, "%s: UID %" PRIu32 ": file %s is %lld bytes, the record says %" PRIu64,
			       mb->name, rows[i].uid, rows[i].guid, (long long)st.st_size, rows[i].size);
		str_free(&p);
	}
	for (size_t i = 0; i < nfiles; i++) {
		/* a temporary file may be a rewrite in progress beside the server */
		if (strcmp(files[i], MAILBOX_META) == 0 || strcmp(files[i], MAILBOX_JOURNAL) == 0 ||
		    is_record_tmp(files[i]))
			continue;
		if (!is_guid(files[i]))
			report(c->r, &c->problems, "%s: stray file %s", mb->name, files[i]);
		else if (row_find(rows, nrows, files[i]) == NULL)
			report(c->r, &c->problems, "%s: file %s has no record", mb->name, files[i]);
	}
	str_t want = STR_INIT;
	sqlite_meta_text(s, mb, &want);
	size_t len;
	char *have = sqlite_read_file(str_c(&dir), MAILBOX_META, &len);
	if (have == NULL)
		report(c->r, &c->problems, "%s: %s is missing", mb->name, MAILBOX_META);
	else if (len != want.len || memcmp(have, want.data, len) != 0)
		report(c->r, &c->problems, "%s: %s is out of date", mb->name, MAILBOX_META);
	free(have);
	str_free(&want);
	rows_free(rows, nrows);
	sqlite_strv_free_n(files, nfiles);
	str_free(&dir);
}

static int exists(struct sqlite_store *s, bool group, const char *name)
{
	return group ? sqlite_row_exists(s, "SELECT 1 FROM groups WHERE name = ?", name, NULL)
		     : sqlite_row_exists(s, "SELECT 1 FROM users WHERE name = ?", name, NULL);
}

static void check_acl(struct check *c, const struct mailbox_info *mb)
{
	size_t at = 0;
	acl_rights_t rights;
	str_t ident = STR_INIT;
	while (acl_next_entry(mb->acl, &at, &ident, &rights)) {
		const char *id = str_c(&ident);
		if (id[0] == '-')
			id++;
		if (strcmp(id, "anyone") == 0 || strcmp(id, "authenticated") == 0 || strcmp(id, "anonymous") == 0)
			continue;
		bool group = id[0] == '$' || strncmp(id, "group:", 6) == 0;
		const char *name = id[0] == '$' ? id + 1 : group ? id + 6 : id;
		if (exists(c->s, group, name) == 0)
			report(c->r, &c->problems, "%s: ACL names %s %s, who does not exist", mb->name,
			       group ? "group" : "user", name);
	}
	str_free(&ident);
}

int sqlite_check(struct store *st, const struct store_repair *r)
{
	struct sqlite_store *s = S(st);
	struct check c = { .s = s, .r = r };
	struct mb_list l = { NULL, 0 };
	int ret = 0;
	config_foreach_partition(s->cfg, check_tmp, &c);
	config_foreach_partition(s->cfg, check_dirs, &c);
	if (st->be->mailbox_list(st, NULL, collect_mb, &l) < 0)
		ret = -1;
	for (size_t i = 0; i < l.n; i++) {
		check_mailbox(&c, &l.v[i]);
		check_acl(&c, &l.v[i]);
	}
	mb_list_free(&l);
	if (shares_step(s, r, false, &c.problems) < 0 || quotas(s, r, false, &c.problems) < 0 ||
	    schema_step(s, r, false, &c.problems) < 0)
		ret = -1;
	return ret < 0 ? -1 : c.problems;
}
