#include "lib-imap/imap-quote.h"
#include "lib/test.h"

TEST_DEFINE_COUNTERS;

typedef void append_fn(str_t *, const char *, size_t);

static const char *run(str_t *b, append_fn *fn, const char *s, size_t len)
{
	str_clear(b);
	fn(b, s, len);
	return str_c(b);
}

static void test_atom(void)
{
	CHECK(imap_is_atom("INBOX", 5));
	CHECK(imap_is_atom("a.b-c_d/e+f!#&'~", 16));
	CHECK(imap_is_atom("[Gmail", 6));	/* '[' is fine, ']' is not */
	CHECK(!imap_is_atom("[Gmail]", 7));
	CHECK(!imap_is_atom("", 0));
	static const char specials[] = "()%*{\"\\] \x01\x1f\x7f\x80\xff";
	for (size_t i = 0; i < sizeof(specials) - 1; i++) {
		char s[3] = { 'a', specials[i], 'b' };
		if (imap_is_atom(s, 3)) {
			test_failed++;
			fprintf(stderr, "atom accepted byte 0x%02x\n",
				(unsigned char)specials[i]);
		} else {
			test_passed++;
		}
	}
	CHECK(!imap_is_atom("a\0b", 3));
}

static void test_string(void)
{
	str_t b = STR_INIT;

	CHECK_STR(run(&b, imap_append_string, "", 0), "\"\"");
	CHECK_STR(run(&b, imap_append_string, "hello world", 11), "\"hello world\"");
	CHECK_STR(run(&b, imap_append_string, "a\"b\\c", 5), "\"a\\\"b\\\\c\"");
	CHECK_STR(run(&b, imap_append_string, "a\tb", 3), "\"a\tb\"");
	CHECK_STR(run(&b, imap_append_string, "a\r\nb", 4), "{4}\r\na\r\nb");
	CHECK_STR(run(&b, imap_append_string, "a\nb", 3), "{3}\r\na\nb");
	CHECK_STR(run(&b, imap_append_string, "\xc3\xa1", 2), "{2}\r\n\xc3\xa1");
	str_clear(&b);
	imap_append_string(&b, "a\0b", 3);
	CHECK_INT(b.len, 8);
	CHECK(memcmp(b.data, "{3}\r\na\0b", 8) == 0);

	/* The quoted limit, exactly and one past it. */
	char big[IMAP_QUOTED_MAX + 1];
	memset(big, 'x', sizeof(big));
	str_clear(&b);
	imap_append_string(&b, big, IMAP_QUOTED_MAX);
	CHECK_INT(b.len, IMAP_QUOTED_MAX + 2);
	CHECK(b.data[0] == '"');
	str_clear(&b);
	imap_append_string(&b, big, IMAP_QUOTED_MAX + 1);
	CHECK(strncmp(str_c(&b), "{1025}\r\nxxx", 11) == 0);
	CHECK_INT(b.len, 8 + IMAP_QUOTED_MAX + 1);

	CHECK_STR(run(&b, imap_append_nstring, NULL, 0), "NIL");
	CHECK_STR(run(&b, imap_append_nstring, "NIL", 3), "\"NIL\"");
	CHECK_STR(run(&b, imap_append_nstring, "", 0), "\"\"");

	CHECK_STR(run(&b, imap_append_astring, "INBOX", 5), "INBOX");
	CHECK_STR(run(&b, imap_append_astring, "NIL", 3), "\"NIL\"");
	CHECK_STR(run(&b, imap_append_astring, "nil", 3), "\"nil\"");
	CHECK_STR(run(&b, imap_append_astring, "NILS", 4), "NILS");
	CHECK_STR(run(&b, imap_append_astring, "", 0), "\"\"");
	CHECK_STR(run(&b, imap_append_astring, "My Folder", 9), "\"My Folder\"");
	CHECK_STR(run(&b, imap_append_astring, "a]", 2), "\"a]\"");
	CHECK_STR(run(&b, imap_append_astring, "x\r\n", 3), "{3}\r\nx\r\n");

	/* Output is appended, not replaced. */
	str_clear(&b);
	str_append(&b, "* LIST () \"/\" ");
	imap_append_astring(&b, "Sent", 4);
	CHECK_STR(str_c(&b), "* LIST () \"/\" Sent");
	str_free(&b);
}

int main(void)
{
	test_atom();
	test_string();
	return test_summary("imap-quote");
}
