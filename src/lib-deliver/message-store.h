/* Storing new messages, shared by IMAP APPEND, LMTP and `agora deliver`:
 * parse once, cache what FETCH needs, write and fsync the file, commit the
 * row (the order docs/architecture.md requires). */
#ifndef AGORA_MESSAGE_STORE_H
#define AGORA_MESSAGE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include "lib/str.h"

struct store;
struct mailbox_info;

/* What is computed once per message, whatever the number of mailboxes it
 * goes to. */
struct message_prepared {
	const char *data;
	size_t len;
	str_t envelope, bodystructure, body;
	str_t search;          /* message_search_fields: what header searches match */
	size_t header_len;     /* the header block is data[0..header_len) */
	time_t sentdate;
	bool has_sentdate;
	char *message_id;      /* for duplicate suppression, or NULL */
};

void message_prepare(struct message_prepared *p, const char *data, size_t len);
void message_prepared_free(struct message_prepared *p);

/* Writes the message to a new file in the mailbox's directory, under the
 * name it will keep, and fsyncs it (again, up to three times, when a
 * partition move removes the directory before the file is created).
 * Until message_store_file records it, no message of the mailbox names
 * it. Returns 0, or -1 with errno set and a log line. */
int message_file_write(struct store *st, const struct mailbox_info *mbox, const char *data, size_t len,
		       str_t *path_r);

/* Records a written file (which it takes: a temporary file is linked into
 * the mailbox; on failure the file is removed). dedup: refuse a second
 * copy of the same Message-ID in this mailbox (the store then answers
 * STORE_ERR_DUPLICATE). */
int message_store_file(struct store *st, const struct mailbox_info *mbox, const char *user,
		       const char *tmp_path, const struct message_prepared *p, time_t internaldate,
		       int tz, uint32_t flags, const char *keywords, bool dedup, uint32_t *uid_r);

/* Both steps for one mailbox. Returns 0, or -1 with *errcode_r: the
 * store's error code, or STORE_ERR_INTERNAL when the file could not be
 * written (logged). */
int message_store_prepared(struct store *st, const struct mailbox_info *mbox, const char *user,
			   const struct message_prepared *p, time_t internaldate, int tz, uint32_t flags,
			   const char *keywords, bool dedup, uint32_t *uid_r, int *errcode_r);

/* The same for a message not prepared yet (IMAP APPEND). */
int message_store_append(struct store *st, const struct mailbox_info *mbox, const char *user,
			 const char *data, size_t len, time_t internaldate, int tz, uint32_t flags,
			 const char *keywords, uint32_t *uid_r, int *errcode_r);

#endif
