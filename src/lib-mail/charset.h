/* Conversion of text in a MIME charset to UTF-8, through iconv. */
#ifndef AGORA_CHARSET_H
#define AGORA_CHARSET_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

/* Appends in (text in charset) to out as UTF-8. Bytes that are invalid in
 * the charset become U+FFFD, so the result is always usable for matching.
 * Returns 0, or -1 when the charset is unknown (nothing appended). */
int charset_to_utf8(const char *charset, const char *in, size_t len,
		    str_t *out);
/* True for charsets whose bytes are taken as UTF-8 without conversion. */
bool charset_is_utf8_compatible(const char *charset);

#endif
