#include "lib-mail/message-header.h"
#include "lib-mail/message-params.h"
#include "lib-mail/message-parser.h"
#include "lib/bounds.h"
#include "lib/str.h"
#include "lib/test.h"
#include "lib/xalloc.h"
#include "lib-mail/test-messages.h"

#include <stdlib.h>
#include <string.h>

TEST_DEFINE_COUNTERS;

static const char *sub(const char *msg, size_t start, size_t len)
{
	static char buf[4][4096];
	static int n;
	char *b = buf[n++ % 4];
	if (len >= sizeof(buf[0]))
		len = sizeof(buf[0]) - 1;
	memcpy(b, msg + start, len);
	b[len] = '\0';
	return b;
}

static void test_header_iter(void)
{
	const char *hdr = "From: a@b\r\nSubject: one\r\n two\r\n"
		"bogus line\r\n\tstray\r\nX-Empty:\r\nTo : c@d\r\n\r\nbody";
	struct message_header_iter iter;
	struct message_header_field f;
	const char *names[] = { "From", "Subject", "X-Empty", "To" };
	int n = 0;

	message_header_iter_init(&iter, hdr, strlen(hdr));
	while (message_header_iter_next(&iter, &f)) {
		if (n < 4)
			CHECK_STR(sub(f.name, 0, f.name_len), names[n]);
		n++;
	}
	CHECK_INT(n, 4);

	str_t v = STR_INIT;
	CHECK(message_header_find(hdr, strlen(hdr), "subject", &v));
	CHECK_STR(str_c(&v), "one two");
	str_clear(&v);
	CHECK(message_header_find(hdr, strlen(hdr), "TO", &v));
	CHECK_STR(str_c(&v), "c@d");
	str_clear(&v);
	CHECK(message_header_find(hdr, strlen(hdr), "x-empty", &v));
	CHECK_STR(str_c(&v), "");
	CHECK(!message_header_find(hdr, strlen(hdr), "Cc", NULL));
	CHECK(!message_header_find(hdr, strlen(hdr), "body", NULL));
	str_free(&v);

	bool blank;
	CHECK_INT(message_header_block_len("A: b\n\nx", 7, &blank), 6);
	CHECK(blank);
	CHECK_INT(message_header_block_len("A: b\r\n", 6, &blank), 6);
	CHECK(!blank);
	CHECK_INT(message_header_block_len("\r\nbody", 6, &blank), 2);
	CHECK(blank);
}

static void test_params(void)
{
	struct message_params_value v;
	const char *ct = "Text/Plain ; charset=\"ISO-8859-1\" (comment);"
		" format=flowed; name=\"a \\\"q\\\" b.txt\"";
	message_params_parse(ct, strlen(ct), true, &v);
	CHECK_STR(v.main, "Text");
	CHECK_STR(v.sub, "Plain");
	CHECK_STR(v.params[0], "charset");
	CHECK_STR(v.params[1], "ISO-8859-1");
	CHECK_STR(v.params[2], "format");
	CHECK_STR(v.params[3], "flowed");
	CHECK_STR(v.params[4], "name");
	CHECK_STR(v.params[5], "a \"q\" b.txt");
	CHECK(v.params[6] == NULL);
	free(v.main); free(v.sub); message_strv_free(v.params);

	/* RFC 2231 continuations, charset and percent-encoding */
	const char *cd = "attachment; filename*0*=iso-8859-1'de'Gr%FC;"
		" filename*2=\".txt\"; filename*1*=%DFe; size=3";
	message_params_parse(cd, strlen(cd), false, &v);
	CHECK_STR(v.main, "attachment");
	CHECK(v.sub == NULL);
	CHECK_STR(v.params[0], "filename");
	CHECK_STR(v.params[1], "Gr\xC3\xBC\xC3\x9F" "e.txt");
	CHECK_STR(v.params[2], "size");
	CHECK_STR(v.params[3], "3");
	CHECK(v.params[4] == NULL);
	free(v.main); message_strv_free(v.params);

	/* name*= overrides a plain name= */
	const char *c2 = "application/x; name=\"fallback\"; name*=UTF-8''%E2%82%AC";
	message_params_parse(c2, strlen(c2), true, &v);
	CHECK_STR(v.params[0], "name");
	CHECK_STR(v.params[1], "\xE2\x82\xAC");
	CHECK(v.params[2] == NULL);
	free(v.main); free(v.sub); message_strv_free(v.params);

	/* unquoted boundary with '=' and junk without '=' */
	const char *c3 = "multipart/mixed; junk; boundary=----=_Part_1";
	message_params_parse(c3, strlen(c3), true, &v);
	CHECK_STR(message_params_get(v.params, "BOUNDARY"), "----=_Part_1");
	free(v.main); free(v.sub); message_strv_free(v.params);

	char **langs = message_language_parse("en (English), de-CH ,", 21);
	CHECK(langs != NULL && langs[0] != NULL && langs[1] != NULL && langs[2] == NULL);
	if (langs != NULL) {
		CHECK_STR(langs[0], "en");
		CHECK_STR(langs[1], "de-CH");
	}
	message_strv_free(langs);
}

