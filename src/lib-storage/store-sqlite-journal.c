/* What each mailbox directory keeps beside its messages so that
 * `agora reconstruct` can rebuild the metadata from the files: writing,
 * reading and compacting it.
 *
 * Each mailbox directory holds, besides its message files (named by their
 * 32-hex-digit GUID):
 *   mailbox.meta      the mailbox's own row: name, uniqueid, partition,
 *                     uidvalidity, ACL, special-use, sharedseen; rewritten
 *                     atomically after create, rename, SETACL and the
 *                     special-use and sharedseen changes (never per message),
 *                     and the limits of a quota root named by the mailbox;
 *   mailbox.journal   append-only lines written after each commit that adds,
 *                     changes or expunges messages:
 *                       A UID GUID MODSEQ SIZE INTERNALDATE TZ FLAGS [KEYWORDS]
 *                       F UID MODSEQ FLAGS [KEYWORDS]   (the row's flags)
 *                       f UID MODSEQ FLAGS [KEYWORDS]   (all but \Seen)
 *                       X UID MODSEQ                    (expunged)
 *                       C UIDNEXT HIGHESTMODSEQ BYTES   (first line after
 *                                                        a compaction)
 *                     It is not fsynced: after a machine crash its last lines
 *                     may be missing, and a message it does not name gets a
 *                     new UID (UIDVALIDITY is only changed when a mailbox
 *                     must be rebuilt without any journal). Appended under
 *                     a flock; compacted (journal_compact) when it grows.
 * Per-user \Seen of other readers, subscriptions, users, groups, quota
 * roots named by no mailbox, and annotations live only in the database. */
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

/* ---------------------------------------------------------------- meta */

void sqlite_meta_text(struct sqlite_store *s, const struct mailbox_info *info, str_t *out)
{
	str_printf(out, "agora-mailbox 1\nname %s\nuniqueid %s\npartition %s\nuidvalidity %" PRIu32 "\n"
		   "sharedseen %d\n", info->name, info->uniqueid, info->partition, info->uidvalidity,
		   info->sharedseen ? 1 : 0);
	if (info->specialuse != NULL && info->specialuse[0] != '\0')
		str_printf(out, "specialuse %s\n", info->specialuse);
	/* A quota root named by this mailbox: its limits (-1 for none). */
	sqlite3_stmt *q = sqlite_prep(s, "SELECT coalesce(storage_limit, -1), coalesce(message_limit, -1) "
			       "FROM quota_roots WHERE root = ?");
	if (q != NULL) {
		sqlite3_bind_text(q, 1, info->name, -1, SQLITE_STATIC);
		if (sqlite3_step(q) == SQLITE_ROW)
			str_printf(out, "quota %lld %lld\n", (long long)sqlite3_column_int64(q, 0),
				   (long long)sqlite3_column_int64(q, 1));
		sqlite3_reset(q);
	}
	str_printf(out, "acl %s\n", info->acl != NULL ? info->acl : "");
}

/* Run as root (`agora deliver`, `agora reconstruct`), a new file is given
 * to the owner of its directory, the user the server runs as. */
void sqlite_own_like_dir(int fd, const char *dir)
{
	struct stat st;
	if (geteuid() == 0 && stat(dir, &st) == 0 && fchown(fd, st.st_uid, st.st_gid) < 0)
		log_warn("store: chown in %s: %s", dir, strerror(errno));
}

