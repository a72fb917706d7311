/* The decoding half of the simple SASL mechanisms (RFC 4616 PLAIN, the
 * LOGIN mechanism's steps): pure functions on the client's base64, used by
 * the IMAP worker and fuzzed by tests/fuzz/fuzz-sasl.c. */
#ifndef AGORA_SASL_H
#define AGORA_SASL_H

#include <stddef.h>

/* Decodes base64 SASL data ("=" is the empty response); NULL when it is
 * not base64. The result is malloc'd and NUL-terminated; its length goes
 * to *len_r. Free it with sasl_free(), which wipes it. */
unsigned char *sasl_decode(const char *b64, size_t *len_r);
void sasl_free(unsigned char *buf, size_t len);

/* PLAIN: [authzid] NUL authcid NUL passwd, in a buffer of len bytes with a
 * NUL after it (as sasl_decode gives). Points the three parts into buf:
 * 0, or -1 when there are not two NULs. A NUL inside the password cuts
 * it. */
int sasl_plain_split(const unsigned char *buf, size_t len, const char **authzid_r,
		     const char **authcid_r, const char **passwd_r);

#endif
