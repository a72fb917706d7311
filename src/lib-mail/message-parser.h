/* MIME structure of a complete RFC 5322 message held in memory
 * (RFC 2045, RFC 2046). The tree only points into the message by
 * offsets; the message must stay around while the tree is used.
 * Parsing never fails: malformed input gives a best-effort tree. Nesting
 * stops at MIME_MAX_DEPTH and the tree holds at most MIME_MAX_PARTS parts;
 * beyond that, parts are opaque bodies. */
#ifndef AGORA_MESSAGE_PARSER_H
#define AGORA_MESSAGE_PARSER_H

#include <stdbool.h>
#include <stddef.h>

struct message_part {
	/* offsets into the message */
	size_t header_start, header_len;  /* header block incl. the blank line that ends it */
	size_t body_start, body_len;
	unsigned body_lines;	/* lines in the body: line ends, plus one for
				   an unterminated last line */
	/* parsed Content-* (lowercase type/subtype; defaults text/plain
	   charset us-ascii; multipart child of multipart/digest defaults
	   message/rfc822) */
	char *type, *subtype;
	/* name/value pairs, names as given, RFC 2231 merged; NULL-terminated
	   (never NULL itself) */
	char **params;
	char *id, *description, *encoding /* as given, NULL = 7BIT */, *md5;
	char *disposition; char **disposition_params; char **language; char *location;
	struct message_part *children;	/* first child: multipart parts, or for message/rfc822 the single encapsulated message part */
	struct message_part *next;	/* next sibling */
	struct message_part *parent;

	/* type and subtype with the case used in the message (for IMAP
	   BODYSTRUCTURE, which echoes them) */
	char *type_raw, *subtype_raw;
	/* true for the root and for messages encapsulated in message/rfc822 */
	bool is_message;
};

struct message_part *message_parse(const char *msg, size_t len);
/* Frees the tree and sets *part = NULL. */
void message_part_free(struct message_part **part);

bool message_part_is_multipart(const struct message_part *part);
/* message/rfc822 with a parsed encapsulated message in children */
bool message_part_is_rfc822(const struct message_part *part);
bool message_part_is_text(const struct message_part *part);
/* The charset parameter, or "us-ascii". */
const char *message_part_charset(const struct message_part *part);

/* Number of lines in s: line ends plus one for an unterminated last line. */
unsigned message_count_lines(const char *s, size_t len);

#endif
