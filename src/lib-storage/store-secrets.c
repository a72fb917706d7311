/* secrets.db (see secrets.h). */
#include "lib-storage/secrets.h"
#include "lib-storage/sqlite-guard.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xalloc.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

struct secrets {
	sqlite3 *db;
	str_t error;
};

static const char schema[] =
	"CREATE TABLE IF NOT EXISTS secrets(id TEXT NOT NULL, scheme TEXT NOT NULL, value TEXT NOT NULL,"
	"  PRIMARY KEY(id, scheme)) WITHOUT ROWID;";

static int fail(struct secrets *sec, const char *what)
{
	str_clear(&sec->error);
	str_printf(&sec->error, "secrets.db: %s: %s", what, sqlite3_errmsg(sec->db));
	return -1;
}

const char *secrets_error(struct secrets *sec)
{
	return str_c(&sec->error);
}

/* Creates the file with mode 0600 before SQLite sees it (SQLite would use
 * 0644 less the umask), and tightens a file that exists. Never opens and
 * closes a file that exists: closing any descriptor of a file drops every
 * POSIX lock the process holds on it, those of SQLite's other connections
 * (other threads) too, and then a writer elsewhere may checkpoint and
 * remove the WAL under them. */
static int prepare_file(const char *path, int *eacces_r, str_t *err)
{
	struct stat sb;
	if (lstat(path, &sb) == 0) {
		if (!S_ISREG(sb.st_mode)) {
			str_printf(err, "%s: not a regular file", path);
			return -1;
		}
		if ((sb.st_mode & 077) != 0 && chmod(path, 0600) < 0 && eacces_r != NULL)
			*eacces_r = errno == EACCES || errno == EPERM;
		if (access(path, R_OK | W_OK) < 0) {
			if (eacces_r != NULL)
				*eacces_r = errno == EACCES || errno == EPERM;
			str_printf(err, "%s: %s", path, strerror(errno));
			return -1;
		}
		return 0;
	}
	int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
	if (fd < 0 && errno == EEXIST)
		return 0;
	if (fd < 0) {
		if (eacces_r != NULL)
			*eacces_r = errno == EACCES || errno == EPERM;
		str_printf(err, "%s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	return 0;
}

struct secrets *secrets_open(const struct config *cfg, int *eacces_r, str_t *err)
{
	if (eacces_r != NULL)
		*eacces_r = 0;
	str_t path = STR_INIT;
	str_printf(&path, "%s/%s", config_str(cfg, "configdirectory"), SECRETS_DB);
	if (prepare_file(str_c(&path), eacces_r, err) < 0) {
		str_free(&path);
		return NULL;
	}
	struct secrets *sec = xcalloc(1, sizeof(*sec));
	if (sqlite3_open_v2(str_c(&path), &sec->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite_guard(sec->db) < 0) {
		str_printf(err, "%s: %s", str_c(&path), sec->db ? sqlite3_errmsg(sec->db) : "cannot open");
		goto fail;
	}
	sqlite3_busy_timeout(sec->db, 30000);
	if (sqlite3_exec(sec->db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA secure_delete=ON",
			 NULL, NULL, NULL) != SQLITE_OK ||
	    sqlite3_exec(sec->db, schema, NULL, NULL, NULL) != SQLITE_OK) {
		str_printf(err, "%s: %s", str_c(&path), sqlite3_errmsg(sec->db));
		goto fail;
	}
	str_free(&path);
	return sec;
fail:
	str_free(&path);
	if (sec->db != NULL)
		sqlite3_close(sec->db);
	free(sec);
	return NULL;
}

void secrets_close(struct secrets **sec)
{
	if (*sec == NULL)
		return;
	sqlite3_close((*sec)->db);
	str_free(&(*sec)->error);
	free(*sec);
	*sec = NULL;
}

int secrets_get(struct secrets *sec, const char *id, const char *scheme, str_t *value)
{
	if (id == NULL || id[0] == '\0')
		return 0;
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(sec->db, "SELECT value FROM secrets WHERE id = ? AND scheme = ?", -1, &q, NULL) != SQLITE_OK)
		return fail(sec, "get");
	sqlite3_bind_text(q, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(q, 2, scheme, -1, SQLITE_STATIC);
	int rc = sqlite3_step(q), ret;
	if (rc == SQLITE_ROW) {
		str_clear(value);
		str_append(value, (const char *)sqlite3_column_text(q, 0));
		ret = 1;
	} else if (rc == SQLITE_DONE) {
		ret = 0;
	} else {
		ret = fail(sec, "get");
	}
	sqlite3_finalize(q);
	return ret;
}

static int run(struct secrets *sec, const char *sql, const char *a, const char *b, const char *c)
{
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(sec->db, sql, -1, &q, NULL) != SQLITE_OK)
		return fail(sec, "prepare");
	const char *args[] = { a, b, c };
	for (int i = 0; i < 3 && args[i] != NULL; i++)
		sqlite3_bind_text(q, i + 1, args[i], -1, SQLITE_STATIC);
	int rc = sqlite3_step(q);
	sqlite3_finalize(q);
	return rc == SQLITE_DONE ? 0 : fail(sec, "write");
}

static int put_all(struct secrets *sec, const char *id, const char *const *schemes,
		   const char *const *values, size_t n)
{
	if (run(sec, "DELETE FROM secrets WHERE id = ?", id, NULL, NULL) < 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (values[i] != NULL && values[i][0] != '\0' &&
		    run(sec, "INSERT INTO secrets(id, scheme, value) VALUES(?, ?, ?)", id, schemes[i], values[i]) < 0)
			return -1;
	}
	return 0;
}

int secrets_set(struct secrets *sec, const char *id, const char *const *schemes,
		const char *const *values, size_t n)
{
	if (sqlite3_exec(sec->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
		return fail(sec, "begin");
	if (put_all(sec, id, schemes, values, n) < 0 ||
	    sqlite3_exec(sec->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		if (str_c(&sec->error)[0] == '\0')
			fail(sec, "commit");
		sqlite3_exec(sec->db, "ROLLBACK", NULL, NULL, NULL);
		return -1;
	}
	return 0;
}

int secrets_del(struct secrets *sec, const char *id)
{
	if (id == NULL || id[0] == '\0')
		return 0;
	return run(sec, "DELETE FROM secrets WHERE id = ?", id, NULL, NULL);
}

void secrets_new_id(char out[SECRET_ID_LEN + 1])
{
	unsigned char buf[SECRET_ID_LEN / 2];
	size_t got = 0;
	int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t r = read(fd, buf, sizeof(buf));
		got = r > 0 ? (size_t)r : 0;
		close(fd);
	}
	if (got < sizeof(buf)) {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		srandom((unsigned)(ts.tv_nsec ^ getpid()));
		for (size_t i = 0; i < sizeof(buf); i++)
			buf[i] = (unsigned char)random();
	}
	for (size_t i = 0; i < sizeof(buf); i++)
		sprintf(out + 2 * i, "%02x", buf[i]);
}

/* ---------------------------------------------------------------- migration */

static bool has_column(sqlite3 *db, const char *table, const char *column)
{
	sqlite3_stmt *q = NULL;
	bool found = false;
	str_t sql = STR_INIT;
	str_printf(&sql, "PRAGMA table_info(%s)", table);
	if (sqlite3_prepare_v2(db, str_c(&sql), -1, &q, NULL) == SQLITE_OK) {
		while (sqlite3_step(q) == SQLITE_ROW) {
			if (strcmp((const char *)sqlite3_column_text(q, 1), column) == 0)
				found = true;
		}
	}
	sqlite3_finalize(q);
	str_free(&sql);
	return found;
}

static bool has_table(sqlite3 *db, const char *table)
{
	sqlite3_stmt *q = NULL;
	bool found = false;
	if (sqlite3_prepare_v2(db, "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", -1, &q, NULL) ==
	    SQLITE_OK) {
		sqlite3_bind_text(q, 1, table, -1, SQLITE_STATIC);
		found = sqlite3_step(q) == SQLITE_ROW;
	}
	sqlite3_finalize(q);
	return found;
}

struct legacy {
	char *name;
	char id[SECRET_ID_LEN + 1];
	char *values[3];   /* password, SCRAM-SHA-1, SCRAM-SHA-256 */
};

static const char *const legacy_schemes[3] = { SECRET_PASSWORD, "SCRAM-SHA-1", "SCRAM-SHA-256" };

static void legacy_free(struct legacy *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(v[i].name);
		for (int k = 0; k < 3; k++) {
			if (v[i].values[k] != NULL) {
				explicit_bzero(v[i].values[k], strlen(v[i].values[k]));
				free(v[i].values[k]);
			}
		}
	}
	free(v);
}

static int db_err(sqlite3 *db, const char *path, str_t *err)
{
	str_printf(err, "%s: migrating the secrets: %s", path, sqlite3_errmsg(db));
	return -1;
}

int secrets_migrate(const struct config *cfg, unsigned *moved_r, int *eacces_r, str_t *err)
{
	*moved_r = 0;
	if (eacces_r != NULL)
		*eacces_r = 0;
	str_t path = STR_INIT;
	str_printf(&path, "%s/agora.db", config_str(cfg, "configdirectory"));
	sqlite3 *db = NULL;
	struct secrets *sec = NULL;
	struct legacy *v = NULL;
	size_t n = 0;
	int ret = -1;
	if (access(str_c(&path), F_OK) < 0) {
		ret = 0;
		goto out;
	}
	if (sqlite3_open_v2(str_c(&path), &db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
	    sqlite_guard(db) < 0) {
		db_err(db, str_c(&path), err);
		goto out;
	}
	sqlite3_busy_timeout(db, 30000);
	bool old_hash = has_table(db, "users") && has_column(db, "users", "hash");
	bool old_table = has_table(db, "user_secrets");
	if (!old_hash && !old_table) {
		ret = 0;
		goto out;
	}
	sec = secrets_open(cfg, eacces_r, err);
	if (sec == NULL)
		goto out;
	/* Freed pages and cells are overwritten with zeros. */
	if (sqlite3_exec(db, "PRAGMA secure_delete=ON; BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		db_err(db, str_c(&path), err);
		goto out;
	}
	if (!has_column(db, "users", "secret_id") &&
	    sqlite3_exec(db, "ALTER TABLE users ADD COLUMN secret_id TEXT NOT NULL DEFAULT ''", NULL, NULL, NULL) !=
		    SQLITE_OK) {
		db_err(db, str_c(&path), err);
		goto rollback;
	}
	sqlite3_stmt *q = NULL;
	if (sqlite3_prepare_v2(db, old_hash ? "SELECT name, secret_id, hash FROM users" :
			       "SELECT name, secret_id, '' FROM users", -1, &q, NULL) != SQLITE_OK) {
		db_err(db, str_c(&path), err);
		goto rollback;
	}
	while (sqlite3_step(q) == SQLITE_ROW) {
		v = xrealloc(v, (n + 1) * sizeof(*v));
		memset(&v[n], 0, sizeof(v[n]));
		v[n].name = xstrdup((const char *)sqlite3_column_text(q, 0));
		const char *id = (const char *)sqlite3_column_text(q, 1);
		if (id != NULL && strlen(id) == SECRET_ID_LEN)
			memcpy(v[n].id, id, SECRET_ID_LEN + 1);
		else
			secrets_new_id(v[n].id);
		const char *h = (const char *)sqlite3_column_text(q, 2);
		v[n].values[0] = xstrdup(h != NULL ? h : "");
		n++;
	}
	sqlite3_finalize(q);
	for (size_t i = 0; i < n && old_table; i++) {
		for (int k = 1; k < 3; k++) {
			q = NULL;
			if (sqlite3_prepare_v2(db, "SELECT value FROM user_secrets WHERE name = ? AND scheme = ?", -1, &q,
					       NULL) != SQLITE_OK) {
				db_err(db, str_c(&path), err);
				goto rollback;
			}
			sqlite3_bind_text(q, 1, v[i].name, -1, SQLITE_STATIC);
			sqlite3_bind_text(q, 2, legacy_schemes[k], -1, SQLITE_STATIC);
			if (sqlite3_step(q) == SQLITE_ROW)
				v[i].values[k] = xstrdup((const char *)sqlite3_column_text(q, 0));
			sqlite3_finalize(q);
		}
	}
	/* The secrets are durable in secrets.db before agora.db forgets them;
	 * a crash in between leaves both, and the next run moves them again. */
	if (sqlite3_exec(sec->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
		str_printf(err, "%s", sqlite3_errmsg(sec->db));
		goto rollback;
	}
	for (size_t i = 0; i < n; i++) {
		/* A secret the account already has in secrets.db (an interrupted
		 * earlier run) is not replaced by an empty legacy value. */
		bool any = false;
		for (int k = 0; k < 3; k++)
			any = any || (v[i].values[k] != NULL && v[i].values[k][0] != '\0');
		if (any && put_all(sec, v[i].id, legacy_schemes, (const char *const *)v[i].values, 3) < 0) {
			str_printf(err, "%s", secrets_error(sec));
			sqlite3_exec(sec->db, "ROLLBACK", NULL, NULL, NULL);
			goto rollback;
		}
	}
	if (sqlite3_exec(sec->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		str_printf(err, "%s", sqlite3_errmsg(sec->db));
		sqlite3_exec(sec->db, "ROLLBACK", NULL, NULL, NULL);
		goto rollback;
	}
	for (size_t i = 0; i < n; i++) {
		q = NULL;
		if (sqlite3_prepare_v2(db, "UPDATE users SET secret_id = ? WHERE name = ?", -1, &q, NULL) != SQLITE_OK) {
			db_err(db, str_c(&path), err);
			goto rollback;
		}
		sqlite3_bind_text(q, 1, v[i].id, -1, SQLITE_STATIC);
		sqlite3_bind_text(q, 2, v[i].name, -1, SQLITE_STATIC);
		int rc = sqlite3_step(q);
		sqlite3_finalize(q);
		if (rc != SQLITE_DONE) {
			db_err(db, str_c(&path), err);
			goto rollback;
		}
	}
	/* Blank the values first (secure_delete zeroes what they leave), then
	 * drop what held them. */
	if ((old_hash && sqlite3_exec(db, "UPDATE users SET hash = ''", NULL, NULL, NULL) != SQLITE_OK) ||
	    (old_table && sqlite3_exec(db, "UPDATE user_secrets SET value = ''; DROP TABLE user_secrets",
				       NULL, NULL, NULL) != SQLITE_OK) ||
	    (old_hash && sqlite3_exec(db, "ALTER TABLE users DROP COLUMN hash", NULL, NULL, NULL) != SQLITE_OK) ||
	    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
		db_err(db, str_c(&path), err);
		goto rollback;
	}
	/* The old pages now live only in the WAL's earlier frames: copy the
	 * new ones over them in the database and empty the WAL. Another
	 * process reading at this moment can hold the WAL; a few tries. */
	for (int i = 0; i < 20; i++) {
		int log = -1, ckpt = -1;
		if (sqlite3_wal_checkpoint_v2(db, NULL, SQLITE_CHECKPOINT_TRUNCATE, &log, &ckpt) == SQLITE_OK)
			break;
		usleep(50000);
	}
	*moved_r = (unsigned)n;
	log_info("moved the secrets of %zu accounts from %s to %s", n, str_c(&path), SECRETS_DB);
	ret = 1;
	goto out;
rollback:
	sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
out:
	legacy_free(v, n);
	secrets_close(&sec);
	if (db != NULL)
		sqlite3_close(db);
	str_free(&path);
	return ret;
}
