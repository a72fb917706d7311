/* The SQLite backend: moving a mailbox tree to another partition. */

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

/* ---------------------------------------------------------------- partitions */

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
		v[n++] = sqlite_col_dup(q, 0);
	}
	sqlite3_reset(q);
	if (rc != SQLITE_DONE) {
		sqlite_strv_free_n(v, n);
		return sqlite_db_fail(s, "message files");
	}
	if (n > 0)
		qsort(v, n, sizeof(*v), sqlite_strp_cmp);
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
		if (sqlite_place_file(str_c(&a), str_c(&b)) < 0 && (locked || errno != ENOENT))
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
			if (n == 0 || bsearch(&key, guids, n, sizeof(*guids), sqlite_strp_cmp) == NULL)
				unlinkat(dirfd(d), de->d_name, 0);
		}
		if (d != NULL)
			closedir(d);
	}
	if (ret == 0 && sqlite_fsync_dir(to) < 0 && (locked || errno != ENOENT))
		ret = sqlite_fail(s, STORE_ERR_INTERNAL, "fsync %s: %s", to, strerror(errno));
	return ret;
}

/* Moves of one mailbox follow each other. A second move that read the
 * partition before the first committed would otherwise empty, in its
 * unlocked pass, the directory the first made current, and remove that
 * directory when it then found the mailbox moved; and the first's removal
 * of the old directory, after its commit, could unlink files a move back
 * had just placed. The lock is an open file description lock on byte `id`
 * of configdirectory/partition-moves.lock, held for the whole move: each
 * move opens the file itself, so threads of one process exclude each
 * other as processes do. Returns the descriptor, or -1 (error set). */
static int move_lock(struct sqlite_store *s, int64_t id)
{
	const char *dir = config_str(s->cfg, "configdirectory");
	str_t path = STR_INIT;
	str_printf(&path, "%s/partition-moves.lock", dir);
	int fd = open(str_c(&path), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
	if (fd < 0) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "%s: %s", str_c(&path), strerror(errno));
		str_free(&path);
		return -1;
	}
	sqlite_own_like_dir(fd, dir);
	struct flock fl;
	memset(&fl, 0, sizeof(fl));
	fl.l_type = F_WRLCK;
	fl.l_whence = SEEK_SET;
	fl.l_start = (off_t)id;
	fl.l_len = 1;
	int r;
	while ((r = fcntl(fd, F_OFD_SETLKW, &fl)) < 0 && errno == EINTR)
		;
	if (r < 0) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "locking %s: %s", str_c(&path), strerror(errno));
		close(fd);
		fd = -1;
	}
	str_free(&path);
	return fd;
}

static int move_one(struct sqlite_store *s, int64_t id, const char *uniqueid, const char *newpart)
{
	int lock_fd = move_lock(s, id);
	if (lock_fd < 0)
		return -1;
	/* read under the move lock: where the last move left the mailbox */
	char *oldpart = sqlite_current_partition(s, id);
	if (oldpart == NULL) {
		close(lock_fd);
		return -1;
	}
	if (strcmp(oldpart, newpart) == 0) {
		free(oldpart);
		close(lock_fd);
		return 0;
	}
	if (sqlite_partition_dir(s, oldpart) == NULL) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "mailbox on unknown partition %s", oldpart);
		free(oldpart);
		close(lock_fd);
		return -1;
	}
	str_t olddir = STR_INIT, newdir = STR_INIT;
	sqlite_mailbox_dir(s, oldpart, uniqueid, &olddir);
	sqlite_mailbox_dir(s, newpart, uniqueid, &newdir);
	char **guids = NULL;
	size_t n = 0;
	int ret = -1, journal_fd = -1;
	bool committed = false;
	if (sqlite_mkdir_p(str_c(&newdir), 0750) < 0) {
		sqlite_fail(s, STORE_ERR_INTERNAL, "mkdir %s: %s", str_c(&newdir), strerror(errno));
		goto out;
	}
	/* 1. every file into the new place, without holding the lock */
	if (list_guids(s, id, &guids, &n) < 0 ||
	    fill_dir(s, guids, n, str_c(&olddir), str_c(&newdir), false) < 0)
		goto out;
	sqlite_strv_free_n(guids, n);
	guids = NULL;
	n = 0;
	/* 2. under the write lock: catch up with what changed, then switch */
	if (sqlite_tx_begin(s) < 0)
		goto out;
	char *now = sqlite_current_partition(s, id);
	if (now == NULL || strcmp(now, oldpart) != 0) {
		if (now != NULL)
			sqlite_fail(s, STORE_ERR_INUSE, "the mailbox was moved meanwhile");
		free(now);
		goto out;
	}
	free(now);
	if (sqlite_mkdir_p(str_c(&newdir), 0750) < 0) {
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
		int pr = journal_fd >= 0 ? sqlite_place_file(str_c(&a), str_c(&b)) : 0;
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
	if (sqlite_step_done(s, q, "partition") < 0 || sqlite_tx_commit(s) < 0)
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
	if (sqlite_remove_tree(str_c(&olddir)) < 0)
		log_warn("store: could not remove all of %s: %s", str_c(&olddir), strerror(errno));
	ret = 0;
out:
	if (!committed) {
		sqlite_tx_rollback(s);
		sqlite_remove_tree(str_c(&newdir));
	}
	if (journal_fd >= 0)
		close(journal_fd);
	sqlite_strv_free_n(guids, n);
	free(oldpart);
	str_free(&olddir);
	str_free(&newdir);
	close(lock_fd);
	return ret;
}

int sqlite_mailbox_move_partition(struct store *st, const char *name, const char *partition)
{
	struct sqlite_store *s = S(st);
	if (sqlite_partition_dir(s, partition) == NULL)
		return sqlite_fail(s, STORE_ERR_NOTFOUND, "no partition %s", partition);
	sqlite_reset_all(s);
	sqlite3_stmt *q = sqlite_prep(s, "SELECT id, uniqueid FROM mailboxes WHERE name = ?1 OR "
			       "(name > ?1 || '.' AND name < ?1 || '/') ORDER BY name");
	if (q == NULL)
		return -1;
	sqlite3_bind_text(q, 1, name, -1, SQLITE_STATIC);
	int64_t *ids;
	char **uids;
	size_t n;
	int ret = 0;
	if (sqlite_collect_id_text(q, &ids, &uids, &n) != SQLITE_DONE)
		ret = sqlite_db_fail(s, "partition move list");
	else if (n == 0)
		ret = sqlite_fail(s, STORE_ERR_NOTFOUND, "mailbox %s does not exist", name);
	for (size_t i = 0; i < n && ret == 0; i++)
		ret = move_one(s, ids[i], uids[i], partition);
	free(ids);
	sqlite_strv_free_n(uids, n);
	return ret;
}
