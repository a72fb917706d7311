/* The embedded store: metadata in SQLite, each message in its own file.
 *
 * On disk, under `configdirectory`:
 *   agora.db (+ -wal, -shm)   the metadata database, WAL mode, synchronous=FULL
 *   secrets.db (+ -wal, -shm) password hashes and SCRAM keys (secrets.h),
 *                             which this file never opens
 * and under each partition directory:
 *   tmp/GUID                  a message being received, not yet in any mailbox
 *   XX/UNIQUEID/GUID          a message of the mailbox whose uniqueid is
 *                             UNIQUEID (XX = its first two characters)
 *
 * Invariants:
 * - A message file never changes after it is renamed out of tmp/; a file is
 *   written and fsynced (and its directory entry fsynced) before the row that
 *   names it is committed, so every committed row names a complete file.
 * - A row of `messages` names its file as (mailbox's partition, uniqueid,
 *   guid). COPY hard-links the file into the target's directory, so each
 *   mailbox directory holds exactly the files of its messages and a mailbox
 *   can be rebuilt from its directory alone.
 * - A file with no row (a crash between rename and commit, or between
 *   commit and unlink after EXPUNGE) is garbage, never a message a client was
 *   told about; `agora reconstruct` finds such files.
 * - uidnext only grows; every change to a message takes modseq =
 *   ++highestmodseq of its mailbox in the same transaction; an expunged UID
 *   is recorded in `expunged` with the modseq of its expunge so that other
 *   sessions learn of it.
 * - \Seen lives in messages.flags for the owner of a personal mailbox and for
 *   everyone in a sharedseen mailbox; any other reader's \Seen is a row in
 *   `seen`.
 * - A mailbox's partition changes only in a transaction that commits after
 *   every file is in the new partition's directory (mailbox_move_partition);
 *   the old files are removed after it. Code that names a file therefore
 *   asks for the partition as committed (current_partition), never trusts a
 *   caller's mailbox_info for it. */
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

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value TEXT);"
	/* An account; its password hash and SCRAM keys are in secrets.db
	 * under secret_id (lib-storage/secrets.h), never here. */
	"CREATE TABLE IF NOT EXISTS users(name TEXT PRIMARY KEY, created INTEGER NOT NULL,"
	"  secret_id TEXT NOT NULL DEFAULT '');"
	"CREATE TABLE IF NOT EXISTS groups(name TEXT PRIMARY KEY);"
	"CREATE TABLE IF NOT EXISTS group_members(grp TEXT NOT NULL REFERENCES groups(name) ON DELETE CASCADE,"
	"  member TEXT NOT NULL, PRIMARY KEY(grp, member));"
	"CREATE INDEX IF NOT EXISTS group_members_member ON group_members(member);"
	"CREATE TABLE IF NOT EXISTS mailboxes(id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL,"
	"  uniqueid TEXT UNIQUE NOT NULL, partition TEXT NOT NULL, acl TEXT NOT NULL, specialuse TEXT,"
	"  owner TEXT, uidvalidity INTEGER NOT NULL, uidnext INTEGER NOT NULL,"
	"  recentuid INTEGER NOT NULL DEFAULT 0, highestmodseq INTEGER NOT NULL,"
	"  sharedseen INTEGER NOT NULL DEFAULT 0);"
	"CREATE TABLE IF NOT EXISTS messages(mailbox INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	"  uid INTEGER NOT NULL, guid TEXT NOT NULL, size INTEGER NOT NULL, internaldate INTEGER NOT NULL,"
	"  tz INTEGER NOT NULL, sentdate INTEGER NOT NULL, flags INTEGER NOT NULL, keywords TEXT,"
	"  modseq INTEGER NOT NULL, envelope TEXT, bodystructure TEXT, body TEXT, header BLOB,"
	"  PRIMARY KEY(mailbox, uid));"
	/* The message rows are wide (envelope, body structure and header are
	 * cached in them: a row or more per page), so listing a mailbox from
	 * the table reads a page per message. This index holds everything a
	 * listing, a sync since a modseq and the counts need, about a hundred
	 * messages per page: those queries never touch the table. */
	"DROP INDEX IF EXISTS messages_modseq;"
	"CREATE INDEX IF NOT EXISTS messages_list ON messages(mailbox, modseq, uid, flags, size, keywords);"
	"CREATE TABLE IF NOT EXISTS seen(mailbox INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	"  user TEXT NOT NULL, uid INTEGER NOT NULL, PRIMARY KEY(mailbox, user, uid));"
	"CREATE TABLE IF NOT EXISTS expunged(mailbox INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	"  uid INTEGER NOT NULL, modseq INTEGER NOT NULL, PRIMARY KEY(mailbox, uid));"
	"CREATE TABLE IF NOT EXISTS subscriptions(user TEXT NOT NULL, name TEXT NOT NULL, PRIMARY KEY(user, name));"
	/* The sharing index: identifier -> mailboxes whose ACL lets it look. */
	"CREATE TABLE IF NOT EXISTS shares(ident TEXT NOT NULL, mailbox INTEGER NOT NULL REFERENCES mailboxes(id)"
	"  ON DELETE CASCADE, PRIMARY KEY(ident, mailbox)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS shares_mailbox ON shares(mailbox);"
	/* Quota roots with their usage, kept in step by every transaction that
	 * adds or removes messages. */
	"CREATE TABLE IF NOT EXISTS quota_roots(root TEXT PRIMARY KEY, storage_limit INTEGER,"
	"  message_limit INTEGER, storage_used INTEGER NOT NULL DEFAULT 0,"
	"  message_used INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
	/* Duplicate suppression of deliveries: (mailbox, Message-ID). */
	"CREATE TABLE IF NOT EXISTS deliveries(mailbox INTEGER NOT NULL REFERENCES mailboxes(id) ON DELETE CASCADE,"
	"  message_id TEXT NOT NULL, time INTEGER NOT NULL, PRIMARY KEY(mailbox, message_id)) WITHOUT ROWID;"
	/* RFC 5464 metadata; mailbox 0 holds the server's entries. */
	"CREATE TABLE IF NOT EXISTS metadata(mailbox INTEGER NOT NULL, user TEXT NOT NULL, entry TEXT NOT NULL,"
	"  value BLOB NOT NULL, PRIMARY KEY(mailbox, user, entry)) WITHOUT ROWID;"
	"INSERT OR IGNORE INTO meta(key, value) VALUES('schema', '" SCHEMA_VERSION "');"
	"INSERT OR IGNORE INTO meta(key, value) VALUES('last_uidvalidity', '0');";


static int shares_write(struct sqlite_store *s, int64_t id, const char *acl);
static int copy_file(const char *from, const char *to);

