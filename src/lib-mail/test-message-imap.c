#include "lib-mail/message-imap.h"
#include "lib-mail/message-parser.h"
#include "lib/str.h"
#include "lib/test.h"
#include "lib-mail/test-messages.h"

#include <string.h>

TEST_DEFINE_COUNTERS;

static const char *bodystructure(const char *msg, bool extended)
{
	static str_t out = STR_INIT;
	struct message_part *p = message_parse(msg, strlen(msg));
	str_clear(&out);
	message_imap_bodystructure(&out, msg, p, extended);
	message_part_free(&p);
	return str_c(&out);
}

static const char *envelope(const char *msg)
{
	static str_t out = STR_INIT;
	struct message_part *p = message_parse(msg, strlen(msg));
	str_clear(&out);
	message_imap_envelope(&out, msg, p);
	message_part_free(&p);
	return str_c(&out);
}

static void test_nstring(void)
{
	str_t s = STR_INIT;
	message_imap_append_nstring(&s, NULL, 0);
	str_append_c(&s, ' ');
	message_imap_append_nstring(&s, "a \"b\" \\c", 8);
	str_append_c(&s, ' ');
	message_imap_append_nstring(&s, "", 0);
	str_append_c(&s, ' ');
	message_imap_append_nstring(&s, "x\r\ny", 4);
	str_append_c(&s, ' ');
	message_imap_append_nstring(&s, "\xC3\xA9", 2);
	CHECK_STR(str_c(&s), "NIL \"a \\\"b\\\" \\\\c\" \"\" {4}\r\nx\r\ny {2}\r\n\xC3\xA9");

	str_clear(&s);
	message_imap_append_nstring(&s, "a\0b", 3);
	CHECK_INT(s.len, 8);
	CHECK(memcmp(s.data, "{3}\r\na\0b", 8) == 0);

	char long_s[MESSAGE_IMAP_QUOTED_MAX + 1];
	memset(long_s, 'a', sizeof(long_s));
	str_clear(&s);
	message_imap_append_nstring(&s, long_s, sizeof(long_s));
	CHECK(strncmp(str_c(&s), "{1025}\r\naaa", 11) == 0);
	str_free(&s);
}

static void test_bodystructure_simple(void)
{
	/* RFC 3501 7.4.2's example, with the message spelling the values
	 * in upper case as the example shows them */
	const char *rfc = "Content-Type: TEXT/PLAIN; CHARSET=US-ASCII\r\n"
		"Content-Transfer-Encoding: 7BIT\r\n"
		"\r\n"
		"a\r\nbb\r\nccc\r\n";
	CHECK_STR(bodystructure(rfc, false),
		  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 12 3)");
	CHECK_STR(bodystructure(rfc, true),
		  "(\"TEXT\" \"PLAIN\" (\"CHARSET\" \"US-ASCII\") NIL NIL \"7BIT\" 12 3 NIL NIL NIL NIL)");

	/* no Content-* at all: the defaults */
	CHECK_STR(bodystructure("Subject: x\r\n\r\nhello\r\n", true),
		  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 7 1 NIL NIL NIL NIL)");
	/* bare LF and an unterminated last line */
	CHECK_STR(bodystructure("Subject: x\n\nhello\nworld", false),
		  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 11 2)");
	/* no body */
	CHECK_STR(bodystructure("Subject: x\r\n", false),
		  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0)");

	/* every extension field */
	const char *ext = "Content-Type: image/gif; name=\"a b.gif\"\r\n"
		"Content-ID: <id@x>\r\n"
		"Content-Description: a picture\r\n"
		"Content-Transfer-Encoding: BASE64\r\n"
		"Content-MD5: Q2hlY2sgSW50ZWdyaXR5IQ==\r\n"
		"Content-Disposition: inline\r\n"
		"Content-Language: en, de\r\n"
		"Content-Location: http://x/a.gif\r\n"
		"\r\n"
		"R0lG\r\n";
	CHECK_STR(bodystructure(ext, true),
		  "(\"image\" \"gif\" (\"name\" \"a b.gif\") \"<id@x>\" \"a picture\" \"BASE64\" 6 "
		  "\"Q2hlY2sgSW50ZWdyaXR5IQ==\" (\"inline\" NIL) (\"en\" \"de\") \"http://x/a.gif\")");
	CHECK_STR(bodystructure(ext, false),
		  "(\"image\" \"gif\" (\"name\" \"a b.gif\") \"<id@x>\" \"a picture\" \"BASE64\" 6)");

	/* RFC 2231 parameter with 8-bit result goes out as a literal */
	const char *p2231 = "Content-Type: application/pdf;\r\n"
		" name*0*=utf-8''%C3%A4;\r\n name*1=\".pdf\"\r\n\r\nx";
	CHECK_STR(bodystructure(p2231, false),
		  "(\"application\" \"pdf\" (\"name\" {6}\r\n\xC3\xA4.pdf) NIL NIL \"7bit\" 1)");
}