int sqlite_write_file_atomic(const char *dir, const char *name, const str_t *text)
{
	str_t tmp = STR_INIT, final = STR_INIT;
	str_printf(&tmp, "%s/.%s.tmp", dir, name);
	str_printf(&final, "%s/%s", dir, name);
	int ret = -1;
	int fd = open(str_c(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	if (fd >= 0) {
		sqlite_own_like_dir(fd, dir);
		ssize_t w = write(fd, text->data, text->len);
		if (w == (ssize_t)text->len && fsync(fd) == 0)
			ret = 0;
		if (close(fd) < 0)
			ret = -1;
		if (ret == 0 && rename(str_c(&tmp), str_c(&final)) < 0)
			ret = -1;
		if (ret < 0) {
			unlink(str_c(&tmp));
		} else {
			int dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
		}
	}
	if (ret < 0)
		log_warn("store: writing %s: %s", str_c(&final), strerror(errno));
	str_free(&tmp);
	str_free(&final);
	return ret;
}

int sqlite_meta_write(struct sqlite_store *s, const struct mailbox_info *info)
{
	str_t dir = STR_INIT, text = STR_INIT;
	sqlite_mailbox_dir(s, info->partition, info->uniqueid, &dir);
	sqlite_meta_text(s, info, &text);
	int ret = sqlite_write_file_atomic(str_c(&dir), MAILBOX_META, &text);
	str_free(&dir);
	str_free(&text);
	return ret;
}

static int mailbox_by_id(struct sqlite_store *s, int64_t id, struct mailbox_info *info)
{
	sqlite3_stmt *q = sqlite_prep(s, "SELECT name FROM mailboxes WHERE id = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	if (sqlite3_step(q) != SQLITE_ROW) {
		sqlite3_reset(q);
		return 0;
	}
	char *name = xstrdup((const char *)sqlite3_column_text(q, 0));
	sqlite3_reset(q);
	int r = s->store.be->mailbox_get(&s->store, name, info);
	free(name);
	return r;
}

int sqlite_meta_refresh_name(struct sqlite_store *s, const char *name)
{
	struct mailbox_info info;
	if (s->store.be->mailbox_get(&s->store, name, &info) != 1)
		return -1;
	int ret = sqlite_meta_write(s, &info);
	mailbox_info_free(&info);
	return ret;
}

int sqlite_meta_refresh(struct sqlite_store *s, int64_t id)
{
	struct mailbox_info info;
	if (mailbox_by_id(s, id, &info) != 1)
		return -1;
	int ret = sqlite_meta_write(s, &info);
	mailbox_info_free(&info);
	return ret;
}

/* ---------------------------------------------------------------- journal */

void sqlite_journal_add(str_t *jl, uint32_t uid, const char *guid, uint64_t modseq, uint64_t size,
			time_t internaldate, int tz, uint32_t flags, const char *keywords)
{
	str_printf(jl, "A %" PRIu32 " %s %" PRIu64 " %" PRIu64 " %lld %d %" PRIu32 "%s%s\n", uid, guid,
		   modseq, size, (long long)internaldate, tz, flags & MSG_STORED_FLAGS,
		   keywords != NULL && keywords[0] != '\0' ? " " : "", keywords != NULL ? keywords : "");
}

/* The partition mailbox `id` is on as committed now (malloc'd), or a copy
 * of `fallback` when it has no row (reconstruct's own inserts). */
static char *journal_partition(struct sqlite_store *s, int64_t id, const char *fallback)
{
	sqlite3_stmt *q = sqlite_prep(s, "SELECT partition FROM mailboxes WHERE id = ?");
	char *p = NULL;
	if (q != NULL) {
		sqlite3_bind_int64(q, 1, id);
		if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0) != NULL)
			p = xstrdup((const char *)sqlite3_column_text(q, 0));
		sqlite3_reset(q);
	}
	return p != NULL ? p : xstrdup(fallback);
}

static void journal_compact_maybe(struct sqlite_store *s, int64_t id, const char *partition, const char *dir,
				  const char *path, int fd);