int sqlite_fail(struct sqlite_store *s, int code, const char *fmt, ...)
{
	va_list ap;
	str_clear(&s->error);
	va_start(ap, fmt);
	str_vprintf(&s->error, fmt, ap);
	va_end(ap);
	s->errcode = code;
	if (code == STORE_ERR_INTERNAL)
		log_error("store: %s", str_c(&s->error));
	return -1;
}

int sqlite_db_fail(struct sqlite_store *s, const char *what)
{
	return sqlite_fail(s, STORE_ERR_INTERNAL, "%s: %s", what, sqlite3_errmsg(s->db));
}

/* Prepared statements are cached by the address of their SQL text, which
 * is always a string literal. */
sqlite3_stmt *sqlite_prep(struct sqlite_store *s, const char *sql)
{
	unsigned i;
	for (i = 0; i < STMT_CACHE && s->cache[i].sql != NULL; i++) {
		if (s->cache[i].sql == sql) {
			sqlite3_reset(s->cache[i].stmt);
			sqlite3_clear_bindings(s->cache[i].stmt);
			return s->cache[i].stmt;
		}
	}
	sqlite3_stmt *stmt;
	if (sqlite3_prepare_v3(s->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &stmt, NULL) != SQLITE_OK) {
		sqlite_db_fail(s, "prepare");
		return NULL;
	}
	if (i < STMT_CACHE) {
		s->cache[i].sql = sql;
		s->cache[i].stmt = stmt;
	} else {
		log_warn("store: statement cache full");
	}
	return stmt;
}

/* A statement that returned a row and was not reset keeps its read
 * transaction, and with it an old snapshot: later reads would not see other
 * processes' changes, and a write would fail with SQLITE_BUSY_SNAPSHOT.
 * Every operation below resets what it used; this is the safety net run
 * before each transaction and each change check. */
static void reset_all(struct sqlite_store *s)
{
	for (unsigned i = 0; i < STMT_CACHE && s->cache[i].sql != NULL; i++) {
		if (sqlite3_stmt_busy(s->cache[i].stmt))
			sqlite3_reset(s->cache[i].stmt);
	}
}

static int exec(struct sqlite_store *s, const char *sql)
{
	char *msg = NULL;
	if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "%s: %s", sql, msg != NULL ? msg : "?");
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

static int tx_begin(struct sqlite_store *s)
{
	reset_all(s);
	return exec(s, "BEGIN IMMEDIATE");
}

static int tx_commit(struct sqlite_store *s)
{
	return exec(s, "COMMIT");
}

/* Group commit for new messages. A commit with synchronous=FULL fsyncs
 * the WAL while it holds the database's write lock, so every delivery of
 * every worker would wait for every other's fsync in turn. Messages are
 * committed with synchronous=NORMAL instead, and the WAL is fdatasync'ed
 * after the lock is released and before the caller acknowledges anything:
 * concurrent committers' syncs then overlap, and one flush of the file
 * covers every commit written before it. The frames of a commit are either
 * still in the WAL when the sync runs, or a checkpoint (which syncs the WAL
 * before copying, and the database after) has already made them durable.
 * Returns -1 when the sync fails: the caller must not report success. */
static int tx_begin_grouped(struct sqlite_store *s)
{
	sqlite3_exec(s->db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL);
	if (tx_begin(s) < 0) {
		sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

static int tx_commit_then_sync(struct sqlite_store *s, bool *committed_r)
{
	int ret = tx_commit(s);
	sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
	if (ret < 0)
		return -1;
	*committed_r = true;
	if (s->wal_fd < 0)
		s->wal_fd = open(s->wal_path, O_RDONLY | O_CLOEXEC);
	if (s->wal_fd < 0 || fdatasync(s->wal_fd) < 0)
		return sqlite_fail(s, STORE_ERR_INTERNAL, "syncing %s: %s", s->wal_path, strerror(errno));
	return 0;
}

static void tx_rollback(struct sqlite_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
	sqlite3_exec(s->db, "PRAGMA synchronous=FULL", NULL, NULL, NULL);
}

static char *col_dup(sqlite3_stmt *st, int i)
{
	const unsigned char *t = sqlite3_column_text(st, i);
	return t != NULL ? xstrdup((const char *)t) : NULL;
}

/* Runs a statement that returns no rows. */
int sqlite_step_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE) {
		if (rc == SQLITE_CONSTRAINT)
			return sqlite_fail(s, STORE_ERR_EXISTS, "%s: already exists", what);
		return sqlite_db_fail(s, what);
	}
	return 0;
}

static void random_hex(char *out, size_t nbytes)
{
	unsigned char buf[32];
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	size_t got = 0;
	if (fd >= 0) {
		ssize_t r = read(fd, buf, nbytes);
		if (r > 0)
			got = (size_t)r;
		close(fd);
	}
	if (got < nbytes) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		srandom((unsigned)(ts.tv_nsec ^ getpid()));
		for (size_t i = 0; i < nbytes; i++)
			buf[i] = (unsigned char)random();
	}
	for (size_t i = 0; i < nbytes; i++)
		sprintf(out + 2 * i, "%02x", buf[i]);
}

/* ---------------------------------------------------------------- open */

/* A store made before secrets.db has users.hash (and user_secrets) and no
 * secret_id; the column comes here, the secrets move in secrets_migrate
 * (which only a process that may open secrets.db runs). */
