#include "lib-imap/mutf7.h"

#include <stdint.h>

/* RFC 3501 uses the RFC 2045 base64 alphabet with ',' in place of '/'. */
static const char b64_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == ',')
		return 63;
	return -1;
}

/* Characters mUTF-7 must carry as themselves ('&' aside): encoding one of
 * them would be a second spelling of the same name. */
static bool is_direct(uint32_t c)
{
	return c >= 0x20 && c <= 0x7e;
}

/* Decodes one UTF-8 sequence at s (len > 0 bytes available). Returns its
 * length and sets *cp_r, or returns 0 when the sequence is invalid. */
static size_t utf8_decode_one(const unsigned char *s, size_t len, uint32_t *cp_r)
{
	uint32_t cp, min;
	size_t n;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if (s[0] >= 0xc2 && s[0] <= 0xdf) {
		n = 2; cp = s[0] & 0x1f; min = 0x80;
	} else if (s[0] >= 0xe0 && s[0] <= 0xef) {
		n = 3; cp = s[0] & 0x0f; min = 0x800;
	} else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
		n = 4; cp = s[0] & 0x07; min = 0x10000;
	} else {
		/* continuation byte, C0/C1 (always overlong), or F5+ (> U+10FFFF) */
		return 0;
	}
	if (len < n)
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

static void utf8_encode_one(str_t *out, uint32_t cp)
{
	char buf[4];
	size_t n;

	if (cp < 0x80) {
		buf[0] = (char)cp; n = 1;
	} else if (cp < 0x800) {
		buf[0] = (char)(0xc0 | (cp >> 6));
		buf[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		buf[0] = (char)(0xe0 | (cp >> 12));
		buf[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		buf[0] = (char)(0xf0 | (cp >> 18));
		buf[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		buf[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		buf[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	str_append_n(out, buf, n);
}

bool utf8_is_valid(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;
	uint32_t cp;

	while (i < len) {
		size_t n = utf8_decode_one(p + i, len - i, &cp);
		if (n == 0)
			return false;
		i += n;
	}
	return true;
}

/* Decodes the base64 run that starts at in[*pos] (just after '&') up to and
 * including its '-'. out may be NULL to only validate. */
static int decode_run(const unsigned char *in, size_t len, size_t *pos,
		      str_t *out)
{
	uint32_t bits = 0, high = 0;
	unsigned int nbits = 0;
	size_t i = *pos, units = 0;

	for (;; i++) {
		if (i == len)
			return -1;	/* '&' run never closed */
		if (in[i] == '-')
			break;
		int v = b64_value(in[i]);
		if (v < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits < 16)
			continue;
		nbits -= 16;
		uint32_t unit = (bits >> nbits) & 0xffff;
		bits &= (1u << nbits) - 1;
		units++;

		if (high != 0) {
			if (unit < 0xdc00 || unit > 0xdfff)
				return -1;	/* high surrogate without low */
			uint32_t cp = 0x10000 + ((high - 0xd800) << 10) +
				(unit - 0xdc00);
			high = 0;
			if (out != NULL)
				utf8_encode_one(out, cp);
		} else if (unit >= 0xd800 && unit <= 0xdbff) {
			high = unit;
		} else if (unit >= 0xdc00 && unit <= 0xdfff) {
			return -1;		/* low surrogate alone */
		} else if (is_direct(unit) || unit == 0) {
			return -1;		/* must not be encoded */
		} else if (out != NULL) {
			utf8_encode_one(out, unit);
		}
	}
	/* Canonical encoders emit exactly as many base64 characters as the
	 * units need, padding the last one with zero bits; anything else is a
	 * second spelling (or garbage). */
	if (high != 0 || units == 0 || nbits >= 6 || bits != 0)
		return -1;
	*pos = i + 1;
	return 0;
}

static int decode(const char *in_, size_t len, str_t *out)
{
	const unsigned char *in = (const unsigned char *)in_;
	size_t i = 0;
	bool after_run = false;

	while (i < len) {
		unsigned char c = in[i];
		if (c == '&') {
			if (i + 1 < len && in[i + 1] == '-') {
				if (out != NULL)
					str_append_c(out, '&');
				i += 2;
				after_run = false;
				continue;
			}
			/* Two runs back to back have one canonical spelling
			 * as a single run. */
			if (after_run)
				return -1;
			i++;
			if (decode_run(in, len, &i, out) < 0)
				return -1;
			after_run = true;
			continue;
		}
		if (!is_direct(c))
			return -1;
		if (out != NULL)
			str_append_c(out, (char)c);
		i++;
		after_run = false;
	}
	return 0;
}

int mutf7_to_utf8(const char *in, size_t len, str_t *out)
{
	return decode(in, len, out);
}

bool mutf7_is_valid(const char *in, size_t len)
{
	return decode(in, len, NULL) == 0;
}

struct b64_writer {
	str_t *out;
	uint32_t bits;
	unsigned int nbits;
};

static void b64_put_unit(struct b64_writer *w, uint32_t unit)
{
	w->bits = (w->bits << 16) | unit;
	w->nbits += 16;
	while (w->nbits >= 6) {
		w->nbits -= 6;
		str_append_c(w->out, b64_chars[(w->bits >> w->nbits) & 0x3f]);
	}
	w->bits &= (1u << w->nbits) - 1;
}

static void b64_finish(struct b64_writer *w)
{
	if (w->nbits > 0)
		str_append_c(w->out, b64_chars[(w->bits << (6 - w->nbits)) & 0x3f]);
	str_append_c(w->out, '-');
	w->bits = 0;
	w->nbits = 0;
}

int utf8_to_mutf7(const char *in_, size_t len, str_t *out)
{
	const unsigned char *in = (const unsigned char *)in_;
	struct b64_writer w = { out, 0, 0 };
	bool in_run = false;
	size_t i = 0;

	while (i < len) {
		uint32_t cp;
		size_t n = utf8_decode_one(in + i, len - i, &cp);
		if (n == 0 || cp == 0)
			return -1;
		i += n;

		if (is_direct(cp)) {
			if (in_run) {
				b64_finish(&w);
				in_run = false;
			}
			if (cp == '&')
				str_append_n(out, "&-", 2);
			else
				str_append_c(out, (char)cp);
			continue;
		}
		if (!in_run) {
			str_append_c(out, '&');
			in_run = true;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			b64_put_unit(&w, 0xd800 + (cp >> 10));
			b64_put_unit(&w, 0xdc00 + (cp & 0x3ff));
		} else {
			b64_put_unit(&w, cp);
		}
	}
	if (in_run)
		b64_finish(&w);
	return 0;
}
