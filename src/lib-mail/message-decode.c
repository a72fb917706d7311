#include "lib-mail/message-decode.h"

#include <string.h>
#include <strings.h>

static int b64_value(unsigned char c)
{
	if (c >= 'A' && c <= 'Z') return c - 'A';
	if (c >= 'a' && c <= 'z') return c - 'a' + 26;
	if (c >= '0' && c <= '9') return c - '0' + 52;
	if (c == '+') return 62;
	if (c == '/') return 63;
	return -1;
}

void base64_decode(const char *in, size_t len, str_t *out)
{
	unsigned acc = 0, bits = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '=')
			break;
		int v = b64_value(c);
		if (v < 0)
			continue;
		acc = ((acc << 6) | (unsigned)v) & 0xFFFFFF;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			str_append_c(out, (char)((acc >> bits) & 0xFF));
		}
	}
}

static int hex_value(unsigned char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	return -1;
}

static void qp_decode_mode(const char *in, size_t len, str_t *out, bool q)
{
	size_t i = 0;

	while (i < len) {
		unsigned char c = (unsigned char)in[i];
		if (c == '=') {
			int h = i + 1 < len ? hex_value((unsigned char)in[i + 1]) : -1;
			int l = i + 2 < len ? hex_value((unsigned char)in[i + 2]) : -1;
			if (h >= 0 && l >= 0) {
				str_append_c(out, (char)(h * 16 + l));
				i += 3;
				continue;
			}
			/* soft line break: "=" followed by optional whitespace
			 * (added by transports) and the line end */
			size_t j = i + 1;
			while (j < len && (in[j] == ' ' || in[j] == '\t'))
				j++;
			if (j < len && in[j] == '\r' && j + 1 < len && in[j + 1] == '\n')
				j++;
			if (j == len || in[j] == '\n') {
				i = j < len ? j + 1 : j;
				continue;
			}
			str_append_c(out, '=');
			i++;
		} else if (!q && (c == ' ' || c == '\t')) {
			/* whitespace at the end of a line was added in transit */
			size_t j = i;
			while (j < len && (in[j] == ' ' || in[j] == '\t'))
				j++;
			if (j == len || in[j] == '\n' ||
			    (in[j] == '\r' && j + 1 < len && in[j + 1] == '\n')) {
				i = j;
				continue;
			}
			str_append_n(out, in + i, j - i);
			i = j;
		} else if (q && c == '_') {
			str_append_c(out, ' ');
			i++;
		} else {
			str_append_c(out, (char)c);
			i++;
		}
	}
}

void qp_decode(const char *in, size_t len, str_t *out)
{
	qp_decode_mode(in, len, out, false);
}

void qp_decode_q(const char *in, size_t len, str_t *out)
{
	qp_decode_mode(in, len, out, true);
}

enum message_cte message_cte_parse(const char *encoding)
{
	if (encoding == NULL)
		return MESSAGE_CTE_IDENTITY;
	const char *p = encoding;
	while (*p == ' ' || *p == '\t')
		p++;
	size_t n = strcspn(p, " \t;(");
	if (n == 0)
		return MESSAGE_CTE_IDENTITY;
	static const char *const identity[] = { "7bit", "8bit", "binary" };
	for (size_t i = 0; i < sizeof(identity) / sizeof(identity[0]); i++) {
		if (strlen(identity[i]) == n && strncasecmp(p, identity[i], n) == 0)
			return MESSAGE_CTE_IDENTITY;
	}
	if (n == 6 && strncasecmp(p, "base64", 6) == 0)
		return MESSAGE_CTE_BASE64;
	if (n == 16 && strncasecmp(p, "quoted-printable", 16) == 0)
		return MESSAGE_CTE_QP;
	return MESSAGE_CTE_UNKNOWN;
}

int message_decode_body(const char *encoding, const char *in, size_t len,
			str_t *out)
{
	switch (message_cte_parse(encoding)) {
	case MESSAGE_CTE_IDENTITY:
		str_append_n(out, in, len);
		return 0;
	case MESSAGE_CTE_BASE64:
		base64_decode(in, len, out);
		return 0;
	case MESSAGE_CTE_QP:
		qp_decode(in, len, out);
		return 0;
	case MESSAGE_CTE_UNKNOWN:
		break;
	}
	return -1;
}
