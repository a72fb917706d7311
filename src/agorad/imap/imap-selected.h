/* The selected mailbox as one session sees it: the message sequence
 * (sequence number = index + 1), each message's flags, and how far this
 * view has caught up with the store (modseq). */
#ifndef AGORA_IMAP_SELECTED_H
#define AGORA_IMAP_SELECTED_H

#include <stdbool.h>
#include <stdint.h>
#include "lib-storage/store.h"
#include "lib-acl/acl.h"
#include "lib-imap/seqset.h"

struct imap_client;

struct imap_selected {
	struct mailbox_info info;
	acl_rights_t rights;
	bool readonly;
	struct msg_rec *msgs;
	size_t count, alloc;
	bool *expunged;             /* per message: expunged, not yet announced */
	size_t pending_expunges;
	uint64_t modseq;            /* changes up to here are reflected */
	/* The UIDs this session claimed as \Recent. A set, not a threshold:
	 * sessions claim new messages in turns, so one session's recent UIDs
	 * can have another's in between. */
	struct seqset recent;
	uint32_t exists_sent;       /* count last announced with EXISTS */
};

int imap_selected_open(struct imap_client *c, const struct mailbox_info *info, bool readonly);
void imap_selected_close(struct imap_client *c);
/* Brings the view up to date and tells the client: EXISTS, RECENT, FETCH
 * FLAGS; EXPUNGE only when allowed (never during FETCH, STORE, SEARCH). */
void imap_selected_sync(struct imap_client *c, bool allow_expunge);
/* Index of uid in msgs, or -1. */
long imap_selected_find_uid(const struct imap_selected *sel, uint32_t uid);
/* Translates a sequence set or UID set into ascending message indexes. */
int imap_selected_resolve(const struct imap_selected *sel, const char *set, bool uid,
			  uint32_t **idx_r, size_t *count_r);
/* Whether the message at idx is \Recent in this session. */
bool imap_selected_is_recent(const struct imap_selected *sel, size_t idx);
/* Flag list "\Seen \Answered kw" for a message (with \Recent when it is). */
void imap_selected_flags(const struct imap_selected *sel, size_t idx, str_t *out);
/* Applies a record from the store to the view (flags, keywords, modseq). */
void imap_selected_update(struct imap_selected *sel, const struct msg_rec *rec);
/* Sends the FLAGS and PERMANENTFLAGS lines. */
void imap_selected_send_flags(struct imap_client *c);

#endif