static void test_simple(void)
{
	const char *msg = "From: a@example.com\r\nSubject: hi\r\n\r\nline 1\r\nline 2\r\n";
	struct message_part *p = message_parse(msg, strlen(msg));
	CHECK_STR(p->type, "text");
	CHECK_STR(p->subtype, "plain");
	CHECK_STR(message_part_charset(p), "us-ascii");
	CHECK_INT(p->header_start, 0);
	CHECK_INT(p->header_len, 36);
	CHECK_INT(p->body_start, 36);
	CHECK_INT(p->body_len, 16);
	CHECK_INT(p->body_lines, 2);
	CHECK(p->children == NULL && p->encoding == NULL);
	message_part_free(&p);
	CHECK(p == NULL);

	/* no body at all, and no blank line */
	msg = "Subject: none\r\n";
	p = message_parse(msg, strlen(msg));
	CHECK_INT(p->header_len, 15);
	CHECK_INT(p->body_len, 0);
	CHECK_INT(p->body_lines, 0);
	message_part_free(&p);

	/* an empty value as the first Content-* field */
	msg = "Content-Description:\r\n\r\nx";
	p = message_parse(msg, strlen(msg));
	CHECK_STR(p->description, "");
	message_part_free(&p);

	/* empty input */
	p = message_parse("", 0);
	CHECK_INT(p->header_len, 0);
	CHECK_STR(p->type, "text");
	message_part_free(&p);

	/* unterminated last line counts */
	CHECK_INT(message_count_lines("a\nb", 3), 2);
	CHECK_INT(message_count_lines("a\n", 2), 1);
	CHECK_INT(message_count_lines("", 0), 0);
}


static void test_multipart(void)
{
	const char *msg = mixed_msg;
	struct message_part *p = message_parse(msg, strlen(msg));
	CHECK_STR(p->type, "multipart");
	CHECK_STR(p->subtype, "mixed");
	struct message_part *alt = p->children;
	CHECK(alt != NULL && alt->parent == p);
	if (alt == NULL)
		return;
	CHECK_STR(alt->subtype, "alternative");
	struct message_part *t1 = alt->children;
	CHECK(t1 != NULL && t1->next != NULL && t1->next->next == NULL);
	CHECK_STR(t1->type, "text");
	CHECK_INT(t1->header_len, 2);
	CHECK_STR(sub(msg, t1->body_start, t1->body_len), "plain text");
	CHECK_INT(t1->body_lines, 1);
	CHECK_STR(sub(msg, t1->next->body_start, t1->next->body_len), "<p>html</p>");
	CHECK_STR(message_part_charset(t1->next), "utf-8");
	struct message_part *att = alt->next;
	CHECK(att != NULL && att->next == NULL);
	if (att == NULL)
		return;
	CHECK_STR(att->type, "application");
	CHECK_STR(att->encoding, "base64");
	CHECK_STR(att->disposition, "attachment");
	CHECK_STR(message_params_get(att->disposition_params, "filename"), "a.bin");
	CHECK_STR(sub(msg, att->body_start, att->body_len), "AAEC");
	message_part_free(&p);
}

