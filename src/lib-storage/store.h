/* The storage interface: everything the protocol code may ask of the store,
 * as one struct of operations. The embedded backend is SQLite
 * (store-sqlite.c); a PostgreSQL backend for a cluster of front ends is one
 * new file implementing the same struct. Protocol code never sees SQL or
 * paths, only these calls.
 *
 * Names given to the store are always internal names ("user.bob.Sent",
 * "shared.contact"); namespace.c translates what clients see.
 *
 * Return values: 0 success, -1 failure with store_error() set; the lookups
 * documented as three-way return 1 found, 0 not found, -1 error. */
#ifndef AGORA_STORE_H
#define AGORA_STORE_H

#include <stdbool.h>
#include <stdint.h>
#include <time.h>
#include "lib/str.h"

struct config;
struct store;

/* System flags as bits; keywords are kept apart as text. */
enum msg_flag {
	MSG_ANSWERED = 1 << 0,
	MSG_FLAGGED  = 1 << 1,
	MSG_DELETED  = 1 << 2,
	MSG_SEEN     = 1 << 3,
	MSG_DRAFT    = 1 << 4,
	/* never stored: a session's view of \Recent */
	MSG_RECENT   = 1 << 5,
};
#define MSG_STORED_FLAGS (MSG_ANSWERED | MSG_FLAGGED | MSG_DELETED | MSG_SEEN | MSG_DRAFT)

enum store_errcode {
	STORE_ERR_INTERNAL = 1, /* I/O or database trouble: answer NO [SERVERBUG]/451 */
	STORE_ERR_EXISTS,       /* the name is taken */
	STORE_ERR_NOTFOUND,     /* no such mailbox or user */
	STORE_ERR_INUSE,        /* e.g. a mailbox with children that cannot go */
	STORE_ERR_LIMIT,        /* a store limit was reached */
	STORE_ERR_OVERQUOTA,    /* the change would pass a quota limit */
	STORE_ERR_DUPLICATE,    /* this Message-ID was delivered to this mailbox already */
	STORE_ERR_MOVED,        /* a partition move took the new message's file away: write it again */
};

struct mailbox_info {
	int64_t id;
	char *name;          /* internal name */
	char *uniqueid;      /* never changes, names the mailbox's directory */
	char *partition;
	char *acl;           /* "ID\tRIGHTS\t..." */
	char *specialuse;    /* "\\Sent" etc, or NULL */
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t recentuid;  /* UIDs above it have not been shown as \Recent yet */
	uint64_t highestmodseq;
	bool sharedseen;     /* \Seen shared by all readers (a team inbox) */
};

/* One message as a session sees it. */
struct msg_rec {
	uint32_t uid;
	uint32_t flags;      /* enum msg_flag bits; \Seen as seen by the asking user */
	char *keywords;      /* space-separated, NULL for none */
	uint64_t modseq;
};

/* What FETCH needs beyond flags; the cached strings are computed once at
 * APPEND/delivery so most FETCHes never open the file. */
struct msg_detail {
	uint32_t uid;
	uint64_t size;
	time_t internaldate;
	int internaldate_tz;   /* minutes east of UTC */
	time_t sentdate;       /* from Date:, or internaldate */
	char *guid;
	char *envelope;
	char *bodystructure;
	char *body;            /* BODY (non-extended bodystructure) */
	char *header;          /* the raw header block, blank line included */
	size_t header_len;
	char *path;            /* the message file */
};

struct new_msg {
	/* A written, fsynced file to take: a temporary file (tmpfile_create)
	 * or one already under its final name (msgfile_create). */
	const char *tmp_path;
	/* The message itself (`size` bytes) when the caller holds it in
	 * memory, or NULL: a file written in place that a partition move took
	 * away before the write lock is written again from it, under the lock. */
	const char *data;
	uint64_t size;
	time_t internaldate;
	int internaldate_tz;
	time_t sentdate;
	uint32_t flags;
	const char *keywords;
	const char *envelope;
	const char *bodystructure;
	const char *body;
	/* The raw header block, kept in the metadata so header searches and
	 * BODY[HEADER...] fetches need not open the file. */
	const char *header;
	size_t header_len;
	/* The fields SEARCH FROM/TO/CC/BCC/SUBJECT match, prepared by
	 * message_search_fields (lib-mail); NULL: none kept. */
	const char *search;
	size_t search_len;
	/* Delivery's duplicate suppression: a Message-ID recorded with the
	 * mailbox in the same transaction; a second one fails with
	 * STORE_ERR_DUPLICATE and stores nothing. NULL: no check. */
	const char *dedup_id;
};