static int add_secret_id(struct sqlite_store *s)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(s->db, "SELECT secret_id FROM users LIMIT 0", -1, &q, NULL) == SQLITE_OK) {
		sqlite3_finalize(q);
		return 0;
	}
	return sqlite3_exec(s->db, "ALTER TABLE users ADD COLUMN secret_id TEXT NOT NULL DEFAULT ''",
			    NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

static struct store *sq_open(const struct config *cfg, str_t *err)
{
	const char *dir = config_str(cfg, "configdirectory");
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		str_printf(err, "configdirectory %s: %s", dir, strerror(errno));
		return NULL;
	}
	str_t path = STR_INIT;
	str_printf(&path, "%s/agora.db", dir);
	struct sqlite_store *s = xcalloc(1, sizeof(*s));
	s->store.be = &store_sqlite_backend;
	s->cfg = cfg;
	s->wal_fd = -1;
	if (sqlite3_open_v2(str_c(&path), &s->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
			    SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		str_printf(err, "%s: %s", str_c(&path), s->db ? sqlite3_errmsg(s->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(s->db, 30000);
	if (exec(s, "PRAGMA journal_mode=WAL") < 0 ||
	    exec(s, "PRAGMA synchronous=FULL") < 0 ||
	    exec(s, "PRAGMA foreign_keys=ON") < 0) {
		str_printf(err, "%s: %s", str_c(&path), str_c(&s->error));
		goto fail;
	}
	if (sqlite3_exec(s->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(s->db, schema, NULL, NULL, NULL) != SQLITE_OK ||
	    add_secret_id(s) < 0 ||
	    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		str_printf(err, "%s: cannot set up the schema: %s", str_c(&path), sqlite3_errmsg(s->db));
		goto fail;
	}
	str_append(&path, "-wal");
	s->wal_path = str_steal(&path);
	return &s->store;
fail:
	str_free(&path);
	if (s->db != NULL)
		sqlite3_close(s->db);
	str_free(&s->error);
	free(s);
	return NULL;
}

static void sq_close(struct store *st)
{
	struct sqlite_store *s = S(st);
	for (unsigned i = 0; i < STMT_CACHE && s->cache[i].sql != NULL; i++)
		sqlite3_finalize(s->cache[i].stmt);
	sqlite3_close(s->db);
	if (s->wal_fd >= 0)
		close(s->wal_fd);
	free(s->wal_path);
	str_free(&s->error);
	free(s);
}

static const char *sq_error(struct store *st)
{
	return str_c(&S(st)->error);
}

static int sq_errcode(struct store *st)
{
	return S(st)->errcode;
}

static uint64_t sq_change_counter(struct store *st)
{
	struct sqlite_store *s = S(st);
	reset_all(s);
	sqlite3_stmt *q = sqlite_prep(s, "PRAGMA data_version");
	if (q == NULL || sqlite3_step(q) != SQLITE_ROW)
		return 0;
	uint64_t v = (uint64_t)sqlite3_column_int64(q, 0);
	sqlite3_reset(q);
	return v;
}

/* ---------------------------------------------------------------- users */

static int sq_user_add(struct store *st, const char *name, const char *secret_id)
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

static int sq_user_del(struct store *st, const char *name)
{
	struct sqlite_store *s = S(st);
	if (tx_begin(s) < 0)
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
	return tx_commit(s);
fail:
	tx_rollback(s);
	return -1;
}

static int sq_user_get(struct store *st, const char *name, str_t *secret_id)
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

static int sq_user_list(struct store *st, void (*cb)(const char *, void *), void *ctx)
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

static int sq_group_add(struct store *st, const char *name, const char *const *members)
{
	struct sqlite_store *s = S(st);
	if (tx_begin(s) < 0)
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
	return tx_commit(s);
fail:
	tx_rollback(s);
	return -1;
}

static int sq_group_del(struct store *st, const char *name)
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

static int sq_group_list(struct store *st, void (*cb)(const char *, const char *, void *), void *ctx)
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

static int sq_user_groups(struct store *st, const char *user, char ***groups_r)
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
		v[n++] = col_dup(q, 0);
		v[n] = NULL;
	}
	*groups_r = v;
	return rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "user groups");
}

/* ---------------------------------------------------------------- mailboxes */

#define MBOX_COLS "id, name, uniqueid, partition, acl, specialuse, uidvalidity, uidnext, " \
	"recentuid, highestmodseq, sharedseen"

static void mbox_from_row(sqlite3_stmt *q, struct mailbox_info *info)
{
	info->id = sqlite3_column_int64(q, 0);
	info->name = col_dup(q, 1);
	info->uniqueid = col_dup(q, 2);
	info->partition = col_dup(q, 3);
	info->acl = col_dup(q, 4);
	info->specialuse = col_dup(q, 5);
	info->uidvalidity = (uint32_t)sqlite3_column_int64(q, 6);
	info->uidnext = (uint32_t)sqlite3_column_int64(q, 7);
	info->recentuid = (uint32_t)sqlite3_column_int64(q, 8);
	info->highestmodseq = (uint64_t)sqlite3_column_int64(q, 9);
	info->sharedseen = sqlite3_column_int(q, 10) != 0;
}

static int sq_mailbox_get(struct store *st, const char *name, struct mailbox_info *info)
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

static const char *partition_dir(struct sqlite_store *s, const char *partition)
{
	return config_partition(s->cfg, partition);
}

static void mailbox_dir(struct sqlite_store *s, const char *partition, const char *uniqueid, str_t *out)
{
	str_printf(out, "%s/%.2s/%s", partition_dir(s, partition), uniqueid, uniqueid);
}

void sqlite_mailbox_dir(struct sqlite_store *s, const char *partition, const char *uniqueid, str_t *out)
{
	mailbox_dir(s, partition, uniqueid, out);
}

static int mkdir_p(const char *path, mode_t mode)
{
	char *copy = xstrdup(path);
	for (char *p = copy + 1; *p != '\0'; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		if (mkdir(copy, mode) < 0 && errno != EEXIST) {
			free(copy);
			return -1;
		}
		*p = '/';
	}
	int ret = mkdir(copy, mode) < 0 && errno != EEXIST ? -1 : 0;
	free(copy);
	return ret;
}

static int fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int ret = fsync(fd);
	close(fd);
	return ret;
}

/* The partition a mailbox is on as committed now (inside a transaction:
 * as this transaction sees it). A session's mailbox_info may be older than
 * a partition move, so every code that names files asks here. Returns
 * malloc'd, or NULL (error set) when the mailbox is gone. */
static char *current_partition(struct sqlite_store *s, int64_t id)
{
	sqlite3_stmt *q = sqlite_prep(s, "SELECT partition FROM mailboxes WHERE id = ?");
	if (q == NULL)
		return NULL;
	sqlite3_bind_int64(q, 1, id);
	int rc = sqlite3_step(q);
	char *p = rc == SQLITE_ROW ? col_dup(q, 0) : NULL;
	sqlite3_reset(q);
	if (p == NULL) {
		if (rc == SQLITE_ROW || rc == SQLITE_DONE)
			sqlite_fail(s, STORE_ERR_NOTFOUND, "mailbox vanished");
		else
			sqlite_db_fail(s, "partition");
	}
	return p;
}

/* The directory of a mailbox on its current partition. */
static int current_dir(struct sqlite_store *s, int64_t id, const char *uniqueid, str_t *out)
{
	char *part = current_partition(s, id);
	if (part == NULL)
		return -1;
	if (partition_dir(s, part) == NULL) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "mailbox on unknown partition %s", part);
		free(part);
		return -1;
	}
	str_clear(out);
	mailbox_dir(s, part, uniqueid, out);
	free(part);
	return 0;
}

/* Gives `to` the content of the complete file `from`: a hard link, or a
 * fsynced copy across filesystems. */
static int place_file(const char *from, const char *to)
{
	if (link(from, to) == 0)
		return 0;
	if (errno != EXDEV)
		return -1;
	return copy_file(from, to);
}

static int sq_mailbox_create(struct store *st, const char *name, const char *partition,
			     const char *acl, const char *specialuse, struct mailbox_info *info)
{
	struct sqlite_store *s = S(st);
	if (partition_dir(s, partition) == NULL)
		return sqlite_fail(s, STORE_ERR_NOTFOUND, "no partition %s", partition);
	char uniqueid[33];
	random_hex(uniqueid, 16);
	str_t dir = STR_INIT;
	mailbox_dir(s, partition, uniqueid, &dir);
	if (mkdir_p(str_c(&dir), 0750) < 0) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "mkdir %s: %s", str_c(&dir), strerror(errno));
		str_free(&dir);
		return -1;
	}
	if (tx_begin(s) < 0)
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
	if (shares_write(s, sqlite3_last_insert_rowid(s->db), acl) < 0 || tx_commit(s) < 0)
		goto fail;
	str_free(&dir);
	struct mailbox_info made;
	if (sq_mailbox_get(st, name, &made) != 1)
		return -1;
	sqlite_meta_write(s, &made);
	if (info != NULL)
		*info = made;
	else
		mailbox_info_free(&made);
	return 0;
