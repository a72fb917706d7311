/* Modified UTF-7 (RFC 3501 5.1.3): how IMAP clients spell mailbox names
 * that are not plain ASCII. Internally Agora keeps names as UTF-8; these
 * convert at the protocol edge and refuse anything that is not the one
 * canonical spelling, so that two different wire names can never map to
 * the same internal mailbox.
 *
 * U+0000 is refused in both directions: names travel as C strings further
 * in, and "a&AAA-b" must not quietly become "a". */
#ifndef AGORA_MUTF7_H
#define AGORA_MUTF7_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

/* Appends the UTF-8 form of the mUTF-7 text in[0..len) to out. Returns 0,
 * or -1 (out then holds an unspecified partial result) when the input is
 * not canonical mUTF-7: raw non-printable or 8-bit bytes, bad base64, an
 * '&' run without its closing '-', printable ASCII or U+0000 inside a run,
 * unpaired surrogates, left-over bits that are not zero or make up a whole
 * base64 character, an empty run, or two runs back to back ("&AGE-&AGE-",
 * which has the single spelling "&AGEAYQ-"). "&-" is a literal '&'. */
int mutf7_to_utf8(const char *in, size_t len, str_t *out);

/* Appends the mUTF-7 form of the UTF-8 text in[0..len) to out. Returns 0,
 * or -1 when the input is not valid UTF-8 or contains a NUL byte. */
int utf8_to_mutf7(const char *in, size_t len, str_t *out);

/* Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
 * U+10FFFF. NUL bytes are valid UTF-8 and accepted here. */
bool utf8_is_valid(const char *s, size_t len);

/* Whether mutf7_to_utf8() would accept in[0..len). */
bool mutf7_is_valid(const char *in, size_t len);

#endif
