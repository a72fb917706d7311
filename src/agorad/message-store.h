/* Storing one new message: parse it once, cache what FETCH needs, write
 * and fsync its file, then commit its row. Shared by APPEND and delivery. */
#ifndef AGORA_MESSAGE_STORE_H
#define AGORA_MESSAGE_STORE_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

struct mailbox_info;

int message_store_append(const struct mailbox_info *mbox, const char *user, const char *data, size_t len,
			 time_t internaldate, int tz, uint32_t flags, const char *keywords, uint32_t *uid_r);

#endif