fail:
	tx_rollback(s);
fail_dir:
	rmdir(str_c(&dir));
	str_free(&dir);
	return -1;
}

/* A mailbox directory holds only flat message files. */
static int remove_tree(const char *dir)
{
	int ret = 0;
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT ? 0 : -1;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		/* gone meanwhile: an APPEND or COPY removing its early copy */
		if (unlinkat(dirfd(d), de->d_name, 0) < 0 && errno != ENOENT)
			ret = -1;
	}
	closedir(d);
	if (rmdir(dir) < 0 && errno != ENOENT)
		ret = -1;
	return ret;
}

static int sq_mailbox_delete(struct store *st, const struct mailbox_info *info)
{
	struct sqlite_store *s = S(st);
	str_t dir = STR_INIT;
	if (tx_begin(s) < 0)
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
	if (current_dir(s, info->id, info->uniqueid, &dir) < 0) {
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
	if (sqlite_step_done(s, q, "mailbox delete metadata") < 0 || tx_commit(s) < 0)
		goto fail;
	if (remove_tree(str_c(&dir)) < 0)
		log_warn("store: could not remove all of %s: %s", str_c(&dir), strerror(errno));
	str_free(&dir);
	return 0;
fail:
	tx_rollback(s);
	str_free(&dir);
	return -1;
}

/* The rows of a rename, inside a transaction. */
static int rename_tx(struct sqlite_store *s, const char *oldname, const char *newname)
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
		names[n] = col_dup(q, 1);
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
static void meta_refresh_under(struct sqlite_store *s, const char *name)
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

static int sq_mailbox_rename(struct store *st, const char *oldname, const char *newname)
{
	struct sqlite_store *s = S(st);
	if (tx_begin(s) < 0)
		return -1;
	if (rename_tx(s, oldname, newname) < 0 || tx_commit(s) < 0) {
		tx_rollback(s);
		return -1;
	}
	meta_refresh_under(s, newname);
	return 0;
}

static int sq_mailbox_list(struct store *st, const char *prefix,
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
	/* The callback may call back into the store, which would reset this
	 * cached statement: collect first. */
	struct mailbox_info *all = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		all = xrealloc(all, (n + 1) * sizeof(*all));
		memset(&all[n], 0, sizeof(all[n]));
		mbox_from_row(q, &all[n]);
		n++;
	}
	sqlite3_reset(q);
	for (size_t i = 0; i < n; i++) {
		if (rc == SQLITE_DONE)
			cb(&all[i], ctx);
		mailbox_info_free(&all[i]);
	}
	free(all);
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
static int shares_write(struct sqlite_store *s, int64_t id, const char *acl)
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

static int sq_mailbox_set_acl(struct store *st, int64_t id, const char *acl)
{
	struct sqlite_store *s = S(st);
	if (tx_begin(s) < 0)
		return -1;
	sqlite3_stmt *q = sqlite_prep(s, "UPDATE mailboxes SET acl = ? WHERE id = ?");
	if (q != NULL)
		sqlite3_bind_text(q, 1, acl, -1, SQLITE_STATIC);
	if (set_column(s, q, id) < 0 || shares_write(s, id, acl) < 0 || tx_commit(s) < 0) {
		tx_rollback(s);
		return -1;
	}
	sqlite_meta_refresh(s, id);
	return 0;
}

static int sq_mailbox_list_shared(struct store *st, const char *const *idents,
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
		while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
			all = xrealloc(all, (n + 1) * sizeof(*all));
			memset(&all[n], 0, sizeof(all[n]));
			mbox_from_row(q, &all[n]);
			n++;
		}
		sqlite3_reset(q);
	}
	for (size_t i = 0; i < n; i++) {
		if (rc == SQLITE_DONE)
			cb(&all[i], ctx);
		mailbox_info_free(&all[i]);
	}
	free(all);
	return rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "shared list");
}

static int sq_shares_rebuild(struct store *st)
{
	struct sqlite_store *s = S(st);
	if (tx_begin(s) < 0)
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
		acls[n] = col_dup(q, 1);
		n++;
	}
	sqlite3_reset(q);
	int ret = exec(s, "DELETE FROM shares");
	for (size_t i = 0; i < n; i++) {
		if (ret == 0)
			ret = shares_write(s, ids[i], acls[i]);
		free(acls[i]);
	}
	free(ids);
	free(acls);
	if (ret < 0 || tx_commit(s) < 0)
		goto fail;
	return 0;
fail:
	tx_rollback(s);
	return -1;
}

static int sq_mailbox_set_specialuse(struct store *st, int64_t id, const char *su)
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

static int sq_mailbox_set_sharedseen(struct store *st, int64_t id, bool shared)
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
static bool seen_in_flags(const struct mailbox_info *mbox, const char *user)
{
	if (mbox->sharedseen || user == NULL)
		return true;
	char *owner = mailbox_owner(mbox->name);
	bool mine = owner != NULL && strcmp(owner, user) == 0;
	free(owner);
	return mine;
}

static int sq_mailbox_counts(struct store *st, const struct mailbox_info *mbox, const char *user,
			     struct mailbox_counts *c)
{
	struct sqlite_store *s = S(st);
	sqlite3_stmt *q;
	bool own = seen_in_flags(mbox, user);
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

static int sq_mailbox_claim_recent(struct store *st, int64_t id, uint32_t *old_r, uint32_t *new_r)
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
	if (tx_begin(s) < 0)
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
	return tx_commit(s);
fail:
	tx_rollback(s);
	return -1;
}

/* ---------------------------------------------------------------- metadata */

