/* Shared between the files of the SQLite backend; nothing outside
 * lib-storage includes this. */
#ifndef AGORA_STORE_SQLITE_PRIVATE_H
#define AGORA_STORE_SQLITE_PRIVATE_H

#include "lib-storage/store.h"

#include <sqlite3.h>

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

/* store-sqlite-recon.c: the files that let a mailbox be rebuilt from its
 * directory (docs/architecture.md, "Rebuilding"). */
#define MAILBOX_META "mailbox.meta"
#define MAILBOX_JOURNAL "mailbox.journal"
void sqlite_mailbox_dir(struct sqlite_store *s, const char *partition, const char *uniqueid, str_t *out);
/* Rewrites DIR/mailbox.meta atomically (temporary file, rename); failures
 * are logged, never fatal: the database stays the authority. */
int sqlite_meta_write(struct sqlite_store *s, const struct mailbox_info *info);
int sqlite_meta_refresh(struct sqlite_store *s, int64_t id);
int sqlite_meta_refresh_name(struct sqlite_store *s, const char *name);
/* Journal lines, appended after the commit that made the change. */
void sqlite_journal_add(str_t *jl, uint32_t uid, const char *guid, uint64_t modseq, uint64_t size,
			time_t internaldate, int tz, uint32_t flags, const char *keywords);
void sqlite_journal_write(struct sqlite_store *s, const struct mailbox_info *mbox, const str_t *jl);
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
