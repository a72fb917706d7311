/* Reading RFC 5322 header blocks held in memory: iterate the fields,
 * find one by name, unfold values. Nothing here allocates per field, so
 * a hostile header with millions of lines costs only a linear scan. */
#ifndef AGORA_MESSAGE_HEADER_H
#define AGORA_MESSAGE_HEADER_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

struct message_header_field {
	const char *name;	/* field name, trailing whitespace removed */
	size_t name_len;
	const char *value;	/* raw value after the colon, folding kept, */
	size_t value_len;	/* final line end excluded */
	const char *full;	/* the whole field including its final line end */
	size_t full_len;
};

struct message_header_iter {
	const char *hdr;
	size_t len, pos;
};

/* hdr/len is a header block; it may or may not include the blank line
 * that ends it (iteration stops there either way). */
void message_header_iter_init(struct message_header_iter *iter,
			      const char *hdr, size_t len);
/* Lines that are not fields (no colon, empty name, stray continuation
 * lines) are skipped rather than ending the iteration. */
bool message_header_iter_next(struct message_header_iter *iter,
			      struct message_header_field *field_r);

/* Appends value with line breaks of folding removed (the whitespace after
 * them kept) and leading/trailing whitespace trimmed. */
void message_header_unfold(str_t *out, const char *value, size_t len);

/* Finds the first field called name (case-insensitive). When value_r is
 * non-NULL its unfolded value is appended there. */
bool message_header_find(const char *hdr, size_t len, const char *name,
			 str_t *value_r);
/* Same, returning a malloc'd unfolded value, or NULL when absent. */
char *message_header_get(const char *hdr, size_t len, const char *name);

/* Length of the header block at msg, including the blank line that ends
 * it. Without a blank line the whole input is header; *has_blank_r (if
 * non-NULL) tells which case it was. */
size_t message_header_block_len(const char *msg, size_t len, bool *has_blank_r);

/* Case-insensitive ASCII comparison of a counted name with a C string. */
bool message_name_eq(const char *name, size_t name_len, const char *cstr);

#endif