static void test_bodystructure_multipart(void)
{
	CHECK_STR(bodystructure(mixed_msg, true),
		  "((("
		  "\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1 NIL NIL NIL NIL)("
		  "\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 11 1 NIL NIL NIL NIL)"
		  " \"alternative\" (\"boundary\" \"inner\") NIL NIL NIL)("
		  "\"application\" \"octet-stream\" (\"name\" \"a.bin\") NIL NIL \"base64\" 4"
		  " NIL (\"attachment\" (\"filename\" \"a.bin\")) NIL NIL)"
		  " \"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)");
	CHECK_STR(bodystructure(mixed_msg, false),
		  "(((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 10 1)"
		  "(\"text\" \"html\" (\"charset\" \"utf-8\") NIL NIL \"7bit\" 11 1) \"alternative\")"
		  "(\"application\" \"octet-stream\" (\"name\" \"a.bin\") NIL NIL \"base64\" 4) \"mixed\")");

	/* message/rfc822: envelope, body and lines of the encapsulated
	 * message (48 octets: 25 + 16 + 2 + "hello") */
	const char *inner_env = "(NIL \"inner\" ((NIL NIL \"inner\" \"example.com\"))"
		" ((NIL NIL \"inner\" \"example.com\")) ((NIL NIL \"inner\" \"example.com\"))"
		" NIL NIL NIL NIL NIL)";
	str_t want = STR_INIT;
	str_printf(&want, "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 12 1)"
		   "(\"message\" \"rfc822\" NIL NIL \"forwarded\" \"7bit\" 48 %s"
		   " (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1) 4)"
		   " \"mixed\")", inner_env);
	CHECK_STR(bodystructure(fwd_msg, false), str_c(&want));
	str_clear(&want);
	str_printf(&want, "((\"text\" \"plain\" NIL NIL NIL \"7bit\" 12 1 NIL NIL NIL NIL)"
		   "(\"message\" \"rfc822\" NIL NIL \"forwarded\" \"7bit\" 48 %s"
		   " (\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 1 NIL NIL NIL NIL)"
		   " 4 NIL NIL NIL NIL) \"mixed\" (\"boundary\" \"b\") NIL NIL NIL)", inner_env);
	CHECK_STR(bodystructure(fwd_msg, true), str_c(&want));
	str_free(&want);

	/* a multipart without any part still gives a valid structure */
	CHECK_STR(bodystructure("Content-Type: multipart/mixed; boundary=z\r\n\r\nno parts\r\n", false),
		  "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")");

	/* bare LF multipart, digest default, missing close delimiter */
	const char *digest = "Content-Type: multipart/digest; boundary=d\n\n"
		"--d\n\nSubject: s\n\nbody\n--d\nContent-Type: text/plain\n\nx";
	CHECK_STR(bodystructure(digest, false),
		  "((\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 16 "
		  "(NIL \"s\" NIL NIL NIL NIL NIL NIL NIL NIL) "
		  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 4 1) 3)"
		  "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 1 1) \"digest\")");
}

