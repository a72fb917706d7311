/* Matching for IMAP SEARCH (RFC 3501 6.4.4) with CHARSET UTF-8: decoded,
 * case-insensitive substring search in headers and bodies. */
#ifndef AGORA_MESSAGE_SEARCH_H
#define AGORA_MESSAGE_SEARCH_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "lib-mail/message-parser.h"
#include "lib/str.h"

/* Case-insensitive substring match of a UTF-8 needle in every field
 * called field of the message header, after RFC 2047 decoding. An empty
 * needle matches when the field exists. */
bool message_search_header(const char *msg, size_t len,
			   const struct message_part *root, const char *field,
			   const char *needle);
/* The bodies of all text parts, following multiparts and message/rfc822
 * (whose encapsulated headers are searched too, being part of the body),
 * decoded from their transfer encoding and converted from their charset
 * (raw bytes for an unknown charset). */
bool message_search_body(const char *msg, size_t len,
			 const struct message_part *root, const char *needle);
/* Header (all fields) or body. */
bool message_search_text(const char *msg, size_t len,
			 const struct message_part *root, const char *needle);

/* The fields SEARCH FROM, TO, CC, BCC and SUBJECT look at, decoded and
 * case-folded once when a message is stored, so those searches need
 * neither the file nor the header: one entry per occurrence, a letter
 * naming the field (message_search_field_code), the folded value's length
 * (4 bytes, little-endian) and the value. Appended to out. */
void message_search_fields(str_t *out, const char *msg, const struct message_part *root);
/* The letter of a field message_search_fields keeps, or 0. */
char message_search_field_code(const char *field);
/* message_search_header's answer from such entries: the needle is given
 * already folded (utf8_fold_case). */
bool message_search_fields_match(const char *fields, size_t len, char code,
				 const char *needle_folded, size_t needle_len);

/* The Date: field parsed per RFC 5322 including the obsolete syntax
 * (two- and three-digit years, named zones, missing seconds, comments).
 * Returns 0 with *t_r (UTC) and *tz_min_r (zone offset in minutes), or -1
 * when the field is absent or unparsable. */
int message_date_r(const char *msg, const struct message_part *root,
		   time_t *t_r, int *tz_min_r);
/* The same for a date-time value on its own. */
int message_date_parse(const char *s, size_t len, time_t *t_r, int *tz_min_r);

#endif
