/* RFC 5322 address lists (From, To, ...) in the shape IMAP ENVELOPE
 * needs: name, source route, mailbox, host; groups are marked by a
 * start entry (mailbox = group name, host NULL) and an end entry (all
 * NULL), as RFC 3501 7.4.2 describes. */
#ifndef AGORA_MESSAGE_ADDRESS_H
#define AGORA_MESSAGE_ADDRESS_H

#include <stddef.h>

/* Addresses beyond this many in one field are dropped. */
#define MESSAGE_ADDRESS_MAX 10000

struct message_address {
	struct message_address *next;
	/* raw phrase (RFC 2047 words are not decoded), or NULL */
	char *name;
	char *route;	/* "@a,@b" or NULL */
	char *mailbox;	/* local part, or group name for a group start */
	char *domain;	/* NULL for group markers; "" when missing */
};

/* Parses an unfolded field value. Never fails; returns NULL for an empty
 * list. */
struct message_address *message_address_parse(const char *value, size_t len);
void message_address_free(struct message_address **list);

#endif
