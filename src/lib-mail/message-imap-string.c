#include "lib-mail/message-imap.h"

#include <string.h>

static bool can_quote(const char *s, size_t len)
{
	if (len > MESSAGE_IMAP_QUOTED_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\0' || c == '\r' || c == '\n' || c >= 0x80)
			return false;
	}
	return true;
}

void message_imap_append_nstring(str_t *out, const char *s, size_t len)
{
	if (s == NULL) {
		str_append(out, "NIL");
		return;
	}
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

void message_imap_append_cstring(str_t *out, const char *s)
{
	message_imap_append_nstring(out, s, s == NULL ? 0 : strlen(s));
}