static void test_rfc822_and_digest(void)
{
	const char *msg =
		"Content-Type: multipart/digest; boundary=d\n"
		"\n"
		"--d\n"
		"\n"
		"Subject: inner\n"
		"\n"
		"inner body\n"
		"--d\n"
		"Content-Type: message/rfc822\n"
		"\n"
		"Content-Type: multipart/mixed; boundary=x\n"
		"\n"
		"--x\n"
		"\n"
		"deep\n"
		"--x--\n"
		"--d--\n";
	struct message_part *p = message_parse(msg, strlen(msg));
	struct message_part *c1 = p->children;
	CHECK(c1 != NULL);
	if (c1 == NULL)
		return;
	CHECK_STR(c1->type, "message");
	CHECK_STR(c1->subtype, "rfc822");
	CHECK(message_part_is_rfc822(c1));
	CHECK(c1->children != NULL && c1->children->is_message);
	CHECK_STR(sub(msg, c1->children->body_start, c1->children->body_len), "inner body");
	struct message_part *c2 = c1->next;
	CHECK(c2 != NULL && message_part_is_rfc822(c2));
	if (c2 == NULL || c2->children == NULL)
		return;
	CHECK_STR(c2->children->subtype, "mixed");
	CHECK(c2->children->children != NULL);
	if (c2->children->children != NULL)
		CHECK_STR(sub(msg, c2->children->children->body_start,
			      c2->children->children->body_len), "deep");
	message_part_free(&p);
}

static void test_limits(void)
{
	/* deeply nested multiparts stop at MIME_MAX_DEPTH */
	str_t m = STR_INIT;
	for (int i = 0; i < 100; i++)
		str_printf(&m, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	str_append(&m, "\r\nend\r\n");
	struct message_part *p = message_parse(m.data, m.len);
	int depth = 0;
	for (struct message_part *q = p; q != NULL; q = q->children)
		depth++;
	CHECK(depth <= MIME_MAX_DEPTH);
	CHECK(depth >= MIME_MAX_DEPTH - 1);
	message_part_free(&p);

	/* many parts stop at MIME_MAX_PARTS */
	str_clear(&m);
	str_append(&m, "Content-Type: multipart/mixed; boundary=b\r\n\r\n");
	for (int i = 0; i < MIME_MAX_PARTS + 100; i++)
		str_append(&m, "--b\r\n\r\nx\r\n");
	p = message_parse(m.data, m.len);
	int parts = 1;
	for (struct message_part *q = p->children; q != NULL; q = q->next)
		parts++;
	CHECK(parts <= MIME_MAX_PARTS);
	CHECK(parts >= MIME_MAX_PARTS - 1);
	message_part_free(&p);
	str_free(&m);

	/* multipart without boundary, bad Content-Type */
	const char *msg = "Content-Type: multipart/mixed\r\n\r\n--x\r\n\r\nbody";
	p = message_parse(msg, strlen(msg));
	CHECK(p->children == NULL);
	message_part_free(&p);
	msg = "Content-Type: garbage\r\n\r\nbody";
	p = message_parse(msg, strlen(msg));
	CHECK_STR(p->type, "text");
	CHECK_STR(p->subtype, "plain");
	message_part_free(&p);
}

int main(void)
{
	test_header_iter();
	test_params();
	test_simple();
	test_multipart();
	test_rfc822_and_digest();
	test_limits();
	return test_summary("message-parser");
}
