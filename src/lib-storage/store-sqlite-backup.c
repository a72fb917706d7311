/* Backup and restore for the SQLite backend (see store-backup.h).
 *
 * Consistency while agorad runs: the database is copied by the online
 * backup API in one step, i.e. inside one read transaction, so it is the
 * state of one commit. Every row it names had its file complete and durable
 * before it was committed (the store's invariant), and message files never
 * change, so linking them afterwards gives the same bytes. The one race is
 * an expunge committed after the snapshot whose unlink beats our link: then
 * a newer snapshot is taken (in which that row is gone) and the missing
 * files are taken again; files the final snapshot does not name are
 * removed from the backup. */
#include "lib-storage/sqlite-guard.h"
#include "lib-storage/store-backup.h"
#include "lib/config.h"
#include "lib/xalloc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <ftw.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_SNAPSHOTS 20

static int mkdir_parents(const char *path, mode_t mode)
{
	char *p = xstrdup(path);
	int ret = 0;
	for (char *s = p + 1; *s != '\0' && ret == 0; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		if (mkdir(p, mode) < 0 && errno != EEXIST)
			ret = -1;
		*s = '/';
	}
	free(p);
	return ret;
}

static int copy_file(const char *from, const char *to)
{
	int in = open(from, O_RDONLY | O_CLOEXEC);
	if (in < 0)
		return -1;
	str_t tmp = STR_INIT;
	str_printf(&tmp, "%s.part", to);
	int out = open(str_c(&tmp), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
	int ret = out < 0 ? -1 : 0;
	char buf[65536];
	ssize_t n = 0;
	while (ret == 0 && (n = read(in, buf, sizeof(buf))) > 0) {
		for (ssize_t off = 0; off < n;) {
			ssize_t w = write(out, buf + off, (size_t)(n - off));
			if (w < 0) {
				if (errno == EINTR)
					continue;
				ret = -1;
				break;
			}
			off += w;
		}
	}
	if (n < 0)
		ret = -1;
	int saved = errno;
	if (out >= 0) {
		if (ret == 0 && fsync(out) < 0)
			ret = -1;
		saved = ret < 0 ? errno : saved;
		if (close(out) < 0 && ret == 0)
			ret = -1;
	}
	close(in);
	if (ret == 0 && rename(str_c(&tmp), to) < 0)
		ret = -1;
	if (ret < 0) {
		saved = errno ? errno : saved;
		unlink(str_c(&tmp));
	}
	str_free(&tmp);
	errno = saved;
	return ret;
}

/* Hard link, or copy across file systems. 1 linked, 2 copied, 0 the
 * source is gone, -1 error. An existing target counts as linked. */
static int link_or_copy(const char *from, const char *to)
{
	if (link(from, to) == 0 || errno == EEXIST)
		return 1;
	if (errno == ENOENT) {
		/* The source, or the target's directory? */
		if (access(from, F_OK) < 0)
			return 0;
		if (mkdir_parents(to, 0750) < 0)
			return -1;
		if (link(from, to) == 0 || errno == EEXIST)
			return 1;
		if (errno == ENOENT)
			return 0;
	}
	if (errno != EXDEV && errno != EPERM && errno != EMLINK)
		return -1;
	if (copy_file(from, to) == 0)
		return 2;
	return errno == ENOENT ? 0 : -1;
}

static int db_copy(const char *from, const char *to, str_t *err)
{
	sqlite3 *src = NULL, *dst = NULL;
	int ret = -1;
	if (sqlite3_open_v2(from, &src, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK || sqlite_guard(src) < 0) {
		str_printf(err, "%s: %s", from, src ? sqlite3_errmsg(src) : "cannot open");
		goto out;
	}
	sqlite3_busy_timeout(src, 30000);
	if (sqlite3_open_v2(to, &dst, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) != SQLITE_OK ||
	    sqlite_guard(dst) < 0) {
		str_printf(err, "%s: %s", to, dst ? sqlite3_errmsg(dst) : "cannot open");
		goto out;
	}
	for (int attempt = 0; attempt < 100; attempt++) {
		sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
		if (b == NULL) {
			str_printf(err, "%s: %s", to, sqlite3_errmsg(dst));
			goto out;
		}
		/* All pages in one step: one read transaction, one consistent point. */
		int rc = sqlite3_backup_step(b, -1);
		sqlite3_backup_finish(b);
		if (rc == SQLITE_DONE) {
			ret = 0;
			break;
		}
		if (rc != SQLITE_BUSY && rc != SQLITE_LOCKED) {
			str_printf(err, "backup of %s: %s", from, sqlite3_errstr(rc));
			goto out;
		}
		usleep(100000);
	}
	if (ret < 0)
		str_printf(err, "backup of %s: database busy", from);
out:
	if (src != NULL)
		sqlite3_close(src);
	if (dst != NULL)
		sqlite3_close(dst);
	return ret;
}

/* secrets.db, copied like agora.db into a file made with mode 0600
 * first. A store without one (nothing ever written there) gives 0. */
static int secrets_copy(const char *from, const char *to, str_t *err)
{
	if (access(from, F_OK) < 0)
		return 0;
	unlink(to);
	int fd = open(to, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		str_printf(err, "%s: %s", to, strerror(errno));
		return -1;
	}
	close(fd);
	if (db_copy(from, to, err) < 0) {
		if (access(from, R_OK) < 0)
			str_printf(err, " (secrets.db holds the password hashes: run this as root or as its owner)");
		unlink(to);
		return -1;
	}
	return 1;
}

struct msgfile {
	char *partition;
	char *rel;  /* XX/UNIQUEID/GUID */
};

struct filelist {
	struct msgfile *v;
	size_t n;
	unsigned long mailboxes;
};

static void filelist_free(struct filelist *fl)
{
	for (size_t i = 0; i < fl->n; i++) {
		free(fl->v[i].partition);
		free(fl->v[i].rel);
	}
	free(fl->v);
	memset(fl, 0, sizeof(*fl));
}

/* Every message file the database at `db` names. */
static int db_files(const char *db, struct filelist *fl, str_t *err)
{
	sqlite3 *h = NULL;
	sqlite3_stmt *q = NULL;
	int ret = -1;
	if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK || sqlite_guard(h) < 0) {
		str_printf(err, "%s: %s", db, h ? sqlite3_errmsg(h) : "cannot open");
		goto out;
	}
	if (sqlite3_prepare_v2(h, "SELECT count(*) FROM mailboxes", -1, &q, NULL) != SQLITE_OK ||
	    sqlite3_step(q) != SQLITE_ROW) {
		str_printf(err, "%s: %s", db, sqlite3_errmsg(h));
		goto out;
	}
	fl->mailboxes = (unsigned long)sqlite3_column_int64(q, 0);
	sqlite3_finalize(q);
	q = NULL;
	if (sqlite3_prepare_v2(h, "SELECT b.partition, b.uniqueid, m.guid FROM messages m "
			       "JOIN mailboxes b ON b.id = m.mailbox ORDER BY 1, 2, 3", -1, &q, NULL) != SQLITE_OK) {
		str_printf(err, "%s: %s", db, sqlite3_errmsg(h));
		goto out;
	}
	int rc;
	while ((rc = sqlite3_step(q)) == SQLITE_ROW) {
		const char *uid = (const char *)sqlite3_column_text(q, 1);
		str_t rel = STR_INIT;
		str_printf(&rel, "%.2s/%s/%s", uid, uid, (const char *)sqlite3_column_text(q, 2));
		fl->v = xrealloc(fl->v, (fl->n + 1) * sizeof(*fl->v));
		fl->v[fl->n].partition = xstrdup((const char *)sqlite3_column_text(q, 0));
		fl->v[fl->n].rel = str_steal(&rel);
		fl->n++;
	}
	if (rc != SQLITE_DONE) {
		str_printf(err, "%s: %s", db, sqlite3_errmsg(h));
		goto out;
	}
	ret = 0;
out:
	if (q != NULL)
		sqlite3_finalize(q);
	if (h != NULL)
		sqlite3_close(h);
	return ret;
}

static bool dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return errno == ENOENT;
	struct dirent *de;
	bool empty = true;
	while ((de = readdir(d)) != NULL && empty) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, ".."))
			empty = false;
	}
	closedir(d);
	return empty;
}

