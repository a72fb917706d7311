/* libFuzzer target for the LMTP server's parsing (src/lib-lmtp): the input
 * is a client's byte stream, cut into lines at LF as the server reads it;
 * commands go through the verb split, MAIL FROM/RCPT TO paths and
 * parameters, the address split of `local+detail@domain`, and BDAT sizes
 * (the chunk's bytes are then taken raw, as the server does); after DATA,
 * lines are dot-unstuffed until the lone dot. Invariants are checked with
 * abort(): a path has no space or control byte, an address split joins
 * back to the address, CRLF normalisation leaves no bare LF, only adds CRs
 * and is idempotent. */
#include "lib-lmtp/lmtp-parse.h"
#include "lib/str.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_LINE 2048
#define MAX_LOCAL 618
#define MAX_MESSAGE 65536

static void check_normalise(const char *data, size_t len)
{
	str_t once = STR_INIT, twice = STR_INIT;
	lmtp_crlf_normalise(data, len, &once);
	/* no bare LF */
	for (size_t i = 0; i < once.len; i++) {
		if (once.data[i] == '\n' && (i == 0 || once.data[i - 1] != '\r'))
			abort();
	}
	/* only CRs were added, each before an LF */
	size_t j = 0;
	for (size_t i = 0; i < once.len; i++) {
		if (j < len && once.data[i] == data[j]) {
			j++;
		} else if (once.data[i] != '\r' || i + 1 >= once.len || once.data[i + 1] != '\n') {
			abort();
		}
	}
	if (j != len)
		abort();
	lmtp_crlf_normalise(once.data, once.len, &twice);
	if (twice.len != once.len || (once.len > 0 && memcmp(twice.data, once.data, once.len) != 0))
		abort();
	str_free(&once);
	str_free(&twice);
}

static void check_path(const char *arg)
{
	const char *params = NULL;
	char *addr = lmtp_parse_path(arg, &params);
	if (addr == NULL)
		return;
	if (params < arg || params > arg + strlen(arg))
		abort();
	for (const char *p = addr; *p != '\0'; p++) {
		if ((unsigned char)*p < 0x20 || *p == ' ' || *p == '>')
			abort();
	}
	struct lmtp_mail_params mp;
	lmtp_parse_mail_params(params, &mp);
	if (mp.size < -1 || strlen(mp.body) >= sizeof(mp.body))
		abort();

	char *local, *detail;
	if (lmtp_address_split(addr, MAX_LOCAL, &local, &detail) == 0) {
		/* the local part may be empty when a detail follows ("+x@d") */
		size_t llen = strlen(local) + (detail != NULL ? 1 + strlen(detail) : 0);
		if (llen == 0 || llen > MAX_LOCAL || strchr(local, '+') != NULL)
			abort();
		/* local [+ detail] is the address up to its last '@' */
		str_t joined = STR_INIT;
		str_append(&joined, local);
		if (detail != NULL) {
			str_append_c(&joined, '+');
			str_append(&joined, detail);
		}
		const char *at = strrchr(addr, '@');
		size_t want = at != NULL ? (size_t)(at - addr) : strlen(addr);
		if (joined.len != want || memcmp(joined.data, addr, want) != 0)
			abort();
		str_free(&joined);
		free(local);
		free(detail);
	}
	free(addr);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	size_t pos = 0, bdat_remaining = 0;
	bool in_data = false;
	str_t msg = STR_INIT;
	while (pos < size) {
		if (bdat_remaining > 0) {
			size_t take = size - pos < bdat_remaining ? size - pos : bdat_remaining;
			if (msg.len + take <= MAX_MESSAGE)
				str_append_n(&msg, in + pos, take);
			pos += take;
			bdat_remaining -= take;
			if (bdat_remaining == 0)
				check_normalise(msg.data, msg.len);
			continue;
		}
		const char *lf = memchr(in + pos, '\n', size - pos);
		if (lf == NULL)
			break;
		size_t len = (size_t)(lf - (in + pos));
		/* the server's line: a copy, NUL-terminated, CR stripped */
		char *line = malloc(len + 3);
		memcpy(line, in + pos, len);
		pos += len + 1;
		if (len > 0 && line[len - 1] == '\r')
			len--;
		line[len] = '\0';
		if (in_data) {
			memcpy(line + len, "\r\n", 3);
			const char *l = line;
			size_t n = len + 2;
			if (lmtp_data_line(&l, &n)) {
				in_data = false;
				check_normalise(msg.data, msg.len);
				str_clear(&msg);
			} else {
				if (l < line || l + n != line + len + 2)
					abort();
				if (msg.len + n <= MAX_MESSAGE)
					str_append_n(&msg, l, n);
			}
			free(line);
			continue;
		}
		if (len > MAX_LINE) {
			free(line);
			continue;
		}
		char *arg = lmtp_command_split(line);
		if (strchr(line, ' ') != NULL || arg < line || arg > line + len + 1)
			abort();
		if (strcasecmp(line, "MAIL") == 0 && strncasecmp(arg, "FROM:", 5) == 0) {
			check_path(arg + 5);
		} else if (strcasecmp(line, "RCPT") == 0 && strncasecmp(arg, "TO:", 3) == 0) {
			check_path(arg + 3);
		} else if (strcasecmp(line, "BDAT") == 0) {
			size_t n;
			bool last;
			if (lmtp_parse_bdat(arg, &n, &last) == 0) {
				if (n > SIZE_MAX / 2)
					abort();
				bdat_remaining = n;
				if (n == 0 && last) {
					check_normalise(msg.data, msg.len);
					str_clear(&msg);
				}
			}
		} else if (strcasecmp(line, "DATA") == 0) {
			in_data = true;
			str_clear(&msg);
		} else {
			/* any other line may be a path too, for the path parser's sake */
			check_path(line);
		}
		free(line);
	}
	str_free(&msg);
	return 0;
}