enum flag_op { FLAG_SET, FLAG_ADD, FLAG_REMOVE };

struct mailbox_counts {
	uint32_t messages, unseen, recent;
	uint64_t size;
};

/* A quota root (as in Cyrus: a root on user.bob covers all his folders
 * unless a folder has a root of its own). Limits: STORAGE in KiB, MESSAGE
 * in messages, -1 for none. Usage is kept in bytes and messages. */
struct quota_info {
	char *root;
	int64_t storage_limit;
	int64_t message_limit;
	uint64_t storage_used;
	uint64_t message_used;
};

/* What `agora reconstruct` and `agora check` give the store: message
 * parsing lives above this layer (lib-deliver), and every change or problem
 * found is reported as one line. */
struct store_repair {
	/* Fills envelope, bodystructure, body, header, header_len and sentdate
	 * of `m` from the message; they stay valid until the next call. -1:
	 * the data is not a message. */
	int (*prepare)(void *ctx, const char *data, size_t len, struct new_msg *m);
	void (*report)(void *ctx, const char *line);
	void *ctx;
};

/* Fields of msg_fields. */
#define MSG_F_ENVELOPE  (1u << 0)
#define MSG_F_STRUCTURE (1u << 1)   /* bodystructure and body */
#define MSG_F_HEADER    (1u << 2)
#define MSG_F_PATH      (1u << 3)   /* guid and path */
#define MSG_F_ALL       (MSG_F_ENVELOPE | MSG_F_STRUCTURE | MSG_F_HEADER | MSG_F_PATH)

struct store_backend {
	const char *name;
	struct store *(*open)(const struct config *cfg, str_t *err);
	void (*close)(struct store *st);
	const char *(*error)(struct store *st);
	int (*errcode)(struct store *st);
	/* A number that changes whenever another process committed a change. */
	uint64_t (*change_counter)(struct store *st);

	/* users and groups */
	/* Accounts. Their secrets are not here but in secrets.db
	 * (secrets.h), under the account's secret id, which user_add sets and
	 * nothing changes afterwards (a rename keeps it). */
	int (*user_add)(struct store *st, const char *name, const char *secret_id);
	int (*user_del)(struct store *st, const char *name);
	/* Renames a user in one transaction: their mailboxes (user.OLD and
	 * below become user.NEW...), their account (when OLD has one; fails
	 * with STORE_ERR_EXISTS when NEW has one too), their subscriptions,
	 * group memberships, private metadata and per-user \Seen, everyone's
	 * subscriptions to their mailboxes, and every ACL entry naming them
	 * (OLD and -OLD), with the sharing index. Quota roots follow. */
	int (*user_rename)(struct store *st, const char *oldname, const char *newname);
	/* Removes every trace of a user in one transaction (their account,
	 * mailboxes user.NAME and below with their files, subscriptions (theirs
	 * and everyone's to their mailboxes), per-user \Seen, private metadata,
	 * group memberships, quota roots, and every ACL entry naming them) and
	 * appends one line per kind of thing removed to `report`. */
	int (*user_purge)(struct store *st, const char *name, str_t *report);
	/* Three-way; the account's secret id goes to secret_id (may be NULL). */
	int (*user_get)(struct store *st, const char *name, str_t *secret_id);
	int (*user_list)(struct store *st, void (*cb)(const char *name, void *ctx), void *ctx);
	int (*group_add)(struct store *st, const char *name, const char *const *members);
	int (*group_del)(struct store *st, const char *name);
	int (*group_list)(struct store *st, void (*cb)(const char *name, const char *members, void *ctx), void *ctx);
	/* NULL-terminated malloc'd array of group names, free with store_strv_free */
	int (*user_groups)(struct store *st, const char *user, char ***groups_r);

