/* The IMAP views of a parsed message (RFC 3501 7.4.2, RFC 3516):
 * BODYSTRUCTURE / BODY, ENVELOPE and BODY[section] / BINARY[section]. */
#ifndef AGORA_MESSAGE_IMAP_H
#define AGORA_MESSAGE_IMAP_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"
#include "lib-mail/message-parser.h"

/* Strings longer than this are sent as literals rather than quoted. */
#define MESSAGE_IMAP_QUOTED_MAX 1024

/* Appends s as an IMAP string: quoted when it is short 7-bit text without
 * CR, LF or NUL, else a literal {n}\r\n...; NIL when s is NULL. */
void message_imap_append_nstring(str_t *out, const char *s, size_t len);
/* The same for a C string (NULL = NIL). */
void message_imap_append_cstring(str_t *out, const char *s);

/* BODYSTRUCTURE (extended=true) or BODY (extended=false). Types, subtypes,
 * parameters and encodings are echoed as the message wrote them; missing
 * ones are "text" "plain" ("charset" "us-ascii") and "7bit". A multipart
 * without parts is shown with one empty text/plain part so the output
 * stays grammatical. */
void message_imap_bodystructure(str_t *out, const char *msg,
				const struct message_part *root, bool extended);

/* ENVELOPE of the message whose header is root's (root may also be the
 * encapsulated message of a message/rfc822 part). Values are raw
 * (unfolded, not RFC 2047-decoded); sender and reply-to default to from. */
void message_imap_envelope(str_t *out, const char *msg,
			   const struct message_part *root);

/* section = the text between the brackets of BODY[...] / BINARY[...].
 * Appends the bytes of that section to out. Returns 0 ok, 1 when the part
 * does not exist (the caller answers an empty string), -1 when the
 * section text is invalid, -2 (binary only) when the part's
 * Content-Transfer-Encoding is unknown ([UNKNOWN-CTE]). BINARY accepts
 * only part numbers (RFC 3516 section-binary). */
int message_imap_section(str_t *out, const char *msg, size_t len,
			 const struct message_part *root, const char *section,
			 bool binary);

#endif
