/* Decoding of RFC 2047 encoded-words ("=?charset?B?...?=") in header
 * values to UTF-8. */
#ifndef AGORA_RFC2047_H
#define AGORA_RFC2047_H

#include <stddef.h>

#include "lib/str.h"

/* Appends in with encoded-words decoded and converted to UTF-8;
 * whitespace between adjacent encoded-words is dropped (RFC 2047 6.2) and
 * adjacent words in one charset are converted together, so a character
 * split across two words survives. Text outside encoded-words is copied.
 * Returns 0, or -1 when some word had an unknown charset (its decoded
 * bytes are then appended unconverted). */
int rfc2047_decode(const char *in, size_t len, str_t *out);

#endif