static int sq_metadata_set(struct store *st, int64_t mailbox, const char *user, const char *entry,
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

static int sq_metadata_list(struct store *st, int64_t mailbox, const char *user, const char *prefix,
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

static int sq_metadata_count(struct store *st, int64_t mailbox, unsigned *count_r)
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

/* ---------------------------------------------------------------- subscriptions */

static int sq_subscribe(struct store *st, const char *user, const char *name, bool on)
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

static int sq_subscriptions(struct store *st, const char *user, void (*cb)(const char *, void *), void *ctx)
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
		names[n++] = col_dup(q, 0);
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

/* ---------------------------------------------------------------- messages */

static int sq_tmpfile_create(struct store *st, const char *partition, str_t *path_r)
{
	struct sqlite_store *s = S(st);
	const char *dir = partition_dir(s, partition);
	if (dir == NULL)
		return sqlite_fail(s, STORE_ERR_NOTFOUND, "no partition %s", partition);
	char guid[33];
	random_hex(guid, 16);
	str_clear(path_r);
	str_printf(path_r, "%s/tmp", dir);
	if (mkdir_p(str_c(path_r), 0750) < 0)
		return sqlite_fail(s, STORE_ERR_INTERNAL, "mkdir %s: %s", str_c(path_r), strerror(errno));
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

static int sq_msg_append(struct store *st, const struct mailbox_info *mbox, const char *user,
			 const struct new_msg *m, uint32_t *uid_r, uint64_t *modseq_r)
{
	struct sqlite_store *s = S(st);
	const char *guid = path_basename(m->tmp_path);
	str_t dir = STR_INIT, final = STR_INIT, moved = STR_INIT;
	bool committed = false;
	if (current_dir(s, mbox->id, mbox->uniqueid, &dir) < 0)
		goto fail_file;
	str_printf(&final, "%s/%s", str_c(&dir), guid);
	/* The file reaches its final name, durably, before the row exists:
	 * linked (copied when the temporary file is on another partition's
	 * filesystem) and its directory fsynced. The temporary name stays
	 * until the commit: a partition move that switches the mailbox
	 * meanwhile removes the old directory with what is in it. When this
	 * early placement fails (a move removed the directory under it), the
	 * file is placed under the lock below instead. */
	if (mkdir_p(str_c(&dir), 0750) < 0 || place_file(m->tmp_path, str_c(&final)) < 0 ||
	    fsync_dir(str_c(&dir)) < 0) {
		unlink(str_c(&final));
		str_clear(&final);
	}
	bool own_seen = seen_in_flags(mbox, user);
	if (tx_begin_grouped(s) < 0)
		goto fail_file;
	/* Under the lock: the file is where the mailbox is now (a move may have
	 * switched it, or moved it away and back, since the file was placed). */
	str_t now = STR_INIT;
	if (current_dir(s, mbox->id, mbox->uniqueid, &now) < 0) {
		str_free(&now);
		goto fail;
	}
	str_printf(&moved, "%s/%s", str_c(&now), guid);
	if (access(str_c(&moved), F_OK) < 0 &&
	    (mkdir_p(str_c(&now), 0750) < 0 || place_file(m->tmp_path, str_c(&moved)) < 0 ||
	     fsync_dir(str_c(&now)) < 0)) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "storing %s: %s", str_c(&moved), strerror(errno));
		str_free(&now);
		goto fail;
	}
	str_free(&now);
	/* A copy placed early in a directory the mailbox has left goes now,
	 * while the row does not exist yet. After the commit that name may be
	 * the message's real one again: a move back to that partition links
	 * the committed message there under the lock. */
	if (strncmp(str_c(&moved), str_c(&dir), dir.len) != 0 || str_c(&moved)[dir.len] != '/') {
		if (final.len > 0)
			unlink(str_c(&final));
		rmdir(str_c(&dir)); /* when empty: a directory only this made again */
	}
	str_clear(&final);
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
	if (tx_commit_then_sync(s, &committed) < 0)
		goto fail;
	str_t jl = STR_INIT;
	sqlite_journal_add(&jl, *uid_r, guid, *modseq_r, m->size, m->internaldate, m->internaldate_tz,
			   flags, m->keywords);
	sqlite_journal_write(s, mbox, &jl);
	str_free(&jl);
	unlink(m->tmp_path);
	str_free(&dir);
	str_free(&final);
	str_free(&moved);
	return 0;
fail:
	tx_rollback(s);
fail_file:
	/* Only files no committed row names (a commit whose WAL sync failed
	 * keeps its file: the row may survive). */
	if (final.len > 0)
		unlink(str_c(&final));
	if (moved.len > 0 && !committed)
		unlink(str_c(&moved));
	unlink(m->tmp_path);
	str_free(&dir);
	str_free(&final);
	str_free(&moved);
	return -1;
}

static int sq_msg_list(struct store *st, const struct mailbox_info *mbox, const char *user,
		       uint64_t since, struct msg_rec **recs_r, size_t *count_r)
{
	struct sqlite_store *s = S(st);
	bool own = seen_in_flags(mbox, user);
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
		recs[n].keywords = col_dup(q, 2);
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

static int sq_msg_expunged_since(struct store *st, int64_t mbox_id, uint64_t since,
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

/* One statement for every field; only the columns asked for are read (a
 * column SQLite is not asked for is neither copied nor, when it lies in an
 * overflow page, read from disk). */
static int sq_msg_fields(struct store *st, const struct mailbox_info *mbox, uint32_t uid, unsigned fields,
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
		d->envelope = col_dup(q, 5);
	if (fields & MSG_F_STRUCTURE) {
		d->bodystructure = col_dup(q, 6);
		d->body = col_dup(q, 7);
	}
	if (fields & MSG_F_HEADER) {
		d->header_len = (size_t)sqlite3_column_bytes(q, 8);
		const void *h = sqlite3_column_blob(q, 8);
		d->header = xmemdup(h != NULL ? h : "", d->header_len + 1);
		d->header[d->header_len] = '\0';
	}
	if (fields & MSG_F_PATH) {
		d->guid = col_dup(q, 4);
		str_t path = STR_INIT;
		const char *part = (const char *)sqlite3_column_text(q, 9);
		mailbox_dir(s, part != NULL && partition_dir(s, part) != NULL ? part : mbox->partition,
			    mbox->uniqueid, &path);
		str_printf(&path, "/%s", d->guid);
		d->path = str_steal(&path);
	}
	sqlite3_reset(q);
	return 1;
}

static int sq_msg_detail(struct store *st, const struct mailbox_info *mbox, uint32_t uid,
			 struct msg_detail *d)
{
	return sq_msg_fields(st, mbox, uid, MSG_F_ALL, d);
}

static int sq_read_begin(struct store *st)
{
	struct sqlite_store *s = S(st);
	reset_all(s);
	return exec(s, "BEGIN");
}

static void sq_read_end(struct store *st)
{
	struct sqlite_store *s = S(st);
	reset_all(s);
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

static int sq_msg_store_flags(struct store *st, const struct mailbox_info *mbox, const char *user,
			      const uint32_t *uids, size_t n, enum flag_op op, uint32_t flags,
			      const char *keywords, uint64_t unchangedsince,
			      struct msg_rec **recs_r, size_t *count_r,
			      uint32_t **failed_r, size_t *nfailed_r)
{
	struct sqlite_store *s = S(st);
	bool own = seen_in_flags(mbox, user);
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
	if (tx_begin(s) < 0)
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
		char *oldk = col_dup(q, 1);
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
	if (tx_commit(s) < 0)
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
	tx_rollback(s);
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
	if (current_dir(s, mbox->id, mbox->uniqueid, &dir) < 0)
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

static int sq_msg_expunge(struct store *st, const struct mailbox_info *mbox,
			  const uint32_t *uids, size_t n)
{
	struct sqlite_store *s = S(st);
	str_t files = STR_INIT, jl = STR_INIT;
	if (tx_begin(s) < 0)
		return -1;
	if (expunge_rows(s, mbox, uids, n, &files, &jl) < 0 || tx_commit(s) < 0) {
		tx_rollback(s);
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

static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	int out = open(to, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (out < 0) {
		close(in);
		return -1;
	}
	char buf[65536];
	ssize_t r;
	int ret = 0;
	while ((r = read(in, buf, sizeof(buf))) > 0) {
		if (write(out, buf, (size_t)r) != r) {
			ret = -1;
			break;
		}
	}
	if (r < 0 || fsync(out) < 0)
		ret = -1;
	close(in);
	if (close(out) < 0)
		ret = -1;
	if (ret < 0)
		unlink(to);
	return ret;
}

static int sq_msg_copy(struct store *st, const struct mailbox_info *src, const struct mailbox_info *dst,
		       const char *user, const uint32_t *uids, size_t n, bool move, uint32_t **new_uids_r)
{
	struct sqlite_store *s = S(st);
	str_t srcdir = STR_INIT, dstdir = STR_INIT, made = STR_INIT, files = STR_INIT;
	str_t srcjl = STR_INIT, dstjl = STR_INIT;
	uint32_t *new_uids = xcalloc(n ? n : 1, sizeof(uint32_t));
	char **guids = xcalloc(n ? n : 1, sizeof(char *));
	bool own_src = seen_in_flags(src, user), own_dst = seen_in_flags(dst, user);
	int ret = -1;
	size_t i;

	/* The directories of the partitions the mailboxes are on now (the
	 * callers' mailbox_info may predate a partition move). */
	if (current_dir(s, src->id, src->uniqueid, &srcdir) < 0 ||
	    current_dir(s, dst->id, dst->uniqueid, &dstdir) < 0)
		goto out;
	if (mkdir_p(str_c(&dstdir), 0750) < 0) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "mkdir %s: %s", str_c(&dstdir), strerror(errno));
		goto out;
	}
	/* Files first (hard links; a copy across partitions), then one
	 * transaction for every row. */
	for (i = 0; i < n; i++) {
		sqlite3_stmt *q = sqlite_prep(s, "SELECT guid FROM messages WHERE mailbox = ? AND uid = ?");
		if (q == NULL)
			goto out;
		sqlite3_bind_int64(q, 1, src->id);
		sqlite3_bind_int64(q, 2, uids[i]);
		if (sqlite3_step(q) != SQLITE_ROW) {
			sqlite3_reset(q);
			continue;
		}
		char *guid = col_dup(q, 0);
		sqlite3_reset(q);
		char newguid[33];
		random_hex(newguid, 16);
		str_t from = STR_INIT, to = STR_INIT;
		str_printf(&from, "%s/%s", str_c(&srcdir), guid);
		str_printf(&to, "%s/%s", str_c(&dstdir), newguid);
		free(guid);
		int r = place_file(str_c(&from), str_c(&to));
		if (r < 0 && errno == ENOENT && current_dir(s, src->id, src->uniqueid, &srcdir) == 0) {
			/* The source finished moving to another partition. */
			str_clear(&from);
			r = -1;
			q = sqlite_prep(s, "SELECT guid FROM messages WHERE mailbox = ? AND uid = ?");
			if (q != NULL) {
				sqlite3_bind_int64(q, 1, src->id);
				sqlite3_bind_int64(q, 2, uids[i]);
				if (sqlite3_step(q) == SQLITE_ROW) {
					str_printf(&from, "%s/%s", str_c(&srcdir), (const char *)sqlite3_column_text(q, 0));
					sqlite3_reset(q);
					r = place_file(str_c(&from), str_c(&to));
				} else {
					sqlite3_reset(q);
					errno = ENOENT;
				}
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
	if (fsync_dir(str_c(&dstdir)) < 0 && errno != ENOENT) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "fsync %s: %s", str_c(&dstdir), strerror(errno));
		goto out;
	}
	if (tx_begin(s) < 0)
		goto out;
	/* Under the lock: every file is where the target is now. A partition
	 * move may have switched it (or moved it away and back, removing the
	 * old directory with what was in it) since the files were placed; they
	 * are placed again from the source, where it is now. */
	str_t now = STR_INIT, srcnow = STR_INIT, placed = STR_INIT;
	if (current_dir(s, dst->id, dst->uniqueid, &now) < 0 ||
	    current_dir(s, src->id, src->uniqueid, &srcnow) < 0) {
		str_free(&now);
		str_free(&srcnow);
		goto fail_tx;
	}
	bool relocated = strcmp(str_c(&now), str_c(&dstdir)) != 0;
	int pr = mkdir_p(str_c(&now), 0750);
	for (i = 0; pr == 0 && i < n; i++) {
		if (guids[i] == NULL)
			continue;
		str_t from = STR_INIT, to = STR_INIT;
		str_printf(&to, "%s/%s", str_c(&now), guids[i]);
		if (access(str_c(&to), F_OK) < 0) {
			sqlite3_stmt *q = sqlite_prep(s, "SELECT guid FROM messages WHERE mailbox = ? AND uid = ?");
			if (q == NULL) {
				str_free(&to);
				pr = -1;
				break;
			}
			sqlite3_bind_int64(q, 1, src->id);
			sqlite3_bind_int64(q, 2, uids[i]);
			if (sqlite3_step(q) == SQLITE_ROW) {
				str_printf(&from, "%s/%s", str_c(&srcnow), (const char *)sqlite3_column_text(q, 0));
				sqlite3_reset(q);
				pr = place_file(str_c(&from), str_c(&to));
				if (pr == 0) {
					str_append(&placed, str_c(&to));
					str_append_c(&placed, '\0');
				}
			} else {
				sqlite3_reset(q); /* expunged meanwhile: the row copies nothing */
			}
		}
		str_free(&from);
		str_free(&to);
	}
	if (pr == 0 && (relocated || placed.len > 0))
		pr = fsync_dir(str_c(&now));
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
		if (rc == SQLITE_ROW)
			rc = sqlite3_step(q);
		sqlite3_reset(q);
		if (rc != SQLITE_DONE) {
			sqlite_db_fail(s, "copy");
			goto fail_tx;
		}
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
	if (tx_commit(s) < 0)
		goto fail_tx;
	sqlite_journal_write(s, dst, &dstjl);
	sqlite_journal_write(s, src, &srcjl);
	unlink_files(&files);
	*new_uids_r = new_uids;
	new_uids = NULL;
	ret = 0;
	goto out;
fail_tx:
	tx_rollback(s);
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

/* ---------------------------------------------------------------- partitions */

static int cmp_strp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void strv_free_n(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

/* The file names (guids) of a mailbox's messages, sorted. */
static int list_guids(struct sqlite_store *s, int64_t id, char ***v_r, size_t *n_r)
{
	sqlite3_stmt *q = sqlite_prep(s, "SELECT guid FROM messages WHERE mailbox = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_int64(q, 1, id);
	char **v = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		v[n++] = col_dup(q, 0);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		strv_free_n(v, n);
		return sqlite_db_fail(s, "message files");
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), cmp_strp);
	*v_r = v;
	*n_r = n;
	return 0;
}

/* Gives directory `to` every file of `guids` from `from`. The first pass
 * (locked=false) runs without the lock: it replaces what an interrupted
 * earlier move left and skips messages expunged meanwhile. The second
 * (locked=true) runs holding the write lock: it adds what arrived since and
 * removes what was expunged since, so `to` holds exactly the mailbox's
 * files when the switch commits. */
static int fill_dir(struct sqlite_store *s, char **guids, size_t n, const char *from, const char *to,
		    bool locked)
{
	str_t a = STR_INIT, b = STR_INIT;
	int ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		str_clear(&a);
		str_clear(&b);
		str_printf(&a, "%s/%s", from, guids[i]);
		str_printf(&b, "%s/%s", to, guids[i]);
		if (locked) {
			if (access(str_c(&b), F_OK) == 0)
				continue;
		} else {
			/* An APPEND or COPY that placed a file early in a
			 * directory its mailbox had left removes that directory
			 * again when it is empty: the locked pass makes it anew. */
			unlink(str_c(&b));
		}
		if (place_file(str_c(&a), str_c(&b)) < 0 && (locked || errno != ENOENT))
			ret = sqlite_fail(s, STORE_ERR_INTERNAL, "copy %s to %s: %s", str_c(&a), str_c(&b),
					  strerror(errno));
	}
	str_free(&a);
	str_free(&b);
	if (ret == 0 && locked) {
		DIR *d = opendir(to);
		struct dirent *de;
		while (d != NULL && (de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			const char *key = de->d_name;
			if (n == 0 || bsearch(&key, guids, n, sizeof(*guids), cmp_strp) == NULL)
				unlinkat(dirfd(d), de->d_name, 0);
		}
		if (d != NULL)
			closedir(d);
	}
	if (ret == 0 && fsync_dir(to) < 0 && (locked || errno != ENOENT))
		ret = sqlite_fail(s, STORE_ERR_INTERNAL, "fsync %s: %s", to, strerror(errno));
	return ret;
}

static int move_one(struct sqlite_store *s, int64_t id, const char *uniqueid, const char *newpart)
{
	char *oldpart = current_partition(s, id);
	if (oldpart == NULL)
		return -1;
	if (strcmp(oldpart, newpart) == 0) {
		free(oldpart);
		return 0;
	}
	if (partition_dir(s, oldpart) == NULL) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "mailbox on unknown partition %s", oldpart);
		free(oldpart);
		return -1;
	}
	str_t olddir = STR_INIT, newdir = STR_INIT;
	mailbox_dir(s, oldpart, uniqueid, &olddir);
	mailbox_dir(s, newpart, uniqueid, &newdir);
	char **guids = NULL;
	size_t n = 0;
	int ret = -1, journal_fd = -1;
	bool committed = false;
	if (mkdir_p(str_c(&newdir), 0750) < 0) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "mkdir %s: %s", str_c(&newdir), strerror(errno));
		goto out;
	}
	/* 1. every file into the new place, without holding the lock */
	if (list_guids(s, id, &guids, &n) < 0 ||
	    fill_dir(s, guids, n, str_c(&olddir), str_c(&newdir), false) < 0)
		goto out;
	strv_free_n(guids, n);
	guids = NULL;
	n = 0;
	/* 2. under the write lock: catch up with what changed, then switch */
	if (tx_begin(s) < 0)
		goto out;
	char *now = current_partition(s, id);
	if (now == NULL || strcmp(now, oldpart) != 0) {
		if (now != NULL)
			sqlite_fail(s, STORE_ERR_INUSE, "the mailbox was moved meanwhile");
		free(now);
		goto out;
	}
	free(now);
	if (mkdir_p(str_c(&newdir), 0750) < 0) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "mkdir %s: %s", str_c(&newdir), strerror(errno));
		goto out;
	}
	if (list_guids(s, id, &guids, &n) < 0 ||
	    fill_dir(s, guids, n, str_c(&olddir), str_c(&newdir), true) < 0)
		goto out;
	/* The mailbox's journal goes along (reconstruct recovers UIDs from
	 * it); mailbox.meta is written anew once the switch has committed.
	 * Its lock is held until then: a line appended meanwhile would be
	 * lost with the old copy, so writers wait, then find the mailbox
	 * moved and append in the new place (sqlite_journal_write). */
	{
		str_t a = STR_INIT, b = STR_INIT;
		str_printf(&a, "%s/mailbox.journal", str_c(&olddir));
		str_printf(&b, "%s/mailbox.journal", str_c(&newdir));
		journal_fd = open(str_c(&a), O_RDONLY | O_CLOEXEC);
		if (journal_fd >= 0)
			flock(journal_fd, LOCK_EX);
		int pr = journal_fd >= 0 ? place_file(str_c(&a), str_c(&b)) : 0;
		str_free(&a);
		str_free(&b);
		if (pr < 0) {
			sqlite_fail(s, STORE_ERR_INTERNAL, "moving the journal of %s: %s", uniqueid, strerror(errno));
			goto out;
		}
	}
	sqlite3_stmt *q = sqlite_prep(s, "UPDATE mailboxes SET partition = ? WHERE id = ?");
	if (q == NULL)
		goto out;
	sqlite3_bind_text(q, 1, newpart, -1, SQLITE_STATIC);
	sqlite3_bind_int64(q, 2, id);
	if (sqlite_step_done(s, q, "partition") < 0 || tx_commit(s) < 0)
		goto out;
	committed = true;
	if (journal_fd >= 0) {
		close(journal_fd);
		journal_fd = -1;
	}
	sqlite_meta_refresh(s, id);
	/* 3. the old files go. A reader that looked up a path before the
	 * switch finds the file gone and looks again (a read transaction
	 * started before the switch is started again): only a switch that
	 * has committed removes files, so a new look finds the new place. */
	if (remove_tree(str_c(&olddir)) < 0)
		log_warn("store: could not remove all of %s: %s", str_c(&olddir), strerror(errno));
	ret = 0;
out:
	if (!committed) {
		tx_rollback(s);
		remove_tree(str_c(&newdir));
	}
	if (journal_fd >= 0)
		close(journal_fd);
	strv_free_n(guids, n);
	free(oldpart);
	str_free(&olddir);
	str_free(&newdir);
	return ret;
}

static int sq_mailbox_move_partition(struct store *st, const char *name, const char *partition)
{
	struct sqlite_store *s = S(st);
	if (partition_dir(s, partition) == NULL)
		return sqlite_fail(s, STORE_ERR_NOTFOUND, "no partition %s", partition);
	reset_all(s);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT id, uniqueid FROM mailboxes WHERE name = ?1 OR "
			       "(name > ?1 || '.' AND name < ?1 || '/') ORDER BY name");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	int64_t *ids = NULL;
	char **uids = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		ids = xrealloc(ids, (n + 1) * sizeof(*ids));
		uids = xrealloc(uids, (n + 1) * sizeof(*uids));
		ids[n] = sqlite3_column_int64(q, 0);
		uids[n] = col_dup(q, 1);
		n++;
	}
	sqlite3_reset(q);
	int ret = 0;
	if (rc != SQLITE_DONE)
		ret = sqlite_db_fail(s, "partition move list");
	else if (n == 0)
		ret = sqlite_fail(s, STORE_ERR_NOTFOUND, "mailbox %s does not exist", name);
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = move_one(s, ids[i], uids[i], partition);
	free(ids);
	strv_free_n(uids, n);
	return ret;
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
	int64_t *ids = NULL;
	char **acls = NULL;
	size_t n = 0;
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		ids = xrealloc(ids, (n + 1) * sizeof(*ids));
		acls = xrealloc(acls, (n + 1) * sizeof(*acls));
		ids[n] = sqlite3_column_int64(q, 0);
		acls[n] = col_dup(q, 1);
		n++;
	}
	sqlite3_reset(q);
	int ret = rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "acl list");
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
		if (sqlite_step_done(s, q, "acl rewrite") < 0 || shares_write(s, ids[i], str_c(&acl)) < 0)
			ret = -1;
	}
	str_free(&acl);
	free(ids);
	strv_free_n(acls, n);
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
	sqlite3_stmt *q = sqlite_prep(s, "SELECT 1 FROM users WHERE name = ?");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	sqlite3_reset(q);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sqlite_db_fail(s, "user get");
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