	/* mailboxes */
	int (*mailbox_get)(struct store *st, const char *name, struct mailbox_info *info); /* three-way */
	int (*mailbox_create)(struct store *st, const char *name, const char *partition,
			      const char *acl, const char *specialuse, struct mailbox_info *info);
	int (*mailbox_delete)(struct store *st, const struct mailbox_info *info);
	/* Renames the mailbox and every child ("old.*" to "new.*") in one
	 * transaction. */
	int (*mailbox_rename)(struct store *st, const char *oldname, const char *newname);
	/* Moves the message files of `name` and of every mailbox below it to
	 * `partition`, one mailbox at a time, without a moment where a message
	 * cannot be read: every file is linked (copied across filesystems) and
	 * fsynced into the new partition, the mailbox's partition is switched
	 * in one transaction, and the old files are removed once no reader can
	 * still be looking at the old partition. */
	int (*mailbox_move_partition)(struct store *st, const char *name, const char *partition);
	/* Calls cb for the mailbox named `prefix` (if it exists) and every one
	 * below it; prefix NULL lists all. Sorted by name. */
	int (*mailbox_list)(struct store *st, const char *prefix,
			    void (*cb)(const struct mailbox_info *info, void *ctx), void *ctx);
	/* Sets the ACL and, in the same transaction, the sharing index: which
	 * identifiers (a user, "group:NAME", "anyone", "authenticated") are
	 * given the `l` right by a positive entry. */
	int (*mailbox_set_acl)(struct store *st, int64_t id, const char *acl);
	/* Mailboxes whose ACL gives `l` to one of `idents` (NULL-terminated),
	 * from the sharing index: the cost follows the number of shares with
	 * these identifiers, not the number of users or mailboxes. */
	int (*mailbox_list_shared)(struct store *st, const char *const *idents,
				   void (*cb)(const struct mailbox_info *info, void *ctx), void *ctx);
	/* Rebuilds the sharing index from every ACL (used by reconstruct). */
	int (*shares_rebuild)(struct store *st);
	int (*mailbox_set_specialuse)(struct store *st, int64_t id, const char *specialuse);
	int (*mailbox_set_sharedseen)(struct store *st, int64_t id, bool shared);
	int (*mailbox_counts)(struct store *st, const struct mailbox_info *info, const char *user,
			      struct mailbox_counts *counts);
	/* Claims UIDs above recentuid as \Recent for the caller: the caller's
	 * recent UIDs are *old_r+1 .. *new_r (none when equal). */
	int (*mailbox_claim_recent)(struct store *st, int64_t id, uint32_t *old_r, uint32_t *new_r);

	/* Mailbox metadata (RFC 5464): `user` "" for /shared entries, the
	 * user's name for /private ones; mailbox id 0 is the server. value NULL
	 * removes the entry. Entries are full names ("/shared/comment"). */
	int (*metadata_set)(struct store *st, int64_t mailbox, const char *user, const char *entry,
			    const char *value, size_t value_len);
	/* Calls cb for the entries equal to `prefix` or below it ("prefix/..."),
	 * at most `depth` levels below (-1: any). */
	int (*metadata_list)(struct store *st, int64_t mailbox, const char *user, const char *prefix,
			     int depth, void (*cb)(const char *entry, const char *value, size_t len, void *ctx),
			     void *ctx);
	int (*metadata_count)(struct store *st, int64_t mailbox, unsigned *count_r);

	/* quotas */
	int (*quota_get)(struct store *st, const char *root, struct quota_info *q); /* three-way */
	/* Creates or changes a root; both limits -1 removes it. Usage is
	 * computed from the messages in the same transaction. */
	int (*quota_set)(struct store *st, const char *root, int64_t storage_limit, int64_t message_limit);
	/* The root that covers a mailbox: three-way, name in root_r. */
	int (*quota_root_of)(struct store *st, const char *mailbox, str_t *root_r);
	int (*quota_list)(struct store *st, void (*cb)(const struct quota_info *q, void *ctx), void *ctx);
	/* Recomputes a root's usage from its messages; with fix=true stores it.
	 * Reports the stored and the computed usage. */
	int (*quota_verify)(struct store *st, const char *root, bool fix, struct quota_info *stored,
			    struct quota_info *computed);

	/* subscriptions */
	int (*subscribe)(struct store *st, const char *user, const char *name, bool on);
	int (*subscriptions)(struct store *st, const char *user,
			     void (*cb)(const char *name, void *ctx), void *ctx);

