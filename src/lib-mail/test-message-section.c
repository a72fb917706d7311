#include "lib-mail/message-imap.h"
#include "lib-mail/message-parser.h"
#include "lib/str.h"
#include "lib/test.h"
#include "lib-mail/test-messages.h"

#include <string.h>

TEST_DEFINE_COUNTERS;

static str_t out = STR_INIT;
static int ret;

/* Fetches section of msg into out; the return code goes to ret. */
static const char *fetch(const char *msg, const char *section, bool binary)
{
	struct message_part *p = message_parse(msg, strlen(msg));
	str_clear(&out);
	ret = message_imap_section(&out, msg, strlen(msg), p, section, binary);
	message_part_free(&p);
	return str_c(&out);
}

#define CHECK_SECTION(msg, section, want) do { \
	CHECK_STR(fetch(msg, section, false), want); CHECK_INT(ret, 0); \
} while (0)
#define CHECK_RESULT(msg, section, binary, want_ret) do { \
	fetch(msg, section, binary); CHECK_INT(ret, want_ret); \
	if ((want_ret) != 0) CHECK_INT(out.len, 0); \
} while (0)

static void test_simple_message(void)
{
	const char *msg = "Subject: s\r\nFrom: f@x\r\n\r\nbody\r\n";
	CHECK_SECTION(msg, "", msg);
	CHECK_SECTION(msg, "HEADER", "Subject: s\r\nFrom: f@x\r\n\r\n");
	CHECK_SECTION(msg, "header", "Subject: s\r\nFrom: f@x\r\n\r\n");
	CHECK_SECTION(msg, "TEXT", "body\r\n");
	/* part 1 of a non-multipart message is its body */
	CHECK_SECTION(msg, "1", "body\r\n");
	CHECK_SECTION(msg, "1.MIME", "Subject: s\r\nFrom: f@x\r\n\r\n");
	CHECK_RESULT(msg, "2", false, 1);
	CHECK_RESULT(msg, "1.1", false, 1);
	CHECK_RESULT(msg, "1.HEADER", false, 1);
	CHECK_RESULT(msg, "1.TEXT", false, 1);

	/* bare LF, and a field without a line end before the end */
	const char *lf = "Subject: s\nX-A: 1\n\nbody\n";
	CHECK_SECTION(lf, "HEADER.FIELDS (x-a)", "X-A: 1\n\r\n");
	CHECK_SECTION(lf, "TEXT", "body\n");
	CHECK_SECTION("Subject: end", "HEADER.FIELDS (SUBJECT)", "Subject: end\r\n\r\n");
	CHECK_SECTION("Subject: end", "TEXT", "");
}

static void test_header_fields(void)
{
	const char *msg = fwd_msg;
	CHECK_SECTION(msg, "HEADER.FIELDS (From Subject)",
		      "From: Outer <outer@example.com>\r\nSubject: fwd\r\n\r\n");
	CHECK_SECTION(msg, "header.fields (\"subject\")", "Subject: fwd\r\n\r\n");
	CHECK_SECTION(msg, "HEADER.FIELDS (X-None)", "\r\n");
	CHECK_SECTION(msg, "header.fields.not (from content-type)",
		      "Subject: fwd\r\n\r\n");
	/* folded fields come out whole, repeated fields all */
	const char *folded = "Received: a\r\n\tb\r\nTo: t\r\nReceived: c\r\n\r\n";
	CHECK_SECTION(folded, "HEADER.FIELDS (Received)",
		      "Received: a\r\n\tb\r\nReceived: c\r\n\r\n");
	CHECK_SECTION(folded, "HEADER.FIELDS.NOT (Received)", "To: t\r\n\r\n");
}

