#include "lib-mail/charset.h"

#include <errno.h>
#include <iconv.h>
#include <string.h>
#include <strings.h>

/* A charset name comes from a hostile message; it goes to iconv_open,
 * which also understands suffixes such as "//IGNORE", so only plain
 * names of sane length are passed on. */
#define CHARSET_NAME_MAX 64

bool charset_is_utf8_compatible(const char *charset)
{
	return strcasecmp(charset, "utf-8") == 0 ||
		strcasecmp(charset, "utf8") == 0 ||
		strcasecmp(charset, "us-ascii") == 0 ||
		strcasecmp(charset, "ascii") == 0;
}

static bool charset_name_ok(const char *charset)
{
	size_t n = strlen(charset);
	if (n == 0 || n > CHARSET_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)charset[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		      c == '.' || c == ':'))
			return false;
	}
	return true;
}

static void append_replacement(str_t *out)
{
	str_append(out, "\xEF\xBF\xBD");
}

int charset_to_utf8(const char *charset, const char *in, size_t len,
		    str_t *out)
{
	if (charset_is_utf8_compatible(charset)) {
		str_append_n(out, in, len);
		return 0;
	}
	if (!charset_name_ok(charset))
		return -1;
	iconv_t cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1)
		return -1;

	char *inp = (char *)in;
	size_t inleft = len;
	char buf[4096];
	while (inleft > 0) {
		char *outp = buf;
		size_t outleft = sizeof(buf);
		size_t r = iconv(cd, &inp, &inleft, &outp, &outleft);
		str_append_n(out, buf, sizeof(buf) - outleft);
		if (r != (size_t)-1 || errno == E2BIG)
			continue;
		append_replacement(out);
		if (errno == EILSEQ) {
			inp++;
			inleft--;
		} else {
			/* EINVAL: a sequence cut off by the end of input */
			inleft = 0;
		}
	}
	/* stateful charsets (ISO-2022-JP) may owe a final shift sequence */
	for (;;) {
		char *outp = buf;
		size_t outleft = sizeof(buf);
		size_t r = iconv(cd, NULL, NULL, &outp, &outleft);
		str_append_n(out, buf, sizeof(buf) - outleft);
		if (r != (size_t)-1 || errno != E2BIG)
			break;
	}
	iconv_close(cd);
	return 0;
}
