/* Content-Transfer-Encoding decoders (RFC 2045). Both are lenient: damaged
 * input decodes as far as it makes sense and never fails. */
#ifndef AGORA_MESSAGE_DECODE_H
#define AGORA_MESSAGE_DECODE_H

#include <stdbool.h>
#include <stddef.h>

#include "lib/str.h"

/* Characters outside the base64 alphabet are skipped; '=' ends the data. */
void base64_decode(const char *in, size_t len, str_t *out);
/* Quoted-printable, body form: soft line breaks removed, trailing
 * whitespace of lines dropped, invalid '=' sequences kept literally. */
void qp_decode(const char *in, size_t len, str_t *out);
/* The "Q" form of RFC 2047 encoded words: like QP, and '_' is a space. */
void qp_decode_q(const char *in, size_t len, str_t *out);

enum message_cte {
	MESSAGE_CTE_IDENTITY,	/* 7bit, 8bit, binary or absent */
	MESSAGE_CTE_BASE64,
	MESSAGE_CTE_QP,
	MESSAGE_CTE_UNKNOWN,
};
/* Classifies a Content-Transfer-Encoding value (NULL = absent). */
enum message_cte message_cte_parse(const char *encoding);
/* Appends the decoded body. Returns 0, or -1 for an unknown encoding
 * (nothing appended). */
int message_decode_body(const char *encoding, const char *in, size_t len,
			str_t *out);

#endif