void sqlite_journal_write(struct sqlite_store *s, const struct mailbox_info *mbox, const str_t *jl)
{
	if (jl->len == 0)
		return;
	str_t dir = STR_INIT, path = STR_INIT;
	int fd = -1;
	char *part = NULL;
	/* The file is named by the partition the mailbox is on now (a session's
	 * mailbox_info may predate a move). A compaction or a partition move
	 * may replace the file between open and lock: the lock counts only on
	 * the file the name still gives, in the directory the mailbox is still
	 * in; otherwise open again. */
	for (int attempt = 0; attempt < 10; attempt++) {
		free(part);
		part = journal_partition(s, mbox->id, mbox->partition);
		str_clear(&dir);
		sqlite_mailbox_dir(s, part, mbox->uniqueid, &dir);
		str_clear(&path);
		str_printf(&path, "%s/%s", str_c(&dir), MAILBOX_JOURNAL);
		fd = open(str_c(&path), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
		if (fd < 0) {
			if (errno == ENOENT)
				continue; /* the directory went: moved meanwhile */
			break;
		}
		struct stat a, b;
		char *again = NULL;
		if (flock(fd, LOCK_EX) == 0 && fstat(fd, &a) == 0 && stat(str_c(&path), &b) == 0 &&
		    a.st_dev == b.st_dev && a.st_ino == b.st_ino &&
		    strcmp((again = journal_partition(s, mbox->id, mbox->partition)), part) == 0) {
			free(again);
			break;
		}
		/* an empty journal this made in a directory the mailbox has left */
		if (again != NULL && strcmp(again, part) != 0 && fstat(fd, &a) == 0 && a.st_size == 0)
			unlink(str_c(&path));
		free(again);
		close(fd);
		fd = -1;
	}
	if (fd >= 0 && geteuid() == 0)
		sqlite_own_like_dir(fd, str_c(&dir));
	if (fd < 0 || write(fd, jl->data, jl->len) != (ssize_t)jl->len)
		log_warn("store: %s: %s", str_c(&path), fd < 0 ? strerror(errno) : "short write");
	else
		journal_compact_maybe(s, mbox->id, part, str_c(&dir), str_c(&path), fd);
	if (fd >= 0)
		close(fd);
	free(part);
	str_free(&dir);
	str_free(&path);
}

/* qsort, but never handed a null array (an empty directory). */
void sqlite_sort_n(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
	if (n > 1)
		qsort(base, n, size, cmp);
}

static int jent_uid_cmp(const void *a, const void *b)
{
	const struct jent *x = a, *y = b;
	return x->uid < y->uid ? -1 : x->uid > y->uid;
}

static int jent_guid_cmp(const void *a, const void *b)
{
	return strcmp((*(struct jent *const *)a)->guid, (*(struct jent *const *)b)->guid);
}

static struct jent *journal_uid(struct journal *j, uint32_t uid)
{
	struct jent key = { .uid = uid };
	if (j->n == 0)
		return NULL;
	/* a UID is given once per mailbox */
	return bsearch(&key, j->v, j->n, sizeof(*j->v), jent_uid_cmp);
}

struct jent *sqlite_journal_guid(struct journal *j, const char *guid)
{
	struct jent key, *kp = &key;
	snprintf(key.guid, sizeof(key.guid), "%s", guid);
	if (j->n == 0)
		return NULL;
	struct jent **r = bsearch(&kp, j->by_guid, j->n, sizeof(*j->by_guid), jent_guid_cmp);
	return r != NULL ? *r : NULL;
}

char *sqlite_read_file(const char *dir, const char *name, size_t *len_r)
{
	str_t path = STR_INIT;
	str_printf(&path, "%s/%s", dir, name);
	int fd = open(str_c(&path), O_RDONLY | O_CLOEXEC);
	str_free(&path);
	if (fd < 0)
		return NULL;
	str_t buf = STR_INIT;
	char chunk[65536];
	ssize_t r;
	while ((r = read(fd, chunk, sizeof(chunk))) > 0)
		str_append_n(&buf, chunk, (size_t)r);
	close(fd);
	*len_r = buf.len;
	if (buf.data == NULL)
		str_append(&buf, "");
	return str_steal(&buf);
}

void sqlite_journal_load(struct journal *j, const char *dir)
{
	memset(j, 0, sizeof(*j));
	size_t len;
	char *data = sqlite_read_file(dir, MAILBOX_JOURNAL, &len);
	if (data == NULL)
		return;
	j->present = true;
	/* Pass 1: the A lines; pass 2: changes applied to them. */
	for (int pass = 1; pass <= 2; pass++) {
		if (pass == 2 && j->n > 0) {
			sqlite_sort_n(j->v, j->n, sizeof(*j->v), jent_uid_cmp);
			/* A UID named twice (its line written after a compaction
			 * already took it in): the newer state stays. */
			size_t w = 0;
			for (size_t i = 0; i < j->n; i++) {
				if (w > 0 && j->v[w - 1].uid == j->v[i].uid) {
					if (j->v[i].modseq > j->v[w - 1].modseq) {
						free(j->v[w - 1].keywords);
						j->v[w - 1] = j->v[i];
					} else {
						free(j->v[i].keywords);
					}
					continue;
				}
				j->v[w++] = j->v[i];
			}
			j->n = w;
		}
		char *line = data;
		while (line < data + len) {
			char *nl = memchr(line, '\n', (size_t)(data + len - line));
			if (nl == NULL)
				break; /* a torn last line */
			*nl = '\0';
			char guid[64];
			unsigned long uid = 0;
			unsigned long long modseq = 0, size = 0;
			long long idate = 0;
			int tz = 0, kwpos = 0;
			unsigned flags = 0;
			if (pass == 1 && line[0] == 'A' &&
			    sscanf(line, "A %lu %63s %llu %llu %lld %d %u%n", &uid, guid, &modseq, &size, &idate,
				   &tz, &flags, &kwpos) == 7 && strlen(guid) == 32) {
				j->v = xrealloc(j->v, (j->n + 1) * sizeof(*j->v));
				struct jent *e = &j->v[j->n++];
				memset(e, 0, sizeof(*e));
				e->uid = (uint32_t)uid;
				memcpy(e->guid, guid, 33);
				e->modseq = modseq;
				e->size = size;
				e->idate = idate;
				e->tz = tz;
				e->flags = flags;
				e->fmodseq = e->smodseq = modseq;
				if (line[kwpos] == ' ' && line[kwpos + 1] != '\0')
					e->keywords = xstrdup(line + kwpos + 1);
			} else if (pass == 2 && (line[0] == 'F' || line[0] == 'f') &&
				   sscanf(line + 1, " %lu %llu %u%n", &uid, &modseq, &flags, &kwpos) == 3) {
				/* Lines are written after their commits, by several
				 * processes, and a compacted journal's A lines already
				 * hold the changes up to their modseq: a change counts
				 * only when it is newer than what the entry has. */
				struct jent *e = journal_uid(j, (uint32_t)uid);
				if (e != NULL && line[0] == 'F' && modseq > e->smodseq) {
					e->flags = (e->flags & ~(uint32_t)MSG_SEEN) | (flags & MSG_SEEN);
					e->smodseq = modseq;
				}
				if (e != NULL && modseq > e->fmodseq) {
					e->flags = (flags & ~(uint32_t)MSG_SEEN) | (e->flags & MSG_SEEN);
					e->fmodseq = modseq;
					free(e->keywords);
					e->keywords = NULL;
					const char *k = line + 1 + kwpos;
					if (k[0] == ' ' && k[1] != '\0')
						e->keywords = xstrdup(k + 1);
				}
			} else if (pass == 2 && line[0] == 'X' && sscanf(line, "X %lu %llu", &uid, &modseq) == 2) {
				struct jent *e = journal_uid(j, (uint32_t)uid);
				if (e != NULL)
					e->expunged = true;
			} else if (pass == 2 && line[0] == 'C' && sscanf(line, "C %lu %llu", &uid, &modseq) == 2) {
				/* a compaction: the mailbox's uidnext and highestmodseq then */
				if (uid > 0)
					uid--;
			}
			if (pass == 2) {
				if (uid > j->max_uid)
					j->max_uid = (uint32_t)uid;
				if (modseq > j->max_modseq)
					j->max_modseq = modseq;
			}
			*nl = '\n';
			line = nl + 1;
		}
	}
	for (size_t i = 0; i < j->n; i++) {
		if (j->v[i].uid > j->max_uid)
			j->max_uid = j->v[i].uid;
		if (j->v[i].modseq > j->max_modseq)
			j->max_modseq = j->v[i].modseq;
	}
	j->by_guid = xcalloc(j->n ? j->n : 1, sizeof(*j->by_guid));
	for (size_t i = 0; i < j->n; i++)
		j->by_guid[i] = &j->v[i];
	sqlite_sort_n(j->by_guid, j->n, sizeof(*j->by_guid), jent_guid_cmp);
	free(data);
}

void sqlite_journal_free(struct journal *j)
{
	for (size_t i = 0; i < j->n; i++)
		free(j->v[i].keywords);
	free(j->v);
	free(j->by_guid);
}

/* Compaction. The journal would grow with every change for as long as the
 * mailbox lives; once it is JOURNAL_COMPACT_FACTOR times the size of its
 * last compacted state (and at least JOURNAL_COMPACT_MIN_BYTES), it is
 * replaced by the mailbox's state now:
 *   C UIDNEXT HIGHESTMODSEQ BYTES   the mailbox then; BYTES: the lines after
 *   A ...                           one per message, its flags and keywords
 *                                   now and the modseq of its last change
 *   A ... / X UID MODSEQ            an expunged message whose file is still
 *                                   there (its unlink has not happened yet)
 * Done by whoever appended the line that crossed the threshold, holding the
 * journal's lock (so no line is appended to the old file meanwhile: a writer
 * that waited finds the name pointing to the new file and opens it again),
 * reading the state in one read transaction taken after the lock: every
 * change whose line is in the old file committed before it. A change
 * committed after the read is appended to the new file; one committed
 * before the read but appended after is there twice, and the loader keeps
 * the newer state by modseq.
 * Crash safety: the new file is written as .mailbox.journal.tmp, fsynced,
 * renamed over mailbox.journal, and the directory fsynced. Before the
 * rename the old journal is whole and the temporary file is ignored (and
 * removed) by reconstruct; after it, the new one is whole. */
static void journal_compact(struct sqlite_store *s, int64_t id, const char *partition, const char *dir)
{
	str_t body = STR_INIT, text = STR_INIT;
	long long uidnext = 0, hms = 0;
	bool ok = false;
	if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
		return;
	sqlite3_stmt *q = sqlite_prep(s, "SELECT partition, uidnext, highestmodseq FROM mailboxes WHERE id = ?");
	if (q != NULL) {
		sqlite3_bind_int64(q, 1, id);
		if (sqlite3_step(q) == SQLITE_ROW && sqlite3_column_text(q, 0) != NULL &&
		    strcmp((const char *)sqlite3_column_text(q, 0), partition) == 0) {
			uidnext = sqlite3_column_int64(q, 1);
			hms = sqlite3_column_int64(q, 2);
			ok = true;
		}
		sqlite3_reset(q);
	}
	q = ok ? sqlite_prep(s, "SELECT uid, guid, modseq, size, internaldate, tz, flags, keywords FROM messages "
			     "WHERE mailbox = ? ORDER BY uid") : NULL;
	if (q != NULL) {
		sqlite3_bind_int64(q, 1, id);
		int rc;
		while ((rc = sqlite3_step(q)) == SQLITE_ROW)
			sqlite_journal_add(&body, (uint32_t)sqlite3_column_int64(q, 0),
					   (const char *)sqlite3_column_text(q, 1), (uint64_t)sqlite3_column_int64(q, 2),
					   (uint64_t)sqlite3_column_int64(q, 3), (time_t)sqlite3_column_int64(q, 4),
					   sqlite3_column_int(q, 5), (uint32_t)sqlite3_column_int(q, 6),
					   (const char *)sqlite3_column_text(q, 7));
		if (rc != SQLITE_DONE)
			ok = false;
		sqlite3_reset(q);
	} else {
		ok = false;
	}
	sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
	if (ok) {
		struct journal j;
		sqlite_journal_load(&j, dir);
		str_t p = STR_INIT;
		for (size_t i = 0; i < j.n; i++) {
			const struct jent *e = &j.v[i];
			if (!e->expunged)
				continue;
			str_clear(&p);
			str_printf(&p, "%s/%s", dir, e->guid);
			if (access(str_c(&p), F_OK) < 0)
				continue;
			sqlite_journal_add(&body, e->uid, e->guid, e->modseq, e->size, (time_t)e->idate, e->tz,
					   e->flags, e->keywords);
			str_printf(&body, "X %" PRIu32 " %" PRIu64 "\n", e->uid, e->modseq);
		}
		str_free(&p);
		sqlite_journal_free(&j);
		str_printf(&text, "C %lld %lld %zu\n", uidnext, hms, body.len);
		str_append_n(&text, body.data != NULL ? body.data : "", body.len);
		sqlite_write_file_atomic(dir, MAILBOX_JOURNAL, &text);
	}
	str_free(&body);
	str_free(&text);
}

static void journal_compact_maybe(struct sqlite_store *s, int64_t id, const char *partition, const char *dir,
				  const char *path, int fd)
{
	struct stat st;
	if (fstat(fd, &st) < 0 || st.st_size < JOURNAL_COMPACT_MIN_BYTES)
		return;
	/* Not inside a transaction (reconstruct's own lines): the state read
	 * must be a committed one. */
	if (!sqlite3_get_autocommit(s->db))
		return;
	unsigned long long base = 0;
	char head[128];
	int rfd = open(path, O_RDONLY | O_CLOEXEC);
	if (rfd >= 0) {
		ssize_t r = read(rfd, head, sizeof(head) - 1);
		close(rfd);
		if (r > 0) {
			head[r] = '\0';
			if (sscanf(head, "C %*u %*u %llu", &base) != 1)
				base = 0;
		}
	}
	if ((unsigned long long)st.st_size <= JOURNAL_COMPACT_FACTOR * base)
		return;
	journal_compact(s, id, partition, dir);
}
