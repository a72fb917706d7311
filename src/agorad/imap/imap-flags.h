/* Flag lists as clients send them: "(\Seen $Junk)". */
#ifndef AGORA_IMAP_FLAGS_H
#define AGORA_IMAP_FLAGS_H

#include <stdint.h>
#include "lib/str.h"
#include "lib-imap/imap-parser.h"

/* Parses flags from args (the elements of a list, or a single atom);
 * system flags into *flags, keywords space-separated into kw. Returns -1
 * with *error_r on an unknown system flag, \Recent, or a bad keyword. */
int imap_flags_parse(const struct imap_arg *args, size_t n, uint32_t *flags, str_t *kw,
		     const char **error_r);

#endif
