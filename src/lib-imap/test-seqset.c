#include "lib-imap/seqset.h"
#include "lib/test.h"

TEST_DEFINE_COUNTERS;

/* Parses and formats back, or "(error)". */
static const char *roundtrip(str_t *buf, const char *text, uint32_t star)
{
	struct seqset set = SEQSET_INIT;

	str_clear(buf);
	if (seqset_parse(text, star, &set) < 0) {
		CHECK_INT(set.count, 0);
		seqset_free(&set);
		return "(error)";
	}
	seqset_format(&set, buf);
	seqset_free(&set);
	return str_c(buf);
}

static void test_parse(void)
{
	str_t b = STR_INIT;

	CHECK_STR(roundtrip(&b, "1", 10), "1");
	CHECK_STR(roundtrip(&b, "1:3,5,7:*", 10), "1:3,5,7:10");
	CHECK_STR(roundtrip(&b, "*", 10), "10");
	CHECK_STR(roundtrip(&b, "*:*", 10), "10");
	CHECK_STR(roundtrip(&b, "5:*", 3), "3:5");	/* RFC 3501 6.4.8 */
	CHECK_STR(roundtrip(&b, "*:4", 10), "4:10");
	CHECK_STR(roundtrip(&b, "4:2", 10), "2:4");
	CHECK_STR(roundtrip(&b, "5,3,1,2,4", 0), "1:5");	/* sorted, merged */
	CHECK_STR(roundtrip(&b, "1:5,3:9,20,19", 0), "1:9,19:20");
	CHECK_STR(roundtrip(&b, "1,1,1", 0), "1");
	CHECK_STR(roundtrip(&b, "4294967295", 0), "4294967295");
	CHECK_STR(roundtrip(&b, "1:4294967295", 0), "1:4294967295");
	CHECK_STR(roundtrip(&b, "4294967295:4294967294,1", 0),
		  "1,4294967294:4294967295");
	/* Empty mailbox: '*' is 0, naming nothing on its own. */
	CHECK_STR(roundtrip(&b, "*", 0), "");
	CHECK_STR(roundtrip(&b, "*:*", 0), "");
	CHECK_STR(roundtrip(&b, "5:*", 0), "1:5");
	CHECK_STR(roundtrip(&b, "*,3", 0), "3");

	static const char *const bad[] = {
		"", "0", "0:5", "5:0", "01", "1:05", "1:", ":1", ",1", "1,",
		"1,,2", "1::2", "1:2:3", "4294967296", "1:4294967296",
		"99999999999999999999999999999999999999", "-1", "+1", " 1",
		"1 ", "1,2 ", "$", "1,$", "**", "*1", "1*", "a", "1:a", "1.5",
		"\xff",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct seqset set = SEQSET_INIT;
		if (seqset_parse(bad[i], 10, &set) != -1 || set.count != 0 ||
		    seqset_is_valid(bad[i])) {
			test_failed++;
			fprintf(stderr, "accepted bad sequence set \"%s\"\n", bad[i]);
		} else {
			test_passed++;
		}
		seqset_free(&set);
	}
	CHECK(seqset_is_valid("1:3,5,7:*"));
	CHECK(seqset_is_valid("*"));
	CHECK(seqset_is_valid("4294967295:*"));

	/* Parsing replaces what the set held. */
	struct seqset set = SEQSET_INIT;
	CHECK_INT(seqset_parse("1:100", 0, &set), 0);
	CHECK_INT(seqset_parse("7", 0, &set), 0);
	CHECK_INT(set.count, 1);
	CHECK(!seqset_contains(&set, 1));
	seqset_free(&set);

	/* A long hostile set in descending order stays fast and exact. */
	str_t text = STR_INIT;
	for (unsigned int n = 20000; n >= 2; n -= 2)
		str_printf(&text, "%s%u", text.len > 0 ? "," : "", n);
	CHECK_INT(seqset_parse(str_c(&text), 0, &set), 0);
	CHECK_INT(set.count, 10000);
	CHECK_INT(seqset_count(&set), 10000);
	CHECK(seqset_contains(&set, 20000));
	CHECK(!seqset_contains(&set, 19999));
	seqset_free(&set);
	str_free(&text);
	str_free(&b);
}

static void test_add_contains(void)
{
	struct seqset set = SEQSET_INIT;
	str_t b = STR_INIT;

	CHECK(!seqset_contains(&set, 1));
	CHECK_INT(seqset_count(&set), 0);
	seqset_format(&set, &b);
	CHECK_STR(str_c(&b), "");

	seqset_add(&set, 5);
	seqset_add(&set, 3);
	seqset_add(&set, 4);	/* bridges 3 and 5 */
	seqset_add(&set, 10);
	seqset_add_range(&set, 20, 15);
	seqset_add(&set, 1);
	str_clear(&b);
	seqset_format(&set, &b);
	CHECK_STR(str_c(&b), "1,3:5,10,15:20");
	CHECK_INT(seqset_count(&set), 1 + 3 + 1 + 6);
	CHECK(seqset_contains(&set, 1));
	CHECK(!seqset_contains(&set, 2));
	CHECK(seqset_contains(&set, 4));
	CHECK(!seqset_contains(&set, 6));
	CHECK(seqset_contains(&set, 15));
	CHECK(seqset_contains(&set, 20));
	CHECK(!seqset_contains(&set, 21));

	seqset_add_range(&set, 2, 16);	/* swallows several ranges */
	str_clear(&b);
	seqset_format(&set, &b);
	CHECK_STR(str_c(&b), "1:20");
	CHECK_INT(set.count, 1);

	seqset_add_range(&set, UINT32_MAX, UINT32_MAX - 1);
	seqset_add(&set, UINT32_MAX);
	seqset_add(&set, 21);	/* abuts the end */
	str_clear(&b);
	seqset_format(&set, &b);
	CHECK_STR(str_c(&b), "1:21,4294967294:4294967295");
	seqset_add_range(&set, 0, UINT32_MAX);
	CHECK_INT(seqset_count(&set), 4294967296ULL);
	CHECK_INT(set.count, 1);
	seqset_free(&set);
	CHECK(set.ranges == NULL && set.count == 0 && set.alloc == 0);

	/* Appending in order is the common case (building COPYUID). */
	for (uint32_t n = 1; n <= 1000; n += 2)
		seqset_add(&set, n);
	CHECK_INT(set.count, 500);
	CHECK(seqset_contains(&set, 999));
	CHECK(!seqset_contains(&set, 1000));
	seqset_free(&set);
	str_free(&b);
}

int main(void)
{
	test_parse();
	test_add_contains();
	return test_summary("seqset");
}