	/* messages */
	/* Moves msg->tmp_path into the mailbox and records it; assigns the UID. */
	int (*msg_append)(struct store *st, const struct mailbox_info *mbox, const char *user,
			  const struct new_msg *msg, uint32_t *uid_r, uint64_t *modseq_r);
	/* Every message with modseq > since (0: all), ascending UID. */
	int (*msg_list)(struct store *st, const struct mailbox_info *mbox, const char *user,
			uint64_t since, struct msg_rec **recs_r, size_t *count_r);
	/* UIDs expunged with modseq > since. */
	int (*msg_expunged_since)(struct store *st, int64_t mbox_id, uint64_t since,
				  uint32_t **uids_r, size_t *count_r);
	int (*msg_detail)(struct store *st, const struct mailbox_info *mbox, uint32_t uid,
			  struct msg_detail *d); /* three-way */
	/* Like msg_detail, with only the fields asked for (MSG_F_*) besides
	 * size and dates; the others stay NULL. FETCH of envelopes and SEARCH
	 * of headers read and copy much less this way. */
	int (*msg_fields)(struct store *st, const struct mailbox_info *mbox, uint32_t uid, unsigned fields,
			  struct msg_detail *d); /* three-way */
	/* The prepared search fields (struct new_msg's search) of every
	 * message of the mailbox that has them, ascending UID; one read for
	 * the whole mailbox, however many messages it holds. The callback's
	 * data is valid during the call; a non-zero return stops the walk. */
	int (*msg_search_fields)(struct store *st, const struct mailbox_info *mbox,
				 int (*cb)(void *ctx, uint32_t uid, const char *data, size_t len), void *ctx);
	/* A consistent read view for a command that reads many messages (one
	 * lock instead of one per query). No writes in between. */
	int (*read_begin)(struct store *st);
	void (*read_end)(struct store *st);
	/* Changes flags of the given UIDs; with unchangedsince != 0 the messages
	 * whose modseq is higher are left alone and reported in *failed. The
	 * updated records come back in *recs_r. */
	int (*msg_store_flags)(struct store *st, const struct mailbox_info *mbox, const char *user,
			       const uint32_t *uids, size_t n, enum flag_op op, uint32_t flags,
			       const char *keywords, uint64_t unchangedsince,
			       struct msg_rec **recs_r, size_t *count_r,
			       uint32_t **failed_r, size_t *nfailed_r);
	int (*msg_expunge)(struct store *st, const struct mailbox_info *mbox,
			   const uint32_t *uids, size_t n);
	/* Copies (and with move=true, expunges from the source) in one
	 * transaction; new UIDs in *new_uids_r in the order of uids. */
	int (*msg_copy)(struct store *st, const struct mailbox_info *src, const struct mailbox_info *dst,
			const char *user, const uint32_t *uids, size_t n, bool move,
			uint32_t **new_uids_r);
	/* A temporary file on `partition` for a new message; the caller writes
	 * and fsyncs it, then hands it to msg_append. */
	int (*tmpfile_create)(struct store *st, const char *partition, str_t *path_r);
	/* A new message file's final name in the mailbox's directory (made
	 * when missing), for the caller to write and fsync there; msg_append
	 * then only makes the name durable, where a temporary file would have
	 * to be linked in and its directory synced after the file. */
	int (*msgfile_create)(struct store *st, const struct mailbox_info *mbox, str_t *path_r);

	/* Store maintenance, with the server stopped. reconstruct rebuilds the
	 * metadata of the named mailboxes (NULL: all; recursive: and those
	 * below) from their directories and returns the number of changes
	 * reported; check reports every inconsistency and returns their
	 * number; -1 on error. */
	int (*reconstruct)(struct store *st, const char *const *names, bool recursive,
			   const struct store_repair *r);
	int (*check)(struct store *st, const struct store_repair *r);
};

struct store {
	const struct store_backend *be;
};

extern const struct store_backend store_sqlite_backend;

struct store *store_open(const struct config *cfg, str_t *err);
/* Run as root with the `user` option set: gives that user the store's
 * files (the database and its journal files, the configuration and
 * partition directories), so that a database created by `agora` as root
 * stays writable by the server. Returns -1 with err when the user is
 * unknown. */
int store_give_to_user(const struct config *cfg, str_t *err);
void store_close(struct store **st);

void mailbox_info_free(struct mailbox_info *info);
void msg_rec_free_array(struct msg_rec *recs, size_t count);
void msg_detail_free(struct msg_detail *d);
void store_strv_free(char **v);
void quota_info_free(struct quota_info *q);

/* Owner of an internal name: "bob" for "user.bob" and "user.bob.X", NULL
 * for shared mailboxes. Returned malloc'd. */
char *mailbox_owner(const char *name);

#endif