static int sq_user_rename(struct store *st, const char *oldname, const char *newname)
{
	struct sqlite_store *s = S(st);
	str_t oldtop = STR_INIT, newtop = STR_INIT;
	str_printf(&oldtop, "user.%s", oldname);
	str_printf(&newtop, "user.%s", newname);
	unsigned entries = 0, mailboxes = 0;
	int ret = -1;
	if (tx_begin(s) < 0)
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
	if (nmbox > 0 && rename_tx(s, str_c(&oldtop), str_c(&newtop)) < 0)
		goto out;
	if ((old_has && run2(s, "UPDATE users SET name = ?2 WHERE name = ?1", oldname, newname, NULL) < 0) ||
	    run2(s, "UPDATE OR REPLACE subscriptions SET user = ?2 WHERE user = ?1", oldname, newname, NULL) < 0 ||
	    run2(s, "UPDATE OR REPLACE seen SET user = ?2 WHERE user = ?1", oldname, newname, NULL) < 0 ||
	    run2(s, "UPDATE OR REPLACE metadata SET user = ?2 WHERE user = ?1", oldname, newname, NULL) < 0 ||
	    run2(s, "UPDATE OR REPLACE group_members SET member = ?2 WHERE member = ?1", oldname, newname, NULL) < 0 ||
	    acls_rename_ident(s, oldname, newname, &entries, &mailboxes) < 0)
		goto out;
	ret = tx_commit(s);
	if (ret == 0 && nmbox > 0)
		meta_refresh_under(s, str_c(&newtop));
	if (ret == 0)
		log_info("store: renamed user %s to %s (%lld mailboxes, %u ACL entries in %u mailboxes)",
			 oldname, newname, (long long)nmbox, entries, mailboxes);
out:
	if (ret < 0)
		tx_rollback(s);
	str_free(&oldtop);
	str_free(&newtop);
	return ret;
}