static int rm_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type == FTW_DP)
		return rmdir(path) < 0 && errno != ENOENT ? -1 : 0;
	return unlink(path) < 0 && errno != ENOENT ? -1 : 0;
}

static int rm_rf(const char *path)
{
	if (access(path, F_OK) < 0)
		return 0;
	return nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS);
}

/* Prune: files under the backup's partitions/ that `fl` does not name. */
struct prune_ctx {
	const char *root;  /* DIR/partitions */
	size_t rootlen;
	const struct filelist *fl;
};
static struct prune_ctx *prune_cur;

static int cmp_file(const void *a, const void *b)
{
	const struct msgfile *x = a, *y = b;
	int c = strcmp(x->partition, y->partition);
	return c != 0 ? c : strcmp(x->rel, y->rel);
}

static int prune_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)ftw;
	if (type != FTW_F)
		return 0;
	const char *rel = path + prune_cur->rootlen + 1;  /* NAME/XX/UNIQUEID/GUID */
	const char *slash = strchr(rel, '/');
	if (slash == NULL)
		return 0;
	char *part = xstrndup(rel, (size_t)(slash - rel));
	struct msgfile key = { part, (char *)slash + 1 };
	if (prune_cur->fl->n == 0 || bsearch(&key, prune_cur->fl->v, prune_cur->fl->n, sizeof(key), cmp_file) == NULL)
		unlink(path);
	free(part);
	return 0;
}