static void test_envelope(void)
{
	/* RFC 3501 6.4.5's example message */
	const char *msg =
		"Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\r\n"
		"From: Terry Gray <gray@cac.washington.edu>\r\n"
		"Subject: IMAP4rev1 WG mtg summary and minutes\r\n"
		"To: imap@cac.washington.edu\r\n"
		"cc: minutes@CNRI.Reston.VA.US,\r\n"
		"        John Klensin <KLENSIN@MIT.EDU>\r\n"
		"Message-Id: <B27397-0100000@cac.washington.edu>\r\n"
		"\r\n";
	CHECK_STR(envelope(msg),
		  "(\"Wed, 17 Jul 1996 02:23:25 -0700 (PDT)\" \"IMAP4rev1 WG mtg summary and minutes\""
		  " ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\"))"
		  " ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\"))"
		  " ((\"Terry Gray\" NIL \"gray\" \"cac.washington.edu\"))"
		  " ((NIL NIL \"imap\" \"cac.washington.edu\"))"
		  " ((NIL NIL \"minutes\" \"CNRI.Reston.VA.US\")(\"John Klensin\" NIL \"KLENSIN\" \"MIT.EDU\"))"
		  " NIL NIL \"<B27397-0100000@cac.washington.edu>\")");

	/* nothing but a subject */
	CHECK_STR(envelope("Subject: only\r\n\r\nbody"),
		  "(NIL \"only\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	CHECK_STR(envelope(""), "(NIL NIL NIL NIL NIL NIL NIL NIL NIL NIL)");

	/* groups (RFC 5322 A.1.3), explicit sender and reply-to */
	const char *groups =
		"From: Pete <pete@silly.example>\n"
		"Sender: s@x.example\n"
		"Reply-To: \"Doe, \\\"J\\\"\" <j@d.example>\n"
		"To: A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;\n"
		"Cc: Undisclosed recipients:;\n"
		"Bcc: <@a.test,@b.test:x@c.test>, j@x.example (Joe), undisclosed\n"
		"In-Reply-To: <1@x>\n"
		"\n";
	CHECK_STR(envelope(groups),
		  "(NIL NIL ((\"Pete\" NIL \"pete\" \"silly.example\"))"
		  " ((NIL NIL \"s\" \"x.example\"))"
		  " ((\"Doe, \\\"J\\\"\" NIL \"j\" \"d.example\"))"
		  " ((NIL NIL \"A Group\" NIL)(\"Ed Jones\" NIL \"c\" \"a.test\")"
		  "(NIL NIL \"joe\" \"where.test\")(\"John\" NIL \"jdoe\" \"one.test\")(NIL NIL NIL NIL))"
		  " ((NIL NIL \"Undisclosed recipients\" NIL)(NIL NIL NIL NIL))"
		  " ((NIL \"@a.test,@b.test\" \"x\" \"c.test\")(NIL NIL \"j\" \"x.example\")"
		  "(NIL NIL \"undisclosed\" \"\"))"
		  " \"<1@x>\" NIL)");

	/* raw 8-bit and RFC 2047 names: literal and undecoded */
	CHECK_STR(envelope("From: J\xC3\xB6rg <j@x>, =?utf-8?q?J=C3=B6rg?= <k@x>\r\n\r\n"),
		  "(NIL NIL (({5}\r\nJ\xC3\xB6rg NIL \"j\" \"x\")(\"=?utf-8?q?J=C3=B6rg?=\" NIL \"k\" \"x\"))"
		  " (({5}\r\nJ\xC3\xB6rg NIL \"j\" \"x\")(\"=?utf-8?q?J=C3=B6rg?=\" NIL \"k\" \"x\"))"
		  " (({5}\r\nJ\xC3\xB6rg NIL \"j\" \"x\")(\"=?utf-8?q?J=C3=B6rg?=\" NIL \"k\" \"x\"))"
		  " NIL NIL NIL NIL NIL)");

	/* dotted phrase, quoted local part, empty field */
	CHECK_STR(envelope("From: John Q. Public <\"j q\"@x.test>\r\nTo:\r\n\r\n"),
		  "(NIL NIL ((\"John Q. Public\" NIL \"\\\"j q\\\"\" \"x.test\"))"
		  " ((\"John Q. Public\" NIL \"\\\"j q\\\"\" \"x.test\"))"
		  " ((\"John Q. Public\" NIL \"\\\"j q\\\"\" \"x.test\"))"
		  " NIL NIL NIL NIL NIL)");
}

int main(void)
{
	test_nstring();
	test_bodystructure_simple();
	test_bodystructure_multipart();
	test_envelope();
	return test_summary("message-imap");
}