static int sq_user_purge(struct store *st, const char *name, str_t *report)
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
	if (tx_begin(s) < 0)
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
		rows[n].name = col_dup(q, 1);
		rows[n].uniqueid = col_dup(q, 2);
		rows[n].partition = col_dup(q, 3);
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
		if (partition_dir(s, rows[i].partition) != NULL) {
			mailbox_dir(s, rows[i].partition, rows[i].uniqueid, &dirs);
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
	if (tx_commit(s) < 0)
		goto out;
	ret = 0;
	for (size_t at = 0; at < dirs.len; at += strlen(dirs.data + at) + 1) {
		if (remove_tree(dirs.data + at) < 0)
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
		tx_rollback(s);
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

const struct store_backend store_sqlite_backend = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.error = sq_error,
	.errcode = sq_errcode,
	.change_counter = sq_change_counter,
	.user_add = sq_user_add,
	.user_del = sq_user_del,
	.user_rename = sq_user_rename,
	.user_purge = sq_user_purge,
	.user_get = sq_user_get,
	.user_list = sq_user_list,
	.group_add = sq_group_add,
	.group_del = sq_group_del,
	.group_list = sq_group_list,
	.user_groups = sq_user_groups,
	.mailbox_get = sq_mailbox_get,
	.mailbox_create = sq_mailbox_create,
	.mailbox_delete = sq_mailbox_delete,
	.mailbox_rename = sq_mailbox_rename,
	.mailbox_move_partition = sq_mailbox_move_partition,
	.mailbox_list = sq_mailbox_list,
	.mailbox_set_acl = sq_mailbox_set_acl,
	.mailbox_list_shared = sq_mailbox_list_shared,
	.shares_rebuild = sq_shares_rebuild,
	.mailbox_set_specialuse = sq_mailbox_set_specialuse,
	.mailbox_set_sharedseen = sq_mailbox_set_sharedseen,
	.mailbox_counts = sq_mailbox_counts,
	.mailbox_claim_recent = sq_mailbox_claim_recent,
	.quota_get = sqlite_quota_get,
	.quota_set = sqlite_quota_set,
	.quota_root_of = sqlite_quota_root_of,
	.quota_list = sqlite_quota_list,
	.quota_verify = sqlite_quota_verify,
	.metadata_set = sq_metadata_set,
	.metadata_list = sq_metadata_list,
	.metadata_count = sq_metadata_count,
	.subscribe = sq_subscribe,
	.subscriptions = sq_subscriptions,
	.msg_append = sq_msg_append,
	.msg_list = sq_msg_list,
	.msg_expunged_since = sq_msg_expunged_since,
	.msg_detail = sq_msg_detail,
	.msg_fields = sq_msg_fields,
	.read_begin = sq_read_begin,
	.read_end = sq_read_end,
	.msg_store_flags = sq_msg_store_flags,
	.msg_expunge = sq_msg_expunge,
	.msg_copy = sq_msg_copy,
	.tmpfile_create = sq_tmpfile_create,
	.reconstruct = sqlite_reconstruct,
	.check = sqlite_check,
};