static void test_parts(void)
{
	const char *msg = fwd_msg;
	CHECK_SECTION(msg, "TEXT", strstr(fwd_msg, "--b\r\n"));
	CHECK_SECTION(msg, "1", "see attached");
	CHECK_SECTION(msg, "1.MIME", "Content-Type: text/plain\r\n\r\n");
	CHECK_SECTION(msg, "2", "From: inner@example.com\r\nSubject: inner\r\n\r\nhello");
	CHECK_SECTION(msg, "2.MIME",
		      "Content-Type: message/rfc822\r\nContent-Description: forwarded\r\n\r\n");
	/* part N.HEADER of a message/rfc822 part is the encapsulated header */
	CHECK_SECTION(msg, "2.HEADER", "From: inner@example.com\r\nSubject: inner\r\n\r\n");
	CHECK_SECTION(msg, "2.TEXT", "hello");
	CHECK_SECTION(msg, "2.1", "hello");
	CHECK_SECTION(msg, "2.HEADER.FIELDS (SUBJECT)", "Subject: inner\r\n\r\n");
	CHECK_SECTION(msg, "2.header.fields.not (subject)",
		      "From: inner@example.com\r\n\r\n");
	CHECK_RESULT(msg, "3", false, 1);
	CHECK_RESULT(msg, "2.2", false, 1);
	CHECK_RESULT(msg, "1.1", false, 1);
	CHECK_RESULT(msg, "1.HEADER", false, 1);
	CHECK_RESULT(msg, "4294967296", false, 1);
	CHECK_RESULT(msg, "99999999999999999999.1", false, 1);

	msg = mixed_msg;
	CHECK_SECTION(msg, "1", "--inner\r\n\r\nplain text\r\n--inner\r\n"
		      "Content-Type: text/html; charset=utf-8\r\n\r\n<p>html</p>\r\n--inner--");
	CHECK_SECTION(msg, "1.1", "plain text");
	CHECK_SECTION(msg, "1.2", "<p>html</p>");
	CHECK_SECTION(msg, "1.2.MIME", "Content-Type: text/html; charset=utf-8\r\n\r\n");
	CHECK_SECTION(msg, "1.1.MIME", "\r\n");
	CHECK_SECTION(msg, "2", "AAEC");
	CHECK_RESULT(msg, "1.3", false, 1);
	CHECK_RESULT(msg, "2.HEADER", false, 1);

	/* deeper: message/rfc822 holding a multipart */
	const char *deep =
		"Content-Type: multipart/mixed; boundary=a\r\n\r\n"
		"--a\r\nContent-Type: message/rfc822\r\n\r\n"
		"Subject: in\r\nContent-Type: multipart/alternative; boundary=c\r\n\r\n"
		"--c\r\n\r\none\r\n--c\r\n\r\ntwo\r\n--c--\r\n"
		"--a--\r\n";
	CHECK_SECTION(deep, "1.1", "one");
	CHECK_SECTION(deep, "1.2", "two");
	CHECK_SECTION(deep, "1.2.MIME", "\r\n");
	CHECK_SECTION(deep, "1.HEADER.FIELDS (subject)", "Subject: in\r\n\r\n");
	CHECK_RESULT(deep, "1.3", false, 1);
}

static void test_syntax(void)
{
	static const char *const bad[] = {
		"MIME", "0", "01", "1.", "1..2", ".1", "1.FOO", "HEADERS",
		"TEXTX", "HEADER.", "HEADER.FIELDS", "HEADER.FIELDS ()",
		"HEADER.FIELDS (From", "HEADER.FIELDS (From) x",
		"HEADER.FIELDS  (From)", "HEADER.FIELDS(From)",
		"HEADER.FIELDS (From )", "HEADER.FIELDS (\"From)",
		"HEADER.FIELDS.NOT", "1.MIME.TEXT", "1 ", " 1", "-1",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		fetch(fwd_msg, bad[i], false);
		if (ret != -1)
			fprintf(stderr, "section \"%s\" accepted\n", bad[i]);
		CHECK_INT(ret, -1);
	}
	/* BINARY takes part numbers only */
	CHECK_RESULT(fwd_msg, "HEADER", true, -1);
	CHECK_RESULT(fwd_msg, "1.MIME", true, -1);
}

static void test_binary(void)
{
	fetch(mixed_msg, "2", true);
	CHECK_INT(ret, 0);
	CHECK_INT(out.len, 3);
	CHECK(memcmp(out.data, "\x00\x01\x02", 3) == 0);

	const char *qp =
		"Content-Type: multipart/mixed; boundary=q\r\n\r\n"
		"--q\r\nContent-Transfer-Encoding: Quoted-Printable\r\n\r\n"
		"caf=C3=A9 soft=\r\nbreak =3D ok  \r\nline\r\n"
		"--q\r\nContent-Transfer-Encoding: x-uuencode\r\n\r\nbegin\r\n"
		"--q\r\nContent-Transfer-Encoding: 8bit\r\n\r\nraw\xff\r\n"
		"--q--\r\n";
	CHECK_STR(fetch(qp, "1", true), "caf\xC3\xA9 softbreak = ok\r\nline");
	CHECK_INT(ret, 0);
	CHECK_STR(fetch(qp, "1", false), "caf=C3=A9 soft=\r\nbreak =3D ok  \r\nline");
	CHECK_RESULT(qp, "2", true, -2);
	CHECK_SECTION(qp, "2", "begin");
	CHECK_STR(fetch(qp, "3", true), "raw\xff");
	CHECK_RESULT(qp, "4", true, 1);
	/* single-part message: part 1 is the decoded body */
	CHECK_STR(fetch("Content-Transfer-Encoding: base64\r\n\r\naGVs\r\nbG8=\r\n", "1", true),
		  "hello");
	CHECK_STR(fetch("Subject: x\r\n\r\nabc", "", true), "Subject: x\r\n\r\nabc");
}

int main(void)
{
	test_simple_message();
	test_header_fields();
	test_parts();
	test_syntax();
	test_binary();
	str_free(&out);
	return test_summary("message-section");
}
