/* Where a delivery address goes: the addressing rules of Cyrus (user,
 * user+folder, postuser+shared.mailbox), shared by LMTP and
 * `agora deliver`. */
#ifndef AGORA_RECIPIENT_H
#define AGORA_RECIPIENT_H

#include "lib/str.h"

struct store;
struct config;

enum rcpt_result {
	RCPT_OK,
	RCPT_UNKNOWN,       /* 550 5.1.1 */
	RCPT_DENIED,        /* 550 5.7.1 */
	RCPT_BAD_ADDRESS,   /* 501 5.1.3 */
	RCPT_TEMPFAIL,      /* 451 4.3.0 */
};

/* Resolves "local[+detail]@domain" to an internal mailbox name and the
 * user whose \Seen and quota apply (NULL for shared mailboxes). */
enum rcpt_result recipient_resolve(struct store *st, const struct config *cfg, const char *address,
				   str_t *mailbox, str_t *user);

#endif
