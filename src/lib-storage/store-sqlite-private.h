/* Shared between the files of the SQLite backend; nothing outside
 * lib-storage includes this. */
#ifndef AGORA_STORE_SQLITE_PRIVATE_H
#define AGORA_STORE_SQLITE_PRIVATE_H

#include "lib-storage/sqlite-wait.h"
#include "lib-storage/store.h"

#include <sqlite3.h>
#include <sys/types.h>

#define STMT_CACHE 160
#define SCHEMA_VERSION "1"

struct sqlite_store {
	struct store store;
	const struct config *cfg;
	sqlite3 *db;
	str_t error;
	int errcode;
	unsigned dedup_inserts;
	int wal_fd;               /* agora.db-wal, for syncing after commit; -1 until opened */
	char *wal_path;
	struct sqlite_wait wait;  /* for the write lock */
	struct {
		const char *sql;
		sqlite3_stmt *stmt;
	} cache[STMT_CACHE];
};

#define S(st) ((struct sqlite_store *)(st))

int sqlite_fail(struct sqlite_store *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int sqlite_db_fail(struct sqlite_store *s, const char *what);
/* A cached prepared statement for a string-literal SQL text, reset. */
sqlite3_stmt *sqlite_prep(struct sqlite_store *s, const char *sql);
int sqlite_step_done(struct sqlite_store *s, sqlite3_stmt *st, const char *what);

/* store-sqlite.c: transactions and statements. */
/* Resets every cached statement still holding a read transaction. */
void sqlite_reset_all(struct sqlite_store *s);
int sqlite_exec(struct sqlite_store *s, const char *sql);
int sqlite_tx_begin(struct sqlite_store *s);
int sqlite_tx_commit(struct sqlite_store *s);
/* A transaction committed with synchronous=NORMAL, the WAL synced after the
 * lock is released (group commit for new messages): -1 from the sync means
 * the caller must not report success. */
int sqlite_tx_begin_grouped(struct sqlite_store *s);
int sqlite_tx_commit_then_sync(struct sqlite_store *s, bool *committed_r);
void sqlite_tx_rollback(struct sqlite_store *s);
/* Column i as a malloc'd string, or NULL. */
char *sqlite_col_dup(sqlite3_stmt *st, int i);
/* 1 when `sql` with ?1 = arg returns a row, 0 when not, -1 on error (a
 * failed step recorded as `what`, or not recorded when what is NULL). */
int sqlite_row_exists(struct sqlite_store *s, const char *sql, const char *arg, const char *what);
/* Steps q (bound by the caller) to its end, collecting column 0 as an
 * integer and column 1 as a malloc'd string, and resets it. Returns
 * SQLITE_DONE, or the step's error code; what was collected is the
 * caller's to free either way. */
int sqlite_collect_id_text(sqlite3_stmt *q, int64_t **ids_r, char ***texts_r, size_t *n_r);
void sqlite_random_hex(char *out, size_t nbytes);
int sqlite_strp_cmp(const void *a, const void *b);
void sqlite_strv_free_n(char **v, size_t n);

/* store-sqlite.c: partitions, mailbox directories and message files. */
const char *sqlite_partition_dir(struct sqlite_store *s, const char *partition);
void sqlite_mailbox_dir(struct sqlite_store *s, const char *partition, const char *uniqueid, str_t *out);
/* The partition of mailbox `id` as committed now (malloc'd), or NULL with
 * the error set when the mailbox is gone; see the invariants in
 * store-sqlite.c. */
char *sqlite_current_partition(struct sqlite_store *s, int64_t id);
int sqlite_current_dir(struct sqlite_store *s, int64_t id, const char *uniqueid, str_t *out);
int sqlite_mkdir_p(const char *path, mode_t mode);
int sqlite_fsync_dir(const char *dir);
/* A hard link, or a fsynced copy across filesystems. */
int sqlite_place_file(const char *from, const char *to);
/* Creates a file that must not exist yet with `data`, fsynced. */
int sqlite_write_file(const char *path, const char *data, size_t len);
/* Removes a mailbox directory (flat message files) and the directory. */
int sqlite_remove_tree(const char *dir);

/* store-sqlite-mailboxes.c, for renaming and purging users. */
/* The rows of a rename, inside a transaction. */
int sqlite_rename_tx(struct sqlite_store *s, const char *oldname, const char *newname);
/* After a committed rename: mailbox.meta anew for everything under `name`. */
void sqlite_meta_refresh_under(struct sqlite_store *s, const char *name);
/* The sharing index rows of mailbox `id` for its ACL `acl`. */
int sqlite_shares_write(struct sqlite_store *s, int64_t id, const char *acl);
/* Whether `user`'s \Seen lives in messages.flags of `mbox`. */
bool sqlite_seen_in_flags(const struct mailbox_info *mbox, const char *user);

/* The operations of the backend table (store_sqlite_backend), each in the
 * file of its concern. */
/* store-sqlite-users.c */
int sqlite_user_add(struct store *st, const char *name, const char *secret_id);
int sqlite_user_del(struct store *st, const char *name);
int sqlite_user_rename(struct store *st, const char *oldname, const char *newname);
int sqlite_user_purge(struct store *st, const char *name, str_t *report);
int sqlite_user_get(struct store *st, const char *name, str_t *secret_id);
int sqlite_user_list(struct store *st, void (*cb)(const char *, void *), void *ctx);
int sqlite_group_add(struct store *st, const char *name, const char *const *members);
int sqlite_group_del(struct store *st, const char *name);
int sqlite_group_list(struct store *st, void (*cb)(const char *, const char *, void *), void *ctx);
int sqlite_user_groups(struct store *st, const char *user, char ***groups_r);
int sqlite_subscribe(struct store *st, const char *user, const char *name, bool on);
int sqlite_subscriptions(struct store *st, const char *user, void (*cb)(const char *, void *), void *ctx);
/* store-sqlite-mailboxes.c */
int sqlite_mailbox_get(struct store *st, const char *name, struct mailbox_info *info);
int sqlite_mailbox_create(struct store *st, const char *name, const char *partition, const char *acl,
			  const char *specialuse, struct mailbox_info *info);
int sqlite_mailbox_delete(struct store *st, const struct mailbox_info *info);
int sqlite_mailbox_rename(struct store *st, const char *oldname, const char *newname);
int sqlite_mailbox_list(struct store *st, const char *prefix, void (*cb)(const struct mailbox_info *, void *),
			void *ctx);
int sqlite_mailbox_set_acl(struct store *st, int64_t id, const char *acl);
int sqlite_mailbox_list_shared(struct store *st, const char *const *idents,
			       void (*cb)(const struct mailbox_info *, void *), void *ctx);
int sqlite_shares_rebuild(struct store *st);
int sqlite_mailbox_set_specialuse(struct store *st, int64_t id, const char *su);
int sqlite_mailbox_set_sharedseen(struct store *st, int64_t id, bool shared);
int sqlite_mailbox_counts(struct store *st, const struct mailbox_info *mbox, const char *user,
			  struct mailbox_counts *c);
int sqlite_mailbox_claim_recent(struct store *st, int64_t id, uint32_t *old_r, uint32_t *new_r);
int sqlite_metadata_set(struct store *st, int64_t mailbox, const char *user, const char *entry,
			const char *value, size_t value_len);
int sqlite_metadata_list(struct store *st, int64_t mailbox, const char *user, const char *prefix, int depth,
			 void (*cb)(const char *, const char *, size_t, void *), void *ctx);
int sqlite_metadata_count(struct store *st, int64_t mailbox, unsigned *count_r);
/* store-sqlite-partitions.c */
int sqlite_mailbox_move_partition(struct store *st, const char *name, const char *partition);
/* store-sqlite-messages.c */
int sqlite_tmpfile_create(struct store *st, const char *partition, str_t *path_r);
int sqlite_msgfile_create(struct store *st, const struct mailbox_info *mbox, str_t *path_r);
int sqlite_msg_append(struct store *st, const struct mailbox_info *mbox, const char *user,
		      const struct new_msg *m, uint32_t *uid_r, uint64_t *modseq_r);
int sqlite_msg_list(struct store *st, const struct mailbox_info *mbox, const char *user, uint64_t since,
		    struct msg_rec **recs_r, size_t *count_r);
int sqlite_msg_expunged_since(struct store *st, int64_t mbox_id, uint64_t since, uint32_t **uids_r,
			      size_t *count_r);
int sqlite_msg_fields(struct store *st, const struct mailbox_info *mbox, uint32_t uid, unsigned fields,
		      struct msg_detail *d);
int sqlite_msg_search_fields(struct store *st, const struct mailbox_info *mbox,
			     int (*cb)(void *ctx, uint32_t uid, const char *data, size_t len), void *ctx);
/* Records a message's search fields (struct new_msg's search), inside the
 * caller's transaction. */
int sqlite_search_fields_put(struct sqlite_store *s, int64_t mbox_id, uint32_t uid, const char *fields,
			     size_t len);
int sqlite_msg_detail(struct store *st, const struct mailbox_info *mbox, uint32_t uid, struct msg_detail *d);
int sqlite_read_begin(struct store *st);
void sqlite_read_end(struct store *st);
int sqlite_msg_store_flags(struct store *st, const struct mailbox_info *mbox, const char *user,
			   const uint32_t *uids, size_t n, enum flag_op op, uint32_t flags, const char *keywords,
			   uint64_t unchangedsince, struct msg_rec **recs_r, size_t *count_r,
			   uint32_t **failed_r, size_t *nfailed_r);
int sqlite_msg_expunge(struct store *st, const struct mailbox_info *mbox, const uint32_t *uids, size_t n);
int sqlite_msg_copy(struct store *st, const struct mailbox_info *src, const struct mailbox_info *dst,
		    const char *user, const uint32_t *uids, size_t n, bool move, uint32_t **new_uids_r);

/* store-sqlite-quota.c: called inside the transactions that change usage. */
/* Adds (or with negative values, removes) usage to the quota root of
 * `mailbox`; with check=true refuses (STORE_ERR_OVERQUOTA) an increase that
 * would pass a limit. */
int sqlite_quota_charge(struct sqlite_store *s, const char *mailbox, int64_t bytes, int64_t messages,
			bool check);
/* 1 when `a` and `b` are covered by the same quota root (or both by
 * none), 0 when not, -1 on error. */
int sqlite_quota_same_root(struct sqlite_store *s, const char *a, const char *b);
/* Recomputes the usage of the roots that cover `name` or anything below
 * it, after mailboxes moved between roots (rename, delete). */
int sqlite_quota_refresh_under(struct sqlite_store *s, const char *name);
int sqlite_quota_rename(struct sqlite_store *s, const char *oldname, const char *newname);
/* Every root's usage, taken before a rename ... */
struct quota_snap {
	char *root;
	int64_t bytes, msgs;
};
int sqlite_quota_snapshot(struct sqlite_store *s, struct quota_snap **snap_r, size_t *n_r);
void sqlite_quota_snapshot_free(struct quota_snap *snap, size_t n);
/* ... and compared after it (roots under `newname` with their names under
 * `oldname`): a root whose usage grew past a limit fails the rename with
 * STORE_ERR_OVERQUOTA. */
int sqlite_quota_check_growth(struct sqlite_store *s, const struct quota_snap *snap, size_t n,
			      const char *oldname, const char *newname);

/* store-sqlite-journal.c: the files that let a mailbox be rebuilt from its
 * directory (docs/architecture.md, "Rebuilding"). */
#define MAILBOX_META "mailbox.meta"
#define MAILBOX_JOURNAL "mailbox.journal"
/* Rewrites DIR/mailbox.meta atomically (temporary file, rename); failures
 * are logged, never fatal: the database stays the authority. */
int sqlite_meta_write(struct sqlite_store *s, const struct mailbox_info *info);
int sqlite_meta_refresh(struct sqlite_store *s, int64_t id);
int sqlite_meta_refresh_name(struct sqlite_store *s, const char *name);
/* mailbox.meta's text for a mailbox as the database has it. */
void sqlite_meta_text(struct sqlite_store *s, const struct mailbox_info *info, str_t *out);
/* DIR/NAME replaced by text (temporary file, fsync, rename); -1 logged. */
/* Run as root, gives a new file to the owner of its directory (the user
 * the server runs as). */
void sqlite_own_like_dir(int fd, const char *dir);
int sqlite_write_file_atomic(const char *dir, const char *name, const str_t *text);
/* Journal lines, appended after the commit that made the change. */
void sqlite_journal_add(str_t *jl, uint32_t uid, const char *guid, uint64_t modseq, uint64_t size,
			time_t internaldate, int tz, uint32_t flags, const char *keywords);
void sqlite_journal_write(struct sqlite_store *s, const struct mailbox_info *mbox, const str_t *jl);

/* A mailbox.journal read back: the last state of each UID it names. */
struct jent {
	uint32_t uid;
	char guid[33];
	uint64_t modseq, size;
	long long idate;
	int tz;
	uint32_t flags;
	char *keywords;
	bool expunged;
	/* the modseqs of the changes applied: of the flags but \Seen (and the
	 * keywords), and of \Seen */
	uint64_t fmodseq, smodseq;
};

struct journal {
	bool present;
	struct jent *v;
	size_t n;
	struct jent **by_guid;
	uint32_t max_uid;
	uint64_t max_modseq;
};

/* Reads DIR/mailbox.journal (present = false without one). */
void sqlite_journal_load(struct journal *j, const char *dir);
void sqlite_journal_free(struct journal *j);
struct jent *sqlite_journal_guid(struct journal *j, const char *guid);
/* The whole file DIR/NAME, NUL-terminated; NULL with errno set. */
char *sqlite_read_file(const char *dir, const char *name, size_t *len_r);
/* qsort, but never handed a null array (an empty directory). */
void sqlite_sort_n(void *base, size_t n, size_t size, int (*cmp)(const void *, const void *));

/* store-sqlite-recon.c */
int sqlite_reconstruct(struct store *st, const char *const *names, bool recursive,
		       const struct store_repair *r);
int sqlite_check(struct store *st, const struct store_repair *r);

/* The quota operations of the backend table. */
int sqlite_quota_get(struct store *st, const char *root, struct quota_info *q);
int sqlite_quota_set(struct store *st, const char *root, int64_t storage_limit, int64_t message_limit);
int sqlite_quota_root_of(struct store *st, const char *mailbox, str_t *root_r);
int sqlite_quota_list(struct store *st, void (*cb)(const struct quota_info *q, void *ctx), void *ctx);
int sqlite_quota_verify(struct store *st, const char *root, bool fix, struct quota_info *stored,
			struct quota_info *computed);

#endif
