/* Reading a message's file (FETCH, SEARCH, export) across partition moves. */
#ifndef AGORA_MSGFILE_READ_H
#define AGORA_MSGFILE_READ_H

#include <stdbool.h>
#include "lib/str.h"
#include "lib-storage/store.h"

/* Reads the whole file of message d (d->path) into out. A mailbox that
 * finished moving to another partition since d->path was looked up has
 * removed its old files: the path is looked up again (d->path replaced;
 * when *snapshot, in a new read transaction, as the old one still sees the
 * old place), as often as moves following each other require. Returns
 * true, or false with errno set. */
bool store_msgfile_read(struct store *st, const struct mailbox_info *mbox, struct msg_detail *d,
			bool *snapshot, str_t *out);

#endif
