#include "lib-mail/charset.h"
#include "lib-mail/message-parser.h"
#include "lib-mail/message-search.h"
#include "lib-mail/rfc2047.h"
#include "lib-mail/utf8-fold.h"
#include "lib/str.h"
#include "lib/test.h"
#include "lib-mail/test-messages.h"

#include <string.h>

TEST_DEFINE_COUNTERS;

static str_t out = STR_INIT;
static int ret;

static const char *decode2047(const char *in)
{
	str_clear(&out);
	ret = rfc2047_decode(in, strlen(in), &out);
	return str_c(&out);
}

static const char *to_utf8(const char *charset, const char *in, size_t len)
{
	str_clear(&out);
	ret = charset_to_utf8(charset, in, len, &out);
	return str_c(&out);
}

static const char *fold(const char *in)
{
	str_clear(&out);
	utf8_fold_case(&out, in, strlen(in));
	return str_c(&out);
}

static void test_rfc2047(void)
{
	CHECK_STR(decode2047("=?ISO-8859-1?Q?Gr=FC=DFe?= aus =?utf-8?B?S8O2bG4=?="),
		  "Gr\xC3\xBC\xC3\x9F" "e aus K\xC3\xB6ln");
	CHECK_INT(ret, 0);
	/* whitespace between encoded words disappears */
	CHECK_STR(decode2047("=?utf-8?q?a?=  \t =?utf-8?q?b_c?= d"), "ab c d");
	/* a character split over two words */
	CHECK_STR(decode2047("=?utf-8?q?=C3?= =?UTF-8?q?=B6?="), "\xC3\xB6");
	CHECK_STR(decode2047("=?iso-8859-1*de?q?=E4?="), "\xC3\xA4");
	CHECK_STR(decode2047("plain =?utf-8?q?abc"), "plain =?utf-8?q?abc");
	CHECK_STR(decode2047("=?utf-8?x?abc?="), "=?utf-8?x?abc?=");
	CHECK_STR(decode2047("=??q?abc?="), "=??q?abc?=");
	CHECK_STR(decode2047("a = b =? c ?="), "a = b =? c ?=");
	CHECK_STR(decode2047("=?x-unknown-cs?q?abc?= x"), "abc x");
	CHECK_INT(ret, -1);
}

static void test_charset(void)
{
	CHECK_STR(to_utf8("ISO-8859-1", "caf\xE9", 4), "caf\xC3\xA9");
	CHECK_INT(ret, 0);
	CHECK_STR(to_utf8("windows-1252", "\x80", 1), "\xE2\x82\xAC");
	CHECK_STR(to_utf8("utf-8", "\xC3\xA9", 2), "\xC3\xA9");
	to_utf8("x-no-such-charset", "abc", 3);
	CHECK_INT(ret, -1);
	CHECK_INT(out.len, 0);
	to_utf8("UTF-8//IGNORE", "abc", 3);
	CHECK_INT(ret, -1);
	/* invalid and truncated input become U+FFFD */
	CHECK_STR(to_utf8("UTF-16LE", "a\0b", 3), "a\xEF\xBF\xBD");
	CHECK_STR(to_utf8("Shift_JIS", "\x82\xA0\x82", 3), "\xE3\x81\x82\xEF\xBF\xBD");
	CHECK_STR(to_utf8("ISO-2022-JP", "\x1b$B$\"\x1b(B", 8), "\xE3\x81\x82");
}

static void test_fold(void)
{
	CHECK_STR(fold("GR\xC3\x9C\xC3\x9F" "E"), "gr\xC3\xBC\xC3\x9F" "e");
	CHECK_STR(fold("\xC3\x80\xC3\x97\xC3\x9E"), "\xC3\xA0\xC3\x97\xC3\xBE");
	CHECK_STR(fold("\xC5\x81\xC3\x93" "D\xC5\xB9"), "\xC5\x82\xC3\xB3" "d\xC5\xBA"); /* ŁÓDŹ */
	CHECK_STR(fold("\xCE\xA3\xCE\x9F\xCE\xA6\xCE\x99\xCE\x91"), "\xCF\x83\xCE\xBF\xCF\x86\xCE\xB9\xCE\xB1");
	CHECK_STR(fold("\xCF\x82"), "\xCF\x83");	/* final sigma */
	CHECK_STR(fold("\xD0\x9F\xD0\xA0\xD0\x98\xD0\x81"), "\xD0\xBF\xD1\x80\xD0\xB8\xD1\x91");
	CHECK_STR(fold("\xE1\xBA\x9E"), "\xC3\x9F");	/* capital sharp s */
	CHECK_STR(fold("A\xFF\xC3" "B\xE2\x82"), "a\xFF\xC3" "b\xE2\x82");
	CHECK_STR(fold("\xF0\x9F\x98\x80X"), "\xF0\x9F\x98\x80x");
}

