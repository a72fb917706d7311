/* Backup and restore of a whole store (the SQLite backend's files).
 *
 * A backup directory holds:
 *   agora.db                       the database, taken with SQLite's online
 *                                  backup API (one read transaction: a
 *                                  consistent point even while agorad runs)
 *   secrets.db                     the password hashes and SCRAM keys
 *                                  (mode 0600), taken after agora.db
 *   partitions/NAME/XX/UNIQUEID/GUID
 *                                  every message file a row of that
 *                                  database names, hard-linked from the
 *                                  store when on the same file system (the
 *                                  files never change, so a link is a copy)
 *                                  and copied otherwise
 *   config/agora.conf              the configuration file
 *   MANIFEST                       what was taken, for people
 * and nothing else: files the snapshot does not name are not taken. */
#ifndef AGORA_STORE_BACKUP_H
#define AGORA_STORE_BACKUP_H

#include <stdbool.h>
#include "lib/str.h"

struct config;

struct backup_report {
	unsigned long mailboxes, messages;
	unsigned long linked, copied;
	unsigned snapshots;   /* database snapshots taken (more than one when
			       * messages were expunged while files were taken) */
};

/* Takes a backup into `dir` (created; it must not exist or be empty).
 * Returns 0, or -1 with err; *bad_input_r tells a problem with what was
 * asked (a non-empty directory) from a failure. */
int store_backup(const struct config *cfg, const char *dir, struct backup_report *rep,
		 bool *bad_input_r, str_t *err);

/* Whether the configured store holds anything (users, mailboxes, or
 * message files): 1 yes, 0 no, -1 error. */
int store_holds_data(const struct config *cfg, str_t *err);

/* Brings the backup in `dir` back into the configured locations: message
 * files first, then the database, so that every row names a file from the
 * moment the database appears. A non-empty store is refused unless
 * `force`, which removes the store's database and message files first.
 * agorad must not be running. */
int store_restore(const struct config *cfg, const char *dir, bool force, struct backup_report *rep,
		  bool *bad_input_r, str_t *err);

#endif
