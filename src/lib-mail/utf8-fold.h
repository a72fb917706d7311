/* Case folding of UTF-8 text for case-insensitive matching (IMAP SEARCH).
 * Covers ASCII, Latin-1, Latin Extended-A, Latin Extended Additional,
 * Greek and Cyrillic with simple one-to-one mappings; everything else is
 * copied unchanged, including invalid UTF-8. */
#ifndef AGORA_UTF8_FOLD_H
#define AGORA_UTF8_FOLD_H

#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"

/* Appends s folded to lowercase to out. */
void utf8_fold_case(str_t *out, const char *s, size_t len);
/* The folded form of one code point. */
uint32_t unicode_fold(uint32_t c);

#endif
