#include "lib-imap/imap-quote.h"

static bool is_atom_char(unsigned char c)
{
	/* ATOM-CHAR = <any CHAR except atom-specials>; CHAR is 0x01-0x7f and
	 * atom-specials are "(" ")" "{" SP CTL "%" "*" '"' "\" "]". */
	if (c <= 0x20 || c >= 0x7f)
		return false;
	switch (c) {
	case '(': case ')': case '{': case '%': case '*':
	case '"': case '\\': case ']':
		return false;
	default:
		return true;
	}
}

bool imap_is_atom(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!is_atom_char((unsigned char)s[i]))
			return false;
	}
	return true;
}

static bool can_quote(const char *s, size_t len)
{
	if (len > IMAP_QUOTED_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == 0 || c == '\r' || c == '\n' || c >= 0x80)
			return false;
	}
	return true;
}

void imap_append_string(str_t *out, const char *s, size_t len)
{
	if (!can_quote(s, len)) {
		str_printf(out, "{%zu}\r\n", len);
		str_append_n(out, s, len);
		return;
	}
	str_reserve(out, len + 2);
	str_append_c(out, '"');
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			str_append_c(out, '\\');
		str_append_c(out, s[i]);
	}
	str_append_c(out, '"');
}

void imap_append_nstring(str_t *out, const char *s, size_t len)
{
	if (s == NULL)
		str_append_n(out, "NIL", 3);
	else
		imap_append_string(out, s, len);
}

static bool is_nil(const char *s, size_t len)
{
	return len == 3 && (s[0] | 0x20) == 'n' && (s[1] | 0x20) == 'i' &&
		(s[2] | 0x20) == 'l';
}

void imap_append_astring(str_t *out, const char *s, size_t len)
{
	if (imap_is_atom(s, len) && !is_nil(s, len))
		str_append_n(out, s, len);
	else
		imap_append_string(out, s, len);
}