static bool search(int what, const char *msg, const char *field,
		   const char *needle)
{
	struct message_part *p = message_parse(msg, strlen(msg));
	bool r = what == 0 ? message_search_header(msg, strlen(msg), p, field, needle) :
		what == 1 ? message_search_body(msg, strlen(msg), p, needle) :
		message_search_text(msg, strlen(msg), p, needle);
	message_part_free(&p);
	return r;
}
/* The stored fields answer as the header does, for the fields they keep. */
static bool fields_agree(const char *msg, const char *field, const char *needle)
{
	char code = message_search_field_code(field);
	if (code == 0)
		return true;
	struct message_part *p = message_parse(msg, strlen(msg));
	str_t fields = STR_INIT, n = STR_INIT;
	message_search_fields(&fields, msg, p);
	utf8_fold_case(&n, needle, strlen(needle));
	bool r = message_search_fields_match(fields.data, fields.len, code, n.data, n.len) ==
		message_search_header(msg, strlen(msg), p, field, needle);
	str_free(&fields);
	str_free(&n);
	message_part_free(&p);
	return r;
}
static bool hdr(const char *msg, const char *field, const char *needle)
{
	CHECK(fields_agree(msg, field, needle));
	return search(0, msg, field, needle);
}
#define HDR(msg, f, n) hdr(msg, f, n)
#define BODY(msg, n) search(1, msg, NULL, n)
#define TEXT(msg, n) search(2, msg, NULL, n)

static void test_search(void)
{
	const char *msg =
		"Subject: =?ISO-8859-1?Q?GR=DC=DFE?= from\r\n"
		" =?utf-8?b?S8O2bG4=?=\r\n"
		"Received: one\r\nReceived: two\r\n"
		"X-Empty:\r\n"
		"Content-Type: multipart/mixed; boundary=\"x\"\r\n"
		"\r\n"
		"--x\r\n"
		"Content-Type: text/plain; charset=iso-8859-1\r\n"
		"Content-Transfer-Encoding: quoted-printable\r\n\r\n"
		"Sch=F6ne GR=DC=DFE, lie=\r\nber Freund\r\n"
		"--x\r\n"
		"Content-Type: text/plain; charset=ISO-8859-7\r\n"
		"Content-Transfer-Encoding: base64\r\n\r\n"
		"9OXz9A==\r\n"	/* "τεστ" in ISO-8859-7 */
		"--x\r\n"
		"Content-Type: application/octet-stream\r\n\r\n"
		"hidden words\r\n"
		"--x\r\n"
		"Content-Type: text/plain; charset=x-unknown\r\n\r\n"
		"raw \xE9t\xE9\r\n"
		"--x\r\n"
		"Content-Type: message/rfc822\r\n\r\n"
		"Subject: inner subject\r\n\r\n"
		"inner body\r\n"
		"--x--\r\n";

	CHECK(HDR(msg, "subject", "gr\xC3\xBC\xC3\x9F" "e"));
	CHECK(HDR(msg, "Subject", "FROM K\xC3\x96LN"));
	CHECK(HDR(msg, "Subject", "grüße from köln"));
	CHECK(!HDR(msg, "Subject", "gruesse"));
	CHECK(HDR(msg, "received", "two"));
	CHECK(HDR(msg, "X-Empty", ""));
	CHECK(!HDR(msg, "X-Missing", ""));
	CHECK(!HDR(msg, "From", "x"));

	CHECK(BODY(msg, "sch\xC3\xB6ne gr\xC3\xBC\xC3\x9F" "e"));
	CHECK(BODY(msg, "lieber freund"));
	CHECK(!BODY(msg, "lie=")); /* decoded, not raw */
	CHECK(BODY(msg, "\xCE\xA4\xCE\x95\xCE\xA3\xCE\xA4")); /* ΤΕΣΤ */
	CHECK(!BODY(msg, "hidden"));
	CHECK(BODY(msg, "RAW \xE9T"));	/* unknown charset: raw bytes */
	CHECK(BODY(msg, "INNER BODY"));
	CHECK(BODY(msg, "inner subject"));
	CHECK(!BODY(msg, "received"));
	CHECK(BODY(msg, ""));

	CHECK(TEXT(msg, "received: one"));
	CHECK(TEXT(msg, "k\xC3\xB6ln"));
	CHECK(TEXT(msg, "freund"));
	CHECK(!TEXT(msg, "nowhere"));

	/* single-part base64 latin-1 message, bare LF */
	const char *b64 = "Content-Type: TEXT/plain; charset=\"latin1\"\n"
		"Content-Transfer-Encoding: BASE64\n\n"
		"R1L832UgYXVzIEv2bG4K\n";	/* "GRüße aus Köln\n" in latin-1 */
	CHECK(BODY(b64, "gr\xC3\xBC\xC3\x9F" "e aus k\xC3\xB6ln"));
	CHECK(!BODY(b64, "R1L8"));
}