static int write_text(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");
	if (f == NULL)
		return -1;
	fputs(text, f);
	if (fflush(f) != 0 || fsync(fileno(f)) < 0) {
		fclose(f);
		return -1;
	}
	return fclose(f);
}

struct part_list {
	str_t text;
};

static void manifest_partition(const char *name, const char *dir, void *ctx)
{
	struct part_list *p = ctx;
	str_printf(&p->text, "partition %s %s\n", name, dir);
}

static int sync_dir_fs(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	int r = syncfs(fd);
	close(fd);
	return r;
}

int store_backup(const struct config *cfg, const char *dir, struct backup_report *rep,
		 bool *bad_input_r, str_t *err)
{
	memset(rep, 0, sizeof(*rep));
	*bad_input_r = false;
	if (mkdir(dir, 0750) < 0 && errno != EEXIST) {
		str_printf(err, "%s: %s", dir, strerror(errno));
		return -1;
	}
	if (!dir_is_empty(dir)) {
		*bad_input_r = true;
		str_printf(err, "%s: not empty; a backup goes into a new directory", dir);
		return -1;
	}
	str_t src = STR_INIT, tmpdb = STR_INIT, db = STR_INIT, parts = STR_INIT, path = STR_INIT;
	str_printf(&src, "%s/agora.db", config_str(cfg, "configdirectory"));
	str_printf(&tmpdb, "%s/agora.db.part", dir);
	str_printf(&db, "%s/agora.db", dir);
	str_printf(&parts, "%s/partitions", dir);
	struct filelist fl = { NULL, 0, 0 };
	int ret = -1;
	bool complete = false;
	while (!complete) {
		if (rep->snapshots == MAX_SNAPSHOTS) {
			str_printf(err, "messages kept vanishing while their files were taken; try again");
			goto out;
		}
		rep->snapshots++;
		filelist_free(&fl);
		if (db_copy(str_c(&src), str_c(&tmpdb), err) < 0 || db_files(str_c(&tmpdb), &fl, err) < 0)
			goto out;
		complete = true;
		for (size_t i = 0; i < fl.n; i++) {
			const char *pdir = config_partition(cfg, fl.v[i].partition);
			if (pdir == NULL) {
				str_printf(err, "the database names partition %s, which the configuration does not define",
					   fl.v[i].partition);
				goto out;
			}
			str_t from = STR_INIT;
			str_clear(&path);
			str_printf(&from, "%s/%s", pdir, fl.v[i].rel);
			str_printf(&path, "%s/%s/%s", str_c(&parts), fl.v[i].partition, fl.v[i].rel);
			int r = link_or_copy(str_c(&from), str_c(&path));
			if (r < 0)
				str_printf(err, "%s -> %s: %s", str_c(&from), str_c(&path), strerror(errno));
			str_free(&from);
			if (r < 0)
				goto out;
			if (r == 0)
				complete = false;  /* expunged after the snapshot: take a newer one */
			else if (r == 1)
				rep->linked++;
			else
				rep->copied++;
		}
	}
	/* Files taken for an older snapshot that the final one does not name. */
	if (fl.n > 1)
		qsort(fl.v, fl.n, sizeof(*fl.v), cmp_file);
	struct prune_ctx pc = { str_c(&parts), parts.len, &fl };
	prune_cur = &pc;
	if (access(str_c(&parts), F_OK) == 0)
		(void)nftw(str_c(&parts), prune_entry, 32, FTW_PHYS);
	prune_cur = NULL;
	rep->messages = fl.n;
	rep->mailboxes = fl.mailboxes;

	/* The secrets, after agora.db: an account in that snapshot was added
	 * with its secret already written (agora user add writes it first). */
	str_t sec_from = STR_INIT, sec_to = STR_INIT;
	str_printf(&sec_from, "%s/secrets.db", config_str(cfg, "configdirectory"));
	str_printf(&sec_to, "%s/secrets.db", dir);
	int has_secrets = secrets_copy(str_c(&sec_from), str_c(&sec_to), err);
	str_free(&sec_from);
	str_free(&sec_to);
	if (has_secrets < 0)
		goto out;

	/* The configuration, and a manifest. */
	str_clear(&path);
	str_printf(&path, "%s/config", dir);
	if (mkdir(str_c(&path), 0750) < 0 && errno != EEXIST) {
		str_printf(err, "%s: %s", str_c(&path), strerror(errno));
		goto out;
	}
	str_append(&path, "/agora.conf");
	if (config_path(cfg) != NULL && copy_file(config_path(cfg), str_c(&path)) < 0) {
		str_printf(err, "%s: %s", config_path(cfg), strerror(errno));
		goto out;
	}
	struct part_list pl = { STR_INIT };
	str_printf(&pl.text, "agora backup 1\ncreated %lld\nconfig %s\nmailboxes %lu\nmessages %lu\n",
		   (long long)time(NULL), config_path(cfg) ? config_path(cfg) : "", rep->mailboxes, rep->messages);
	str_printf(&pl.text, "secrets %s\n", has_secrets ? "secrets.db" : "none");
	config_foreach_partition(cfg, manifest_partition, &pl);
	str_clear(&path);
	str_printf(&path, "%s/MANIFEST", dir);
	int w = write_text(str_c(&path), str_c(&pl.text));
	str_free(&pl.text);
	if (w < 0) {
		str_printf(err, "%s: %s", str_c(&path), strerror(errno));
		goto out;
	}
	/* Everything durable, then the database gets its final name: a
	 * directory without agora.db is an unfinished backup. */
	if (sync_dir_fs(dir) < 0 || rename(str_c(&tmpdb), str_c(&db)) < 0 || sync_dir_fs(dir) < 0) {
		str_printf(err, "%s: %s", dir, strerror(errno));
		goto out;
	}
	ret = 0;
out:
	filelist_free(&fl);
	str_free(&src);
	str_free(&tmpdb);
	str_free(&db);
	str_free(&parts);
	str_free(&path);
	return ret;
}

