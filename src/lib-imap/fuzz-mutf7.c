/* libFuzzer target: whatever mUTF-7 decodes must be valid UTF-8 and must
 * encode back to exactly the input, since we accept only the canonical
 * spelling. Any UTF-8 input must survive encode + decode unchanged too.
 * Build (not part of meson):
 * clang -g -fsanitize=fuzzer,address,undefined -Isrc src/lib-imap/fuzz-mutf7.c
 *   src/lib-imap/mutf7.c src/lib/str.c src/lib/xalloc.c */
#include "lib-imap/mutf7.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* memcmp()/memchr() must not see NULL even for zero lengths, and an empty
 * str_t has a NULL buffer. */
static bool same(const str_t *s, const char *p, size_t len)
{
	return s->len == len && (len == 0 || memcmp(s->data, p, len) == 0);
}

static bool has_nul(const char *p, size_t len)
{
	return len > 0 && memchr(p, 0, len) != NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	str_t utf8 = STR_INIT, back = STR_INIT, m = STR_INIT;

	bool valid = mutf7_is_valid(in, size);
	if (mutf7_to_utf8(in, size, &utf8) == 0) {
		if (!valid || !utf8_is_valid(str_c(&utf8), utf8.len) ||
		    has_nul(utf8.data, utf8.len))
			abort();
		if (utf8_to_mutf7(str_c(&utf8), utf8.len, &back) != 0 ||
		    !same(&back, in, size))
			abort();
	} else if (valid) {
		abort();
	}

	if (utf8_is_valid(in, size) && !has_nul(in, size)) {
		str_clear(&utf8);
		if (utf8_to_mutf7(in, size, &m) != 0 ||
		    mutf7_to_utf8(str_c(&m), m.len, &utf8) != 0 ||
		    !same(&utf8, in, size))
			abort();
	}
	str_free(&utf8);
	str_free(&back);
	str_free(&m);
	return 0;
}