static void test_search_fields(void)
{
	const char *msg =
		"From: =?utf-8?q?J=C3=BCrgen?= <j@example.test>\r\n"
		"To: a@example.test,\r\n b@example.test\r\n"
		"cc: \r\n"
		"Subject: first\r\n"
		"SUBJECT: =?utf-8?q?Zw=00eite?=\r\n"
		"X-From: nobody\r\n"
		"\r\nFrom: body line\r\n";
	CHECK(HDR(msg, "from", "J\xC3\x9CRGEN"));
	CHECK(HDR(msg, "FROM", "<j@"));
	CHECK(!HDR(msg, "From", "nobody"));
	CHECK(!HDR(msg, "From", "body line"));
	CHECK(HDR(msg, "to", "a@example.test, b@"));
	CHECK(HDR(msg, "Cc", ""));
	CHECK(!HDR(msg, "Cc", "x"));
	CHECK(!HDR(msg, "Bcc", ""));
	CHECK(HDR(msg, "Subject", "FIRST"));
	CHECK(HDR(msg, "Subject", "eite"));	/* the second field, past a decoded NUL */
	CHECK(!HDR(msg, "Subject", "first zw"));
	CHECK_INT(message_search_field_code("X-From"), 0);
	CHECK_INT(message_search_field_code("bcc"), 'b');

	/* damaged entries (a length past the end) match nothing */
	CHECK(!message_search_fields_match("s\x09\0\0\0abc", 8, 's', "abc", 3));
	CHECK(!message_search_fields_match("s\x03\0\0", 4, 's', "", 0));
	CHECK(message_search_fields_match("s\x03\0\0\0abc", 8, 's', "", 0));
}

static int date(const char *value, time_t *t, int *tz)
{
	str_t m = STR_INIT;
	str_printf(&m, "Date: %s\r\n\r\n", value);
	struct message_part *p = message_parse(m.data, m.len);
	int r = message_date_r(m.data, p, t, tz);
	message_part_free(&p);
	str_free(&m);
	return r;
}

#define CHECK_DATE(value, want_t, want_tz) do { \
	time_t t_ = 0; int tz_ = 0; \
	CHECK_INT(date(value, &t_, &tz_), 0); \
	CHECK_INT(t_, want_t); CHECK_INT(tz_, want_tz); \
} while (0)

static void test_date(void)
{
	/* 2003-07-01 10:52:37 UTC = 1057056757 */
	CHECK_DATE("Tue, 1 Jul 2003 10:52:37 +0200", 1057056757 - 7200, 120);
	CHECK_DATE("1 Jul 2003 10:52:37 +0000", 1057056757, 0);
	CHECK_DATE("Tue,  01 jul 2003 10:52:37 -0330", 1057056757 + 12600, -210);
	CHECK_DATE("Tue, 1 Jul 03 10:52 GMT", 1057056720, 0);
	CHECK_DATE("Tue 1 Jul 103 10:52:37 EDT", 1057056757 + 4 * 3600, -240);
	CHECK_DATE("1 Jul 2003 10:52:37 PST (Pacific)", 1057056757 + 8 * 3600, -480);
	CHECK_DATE("(c) Tue, 1 (c) Jul 2003 10 : 52 : 37 UT", 1057056757, 0);
	CHECK_DATE("1 Jul 2003 10:52:37 A", 1057056757, 0);
	CHECK_DATE("1 Jul 2003 10:52:37", 1057056757, 0);
	CHECK_DATE("1 Jan 1970 00:00:00 +0000", 0, 0);
	CHECK_DATE("29 Feb 2000 00:00:00 +0000", 951782400, 0);
	CHECK_DATE("31 Dec 1999 23:59:60 +0000", 946684800, 0);
	CHECK_DATE("1 Jan 99 00:00:00 +0000", 915148800, 0);
	CHECK_DATE("1 Jan 1969 00:00:00 +0000", -31536000, 0);

	time_t t;
	int tz;
	CHECK_INT(date("", &t, &tz), -1);
	CHECK_INT(date("yesterday", &t, &tz), -1);
	CHECK_INT(date("29 Feb 2001 00:00:00 +0000", &t, &tz), -1);
	CHECK_INT(date("1 Foo 2001 00:00:00 +0000", &t, &tz), -1);
	CHECK_INT(date("1 Jan 2001 24:00:00 +0000", &t, &tz), -1);
	CHECK_INT(date("1 Jan 2001 10:00:00 +01", &t, &tz), -1);
	CHECK_INT(date("1 Jan 2001 10:00:00 +0160", &t, &tz), -1);
	CHECK_INT(date("Tue, 1 Jan", &t, &tz), -1);
	CHECK_INT(date("Tue, 1 Jan 2001 99999999999:00", &t, &tz), -1);

	struct message_part *p = message_parse("Subject: x\r\n\r\n", 14);
	CHECK_INT(message_date_r("Subject: x\r\n\r\n", p, &t, &tz), -1);
	message_part_free(&p);
}

int main(void)
{
	test_rfc2047();
	test_charset();
	test_fold();
	test_search();
	test_search_fields();
	test_date();
	str_free(&out);
	return test_summary("message-search");
}