/* Calls fn for every entry of `dir` but "." and ".."; a directory that
 * cannot be opened has none. */
static void dir_foreach(const char *dir, void (*fn)(const char *dir, const char *entry, void *ctx), void *ctx)
{
	DIR *d = opendir(dir);
	if (d == NULL)
		return;
	struct dirent *de;
	while ((de = readdir(d)) != NULL) {
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			fn(dir, de->d_name, ctx);
	}
	closedir(d);
}

struct holds_ctx {
	int found;
};

static void holds_entry(const char *dir, const char *entry, void *ctx)
{
	struct holds_ctx *h = ctx;
	(void)dir;
	/* tmp/ holds nothing any mailbox owns. */
	if (strcmp(entry, "tmp") != 0)
		h->found = 1;
}

static void partition_holds(const char *name, const char *dir, void *ctx)
{
	(void)name;
	dir_foreach(dir, holds_entry, ctx);
}

int store_holds_data(const struct config *cfg, str_t *err)
{
	struct holds_ctx h = { 0 };
	config_foreach_partition(cfg, partition_holds, &h);
	if (h.found)
		return 1;
	str_t db = STR_INIT;
	str_printf(&db, "%s/agora.db", config_str(cfg, "configdirectory"));
	int ret = 0;
	if (access(str_c(&db), F_OK) == 0) {
		sqlite3 *hd = NULL;
		sqlite3_stmt *q = NULL;
		if (sqlite3_open_v2(str_c(&db), &hd, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK || sqlite_guard(hd) < 0 ||
		    sqlite3_prepare_v2(hd, "SELECT (SELECT count(*) FROM users) + (SELECT count(*) FROM mailboxes)"
				       " + (SELECT count(*) FROM groups)", -1, &q, NULL) != SQLITE_OK ||
		    sqlite3_step(q) != SQLITE_ROW) {
			/* Not a database we can read: that is something, too. */
			str_printf(err, "%s: %s", str_c(&db), hd ? sqlite3_errmsg(hd) : "cannot open");
			ret = -1;
		} else {
			ret = sqlite3_column_int64(q, 0) > 0;
		}
		if (q != NULL)
			sqlite3_finalize(q);
		if (hd != NULL)
			sqlite3_close(hd);
	}
	str_free(&db);
	return ret;
}

struct wipe_ctx {
	int ret;
};

static void wipe_entry(const char *dir, const char *entry, void *ctx)
{
	struct wipe_ctx *w = ctx;
	str_t p = STR_INIT;
	str_printf(&p, "%s/%s", dir, entry);
	if (rm_rf(str_c(&p)) < 0)
		w->ret = -1;
	str_free(&p);
}

static void wipe_partition(const char *name, const char *dir, void *ctx)
{
	(void)name;
	dir_foreach(dir, wipe_entry, ctx);
}

/* Run as root with `user` set: the restored tree belongs to the server. */
static uid_t chown_uid;
static gid_t chown_gid;

static int chown_entry(const char *path, const struct stat *sb, int type, struct FTW *ftw)
{
	(void)sb;
	(void)type;
	(void)ftw;
	return lchown(path, chown_uid, chown_gid) < 0 && errno != ENOENT ? -1 : 0;
}

static void chown_partition(const char *name, const char *dir, void *ctx)
{
	int *ret = ctx;
	(void)name;
	if (access(dir, F_OK) == 0 && nftw(dir, chown_entry, 32, FTW_PHYS) < 0)
		*ret = -1;
}

static int give_to_user(const struct config *cfg, str_t *err)
{
	const char *user = config_str(cfg, "user");
	if (getuid() != 0 || user == NULL)
		return 0;
	struct passwd *pw = getpwnam(user);
	if (pw == NULL) {
		str_printf(err, "user: no such system user '%s'", user);
		return -1;
	}
	chown_uid = pw->pw_uid;
	chown_gid = pw->pw_gid;
	int ret = 0;
	config_foreach_partition(cfg, chown_partition, &ret);
	if (ret < 0)
		str_printf(err, "cannot give the restored files to %s: %s", user, strerror(errno));
	return ret;
}

int store_restore(const struct config *cfg, const char *dir, bool force, struct backup_report *rep,
		  bool *bad_input_r, str_t *err)
{
	memset(rep, 0, sizeof(*rep));
	*bad_input_r = false;
	str_t bdb = STR_INIT, path = STR_INIT, from = STR_INIT, tmpdb = STR_INIT, live = STR_INIT;
	struct filelist fl = { NULL, 0, 0 };
	int ret = -1;
	const char *confdir = config_str(cfg, "configdirectory");
	str_printf(&bdb, "%s/agora.db", dir);
	if (access(str_c(&bdb), R_OK) < 0) {
		*bad_input_r = true;
		str_printf(err, "%s: no agora.db: not a (complete) backup", dir);
		goto out;
	}
	if (db_files(str_c(&bdb), &fl, err) < 0)
		goto out;
	for (size_t i = 0; i < fl.n; i++) {
		if (config_partition(cfg, fl.v[i].partition) == NULL) {
			*bad_input_r = true;
			str_printf(err, "the backup has messages on partition %s, which the configuration does not "
				   "define (partition-%s)", fl.v[i].partition, fl.v[i].partition);
			goto out;
		}
	}
	int holds = store_holds_data(cfg, err);
	if (holds < 0 && !force)
		goto out;
	if (holds != 0 && !force) {
		*bad_input_r = true;
		str_printf(err, "the store in %s is not empty; restore --force replaces it", confdir);
		goto out;
	}
	str_clear(err);
	if (force) {
		struct wipe_ctx w = { 0 };
		config_foreach_partition(cfg, wipe_partition, &w);
		static const char *const files[] = { "agora.db", "agora.db-wal", "agora.db-shm",
						     "secrets.db", "secrets.db-wal", "secrets.db-shm" };
		for (size_t i = 0; i < 6; i++) {
			str_clear(&path);
			str_printf(&path, "%s/%s", confdir, files[i]);
			if (unlink(str_c(&path)) < 0 && errno != ENOENT)
				w.ret = -1;
		}
		if (w.ret < 0) {
			str_printf(err, "cannot remove the old store: %s", strerror(errno));
			goto out;
		}
	}
	/* The files first ... */
	for (size_t i = 0; i < fl.n; i++) {
		str_clear(&from);
		str_clear(&path);
		str_printf(&from, "%s/partitions/%s/%s", dir, fl.v[i].partition, fl.v[i].rel);
		str_printf(&path, "%s/%s", config_partition(cfg, fl.v[i].partition), fl.v[i].rel);
		int r = link_or_copy(str_c(&from), str_c(&path));
		if (r <= 0) {
			str_printf(err, "%s: %s", str_c(&from), r == 0 ? "missing from the backup" : strerror(errno));
			goto out;
		}
		if (r == 1)
			rep->linked++;
		else
			rep->copied++;
	}
	/* ... then the database, under a temporary name and renamed. */
	if (mkdir(confdir, 0750) < 0 && errno != EEXIST) {
		str_printf(err, "%s: %s", confdir, strerror(errno));
		goto out;
	}
	str_printf(&tmpdb, "%s/agora.db.restore", confdir);
	str_printf(&live, "%s/agora.db", confdir);
	unlink(str_c(&tmpdb));
	if (db_copy(str_c(&bdb), str_c(&tmpdb), err) < 0)
		goto out;
	static const char *const journals[] = { "-wal", "-shm" };
	for (size_t i = 0; i < 2; i++) {
		str_clear(&path);
		str_printf(&path, "%s%s", str_c(&live), journals[i]);
		unlink(str_c(&path));
	}
	if (sync_dir_fs(confdir) < 0 || rename(str_c(&tmpdb), str_c(&live)) < 0 || sync_dir_fs(confdir) < 0) {
		str_printf(err, "%s: %s", str_c(&live), strerror(errno));
		goto out;
	}
	/* ... and the secrets (a backup from before secrets.db has none: its
	 * agora.db still holds them, and they move on the next start). They
	 * stay the restoring user's (root's), mode 0600. */
	str_clear(&from);
	str_clear(&path);
	str_printf(&from, "%s/secrets.db", dir);
	str_printf(&path, "%s/secrets.db.restore", confdir);
	if (access(str_c(&from), F_OK) == 0) {
		if (secrets_copy(str_c(&from), str_c(&path), err) < 0)
			goto out;
		str_t sec = STR_INIT;
		str_printf(&sec, "%s/secrets.db", confdir);
		for (size_t i = 0; i < 2; i++) {
			str_t j = STR_INIT;
			str_printf(&j, "%s%s", str_c(&sec), journals[i]);
			unlink(str_c(&j));
			str_free(&j);
		}
		int r = rename(str_c(&path), str_c(&sec));
		if (r < 0 || sync_dir_fs(confdir) < 0)
			str_printf(err, "%s: %s", str_c(&sec), strerror(errno));
		str_free(&sec);
		if (r < 0)
			goto out;
	}
	if (give_to_user(cfg, err) < 0)
		goto out;
	rep->messages = fl.n;
	rep->mailboxes = fl.mailboxes;
	ret = 0;
out:
	filelist_free(&fl);
	str_free(&bdb);
	str_free(&path);
	str_free(&from);
	str_free(&tmpdb);
	str_free(&live);
	return ret;
}
