#include "lib-lmtp/lmtp-parse.h"
#include "lib/xalloc.h"

#include <ctype.h>
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

char *lmtp_command_split(char *line)
{
	char *arg = strchr(line, ' ');
	if (arg != NULL)
		*arg++ = '\0';
	else
		arg = line + strlen(line);
	return arg;
}

char *lmtp_parse_path(const char *arg, const char **params_r)
{
	while (*arg == ' ')
		arg++;
	if (*arg != '<')
		return NULL;
	const char *end = strchr(arg, '>');
	if (end == NULL)
		return NULL;
	char *addr = xstrndup(arg + 1, (size_t)(end - arg - 1));
	/* A source route "@a,@b:user@dom" is ignored as RFC 5321 allows. */
	char *colon = addr[0] == '@' ? strchr(addr, ':') : NULL;
	if (colon != NULL)
		memmove(addr, colon + 1, strlen(colon));
	for (char *p = addr; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == ' ') {
			free(addr);
			return NULL;
		}
	}
	*params_r = end + 1;
	return addr;
}

void lmtp_parse_mail_params(const char *params, struct lmtp_mail_params *out)
{
	out->size = -1;
	out->body[0] = '\0';
	out->smtputf8 = false;
	const char *p = params;
	while (*p != '\0') {
		while (*p == ' ')
			p++;
		const char *start = p;
		while (*p != '\0' && *p != ' ')
			p++;
		size_t n = (size_t)(p - start);
		if (n > 5 && strncasecmp(start, "SIZE=", 5) == 0) {
			/* digits only; an overflowing value is as big as it gets */
			long long v = 0;
			size_t i = 5;
			while (i < n && isdigit((unsigned char)start[i])) {
				int d = start[i] - '0';
				v = v > (INT64_MAX - d) / 10 ? INT64_MAX : v * 10 + d;
				i++;
			}
			if (i == n)
				out->size = v;
		} else if (n > 5 && strncasecmp(start, "BODY=", 5) == 0 && n - 5 < sizeof(out->body)) {
			memcpy(out->body, start + 5, n - 5);
			out->body[n - 5] = '\0';
		} else if (n == 8 && strncasecmp(start, "SMTPUTF8", 8) == 0) {
			out->smtputf8 = true;
		}
	}
}

int lmtp_parse_bdat(const char *arg, size_t *size_r, bool *last_r)
{
	char *end;
	/* the chunk's length must come first: without it the stream cannot
	 * be followed */
	if (!isdigit((unsigned char)*arg))
		return -1;
	errno = 0;
	unsigned long long n = strtoull(arg, &end, 10);
	while (*end == ' ')
		end++;
	bool last = strcasecmp(end, "LAST") == 0;
	if (errno != 0 || n > SIZE_MAX / 2 || (!last && *end != '\0'))
		return -1;
	*size_r = (size_t)n;
	*last_r = last;
	return 0;
}

bool lmtp_data_line(const char **line, size_t *len)
{
	if (*len == 3 && memcmp(*line, ".\r\n", 3) == 0)
		return true;
	if (*len >= 1 && (*line)[0] == '.') {
		(*line)++;
		(*len)--;
	}
	return false;
}

void lmtp_crlf_normalise(const char *data, size_t len, str_t *out)
{
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\n' && (i == 0 || data[i - 1] != '\r'))
			str_append_c(out, '\r');
		str_append_c(out, data[i]);
	}
}

int lmtp_address_split(const char *address, size_t max_local, char **local_r, char **detail_r)
{
	const char *at = strrchr(address, '@');
	size_t llen = at != NULL ? (size_t)(at - address) : strlen(address);
	if (llen == 0 || llen > max_local)
		return -1;
	char *local = xstrndup(address, llen);
	char *plus = strchr(local, '+');
	*detail_r = NULL;
	if (plus != NULL) {
		*plus = '\0';
		*detail_r = xstrdup(plus + 1);
	}
	*local_r = local;
	return 0;
}
