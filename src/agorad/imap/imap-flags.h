/* Flag lists as clients send them: "(\Seen $Junk)". */
#ifndef AGORA_IMAP_FLAGS_H
#define AGORA_IMAP_FLAGS_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/str.h"
#include "lib-imap/imap-parser.h"

/* Parses flags from args (the elements of a list, or a single atom);
 * system flags into *flags, keywords space-separated into kw. Returns -1
 * with *error_r on an unknown system flag, \Recent, or a bad keyword. */
int imap_flags_parse(const struct imap_arg *args, size_t n, uint32_t *flags, str_t *kw,
		     const char **error_r);

/* Keyword lists as the store keeps them: "$Junk Work", space-separated. */
/* Steps *p over the next word: false at the end of the list, else true with
 * the word at *word_r and its length in *len_r (0 for trailing spaces). */
bool imap_keywords_next(const char **p, const char **word_r, size_t *len_r);
/* Whether `list` (may be NULL) holds the keyword kw[0..kwlen), ignoring
 * case. */
bool imap_keyword_in_list(const char *list, const char *kw, size_t kwlen);

#endif
