#include "lib-mail/rfc2047.h"
#include "lib-mail/charset.h"
#include "lib-mail/message-decode.h"

#include <stdbool.h>
#include <string.h>
#include <strings.h>

#define RFC2047_CHARSET_MAX 64

struct encoded_word {
	char charset[RFC2047_CHARSET_MAX + 1];
	char encoding;		/* 'B' or 'Q' */
	const char *text;
	size_t text_len;
	size_t total_len;	/* from "=?" to "?=" inclusive */
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Parses an encoded word starting at s ("=?" already seen there). */
static bool parse_word(const char *s, size_t len, struct encoded_word *w)
{
	size_t i = 2, cs_start = 2;

	while (i < len && s[i] != '?') {
		if (is_space(s[i]) || (unsigned char)s[i] < 0x20)
			return false;
		i++;
	}
	size_t cs_len = i - cs_start;
	if (i >= len || cs_len == 0)
		return false;
	/* RFC 2231 adds "*language" to the charset */
	const char *star = memchr(s + cs_start, '*', cs_len);
	if (star != NULL)
		cs_len = (size_t)(star - (s + cs_start));
	if (cs_len == 0 || cs_len > RFC2047_CHARSET_MAX)
		return false;
	memcpy(w->charset, s + cs_start, cs_len);
	w->charset[cs_len] = '\0';

	i++;
	if (i + 1 >= len || s[i + 1] != '?')
		return false;
	char e = s[i];
	if (e == 'b' || e == 'B')
		w->encoding = 'B';
	else if (e == 'q' || e == 'Q')
		w->encoding = 'Q';
	else
		return false;
	i += 2;
	size_t text_start = i;
	while (i < len && s[i] != '?') {
		if (is_space(s[i]))
			return false;
		i++;
	}
	if (i + 1 >= len || s[i + 1] != '=')
		return false;
	w->text = s + text_start;
	w->text_len = i - text_start;
	w->total_len = i + 2;
	return true;
}

static bool word_at(const char *in, size_t len, size_t pos,
		    struct encoded_word *w)
{
	return pos + 1 < len && in[pos] == '=' && in[pos + 1] == '?' &&
		parse_word(in + pos, len - pos, w);
}

struct pending {
	char charset[RFC2047_CHARSET_MAX + 1];
	str_t bytes;
	int ret;
};

static void flush(struct pending *p, str_t *out)
{
	if (p->bytes.len == 0)
		return;
	if (charset_to_utf8(p->charset, p->bytes.data, p->bytes.len, out) < 0) {
		str_append_n(out, p->bytes.data, p->bytes.len);
		p->ret = -1;
	}
	str_clear(&p->bytes);
}

int rfc2047_decode(const char *in, size_t len, str_t *out)
{
	struct pending p;
	struct encoded_word w;
	size_t i = 0;
	bool after_word = false;

	memset(&p, 0, sizeof(p));
	str_init(&p.bytes);
	while (i < len) {
		if (word_at(in, len, i, &w)) {
			if (strcasecmp(w.charset, p.charset) != 0) {
				flush(&p, out);
				memcpy(p.charset, w.charset, sizeof(p.charset));
			}
			if (w.encoding == 'B')
				base64_decode(w.text, w.text_len, &p.bytes);
			else
				qp_decode_q(w.text, w.text_len, &p.bytes);
			i += w.total_len;
			after_word = true;
			continue;
		}
		if (after_word && is_space(in[i])) {
			size_t j = i;
			while (j < len && is_space(in[j]))
				j++;
			if (word_at(in, len, j, &w)) {
				i = j;
				continue;
			}
		}
		flush(&p, out);
		after_word = false;
		/* copy plain text up to the next possible encoded word */
		size_t j = i + 1;
		while (j < len && in[j] != '=')
			j++;
		str_append_n(out, in + i, j - i);
		i = j;
	}
	flush(&p, out);
	str_free(&p.bytes);
	return p.ret;
}
