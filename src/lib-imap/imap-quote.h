/* Writing strings into IMAP responses (RFC 3501 4.3, 9): the one place
 * that decides between atom, quoted string and literal, so no caller can
 * emit a quoted string with a CR LF in it and split a response line. */
#ifndef AGORA_IMAP_QUOTE_H
#define AGORA_IMAP_QUOTE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

/* Longest value sent as a quoted string; longer ones go as literals, which
 * clients read without scanning for escapes. */
#define IMAP_QUOTED_MAX 1024

/* Appends an IMAP string for s[0..len): a quoted string when every byte is
 * 7-bit, none is CR, LF or NUL, and len <= IMAP_QUOTED_MAX ('"' and '\\'
 * escaped); otherwise a literal "{len}\r\n" followed by the bytes. */
void imap_append_string(str_t *out, const char *s, size_t len);
/* As imap_append_string(), but NULL s is written as NIL. */
void imap_append_nstring(str_t *out, const char *s, size_t len);
/* A bare atom when s is a valid atom other than NIL (in any case, which a
 * client would read as nil), else a string. */
void imap_append_astring(str_t *out, const char *s, size_t len);
/* Whether s[0..len) is a non-empty run of ATOM-CHAR. */
bool imap_is_atom(const char *s, size_t len);

#endif
