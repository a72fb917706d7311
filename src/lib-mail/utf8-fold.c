#include "lib-mail/utf8-fold.h"

#include <stdbool.h>

static bool in_range(uint32_t c, uint32_t lo, uint32_t hi)
{
	return c >= lo && c <= hi;
}

/* Blocks where upper and lower case alternate: the uppercase letter sits on
 * an even (or, for some runs, odd) code point and its lowercase follows. */
static uint32_t fold_alternating(uint32_t c, uint32_t lo, uint32_t hi,
				 uint32_t upper_parity, bool *done)
{
	if (!in_range(c, lo, hi))
		return c;
	*done = true;
	return (c & 1) == upper_parity ? c + 1 : c;
}

uint32_t unicode_fold(uint32_t c)
{
	bool done = false;
	uint32_t r;

	if (c < 0x80)
		return c >= 'A' && c <= 'Z' ? c + 32 : c;
	/* Latin-1: À..Þ except the multiplication sign */
	if (in_range(c, 0xC0, 0xDE))
		return c == 0xD7 ? c : c + 0x20;
	if (c < 0x100)
		return c;
	/* Latin Extended-A */
	if (c == 0x130)
		return 'i';
	if (c == 0x178)
		return 0xFF;
	if (c == 0x17F)
		return 's';	/* long s folds to s */
	r = fold_alternating(c, 0x100, 0x12F, 0, &done);
	if (!done) r = fold_alternating(c, 0x132, 0x137, 0, &done);
	if (!done) r = fold_alternating(c, 0x139, 0x148, 1, &done);
	if (!done) r = fold_alternating(c, 0x14A, 0x177, 0, &done);
	if (!done) r = fold_alternating(c, 0x179, 0x17E, 1, &done);
	if (done)
		return r;
	/* Greek */
	if (c == 0x386)
		return 0x3AC;
	if (in_range(c, 0x388, 0x38A))
		return c + 0x25;
	if (c == 0x38C)
		return 0x3CC;
	if (in_range(c, 0x38E, 0x38F))
		return c + 0x3F;
	if (in_range(c, 0x391, 0x3AB) && c != 0x3A2)
		return c + 0x20;
	if (c == 0x3C2)
		return 0x3C3;	/* final sigma matches sigma */
	/* Cyrillic */
	if (in_range(c, 0x400, 0x40F))
		return c + 0x50;
	if (in_range(c, 0x410, 0x42F))
		return c + 0x20;
	if (c == 0x4C0)
		return 0x4CF;
	r = fold_alternating(c, 0x460, 0x481, 0, &done);
	if (!done) r = fold_alternating(c, 0x48A, 0x4BF, 0, &done);
	if (!done) r = fold_alternating(c, 0x4C1, 0x4CE, 1, &done);
	if (!done) r = fold_alternating(c, 0x4D0, 0x52F, 0, &done);
	if (done)
		return r;
	/* Latin Extended Additional (Vietnamese, Welsh, ...) */
	if (c == 0x1E9E)
		return 0xDF;	/* capital sharp s */
	r = fold_alternating(c, 0x1E00, 0x1E95, 0, &done);
	if (!done) r = fold_alternating(c, 0x1EA0, 0x1EFF, 0, &done);
	return r;
}

/* Decodes one UTF-8 sequence at s (len > 0). Returns its length, or 0 when
 * it is not valid UTF-8 (overlong, surrogate, truncated, out of range). */
static size_t utf8_decode(const unsigned char *s, size_t len, uint32_t *c_r)
{
	unsigned char b = s[0];
	size_t n;
	uint32_t c, min;

	if (b < 0x80) {
		*c_r = b;
		return 1;
	} else if ((b & 0xE0) == 0xC0) {
		n = 2; c = b & 0x1F; min = 0x80;
	} else if ((b & 0xF0) == 0xE0) {
		n = 3; c = b & 0x0F; min = 0x800;
	} else if ((b & 0xF8) == 0xF0) {
		n = 4; c = b & 0x07; min = 0x10000;
	} else {
		return 0;
	}
	if (n > len)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xC0) != 0x80)
			return 0;
		c = (c << 6) | (s[i] & 0x3F);
	}
	if (c < min || c > 0x10FFFF || (c >= 0xD800 && c <= 0xDFFF))
		return 0;
	*c_r = c;
	return n;
}

static void utf8_encode(str_t *out, uint32_t c)
{
	if (c < 0x80) {
		str_append_c(out, (char)c);
	} else if (c < 0x800) {
		str_append_c(out, (char)(0xC0 | (c >> 6)));
		str_append_c(out, (char)(0x80 | (c & 0x3F)));
	} else if (c < 0x10000) {
		str_append_c(out, (char)(0xE0 | (c >> 12)));
		str_append_c(out, (char)(0x80 | ((c >> 6) & 0x3F)));
		str_append_c(out, (char)(0x80 | (c & 0x3F)));
	} else {
		str_append_c(out, (char)(0xF0 | (c >> 18)));
		str_append_c(out, (char)(0x80 | ((c >> 12) & 0x3F)));
		str_append_c(out, (char)(0x80 | ((c >> 6) & 0x3F)));
		str_append_c(out, (char)(0x80 | (c & 0x3F)));
	}
}

void utf8_fold_case(str_t *out, const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		uint32_t c;
		size_t n = utf8_decode(p + i, len - i, &c);
		if (n == 0) {
			/* not UTF-8: keep the byte so raw matching still works */
			str_append_c(out, (char)p[i]);
			i++;
			continue;
		}
		utf8_encode(out, unicode_fold(c));
		i += n;
	}
}
