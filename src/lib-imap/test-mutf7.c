#include "lib-imap/mutf7.h"
#include "lib/test.h"

#include <stdint.h>

TEST_DEFINE_COUNTERS;

/* Decodes and returns the result as a C string, or "(error)". */
static const char *dec(str_t *buf, const char *in)
{
	str_clear(buf);
	if (mutf7_to_utf8(in, strlen(in), buf) < 0)
		return "(error)";
	return str_c(buf);
}

static const char *enc(str_t *buf, const char *in, size_t len)
{
	str_clear(buf);
	if (utf8_to_mutf7(in, len, buf) < 0)
		return "(error)";
	return str_c(buf);
}

static void test_rfc_examples(void)
{
	str_t b = STR_INIT;
	const char *m = "~peter/mail/&U,BTFw-/&ZeVnLIqe-";
	const char *u = "~peter/mail/\xe5\x8f\xb0\xe5\x8c\x97/"
		"\xe6\x97\xa5\xe6\x9c\xac\xe8\xaa\x9e";	/* 台北 / 日本語 */

	CHECK_STR(dec(&b, m), u);
	CHECK_STR(enc(&b, u, strlen(u)), m);
	CHECK(mutf7_is_valid(m, strlen(m)));
	CHECK_STR(dec(&b, "&-"), "&");
	CHECK_STR(enc(&b, "&", 1), "&-");
	CHECK_STR(dec(&b, "Tom & Jerry"), "(error)");	/* '&' then ' ' */
	CHECK_STR(dec(&b, "Tom &- Jerry"), "Tom & Jerry");
	CHECK_STR(enc(&b, "Tom & Jerry", 11), "Tom &- Jerry");
	CHECK_STR(dec(&b, ""), "");
	CHECK_STR(enc(&b, "", 0), "");
	CHECK_STR(dec(&b, "INBOX"), "INBOX");
	/* á = U+00E1; two of them share one run. */
	CHECK_STR(dec(&b, "&AOE-"), "\xc3\xa1");
	CHECK_STR(enc(&b, "\xc3\xa1\xc3\xa1", 4), "&AOEA4Q-");
	CHECK_STR(dec(&b, "&AOEA4Q-"), "\xc3\xa1\xc3\xa1");
	/* A run followed by a literal '&' and a literal '-'. */
	CHECK_STR(enc(&b, "\xc3\xa1&-", 4), "&AOE-&--");
	CHECK_STR(dec(&b, "&AOE-&--"), "\xc3\xa1&-");
	/* Controls must be encoded: TAB is U+0009. */
	CHECK_STR(enc(&b, "a\tb", 3), "a&AAk-b");
	CHECK_STR(dec(&b, "a&AAk-b"), "a\tb");
	CHECK_STR(enc(&b, "\x7f", 1), "&AH8-");
	/* Astral: U+1F600 is the pair D83D DE00. */
	CHECK_STR(enc(&b, "\xf0\x9f\x98\x80", 4), "&2D3eAA-");
	CHECK_STR(dec(&b, "&2D3eAA-"), "\xf0\x9f\x98\x80");
	str_free(&b);
}

static void test_invalid_mutf7(void)
{
	static const char *const bad[] = {
		"&",		/* '&' at the end */
		"&AOE",		/* run not closed */
		"&U,BTFw",
		"a&AOE-&AOE-",	/* two runs back to back */
		"&AOE!-",	/* not base64 */
		"&AO=-",	/* padding is never written */
		"&AO/-",	/* '/' is ',' in mUTF-7 */
		"&AGE-",	/* 'a' encoded */
		"&ACY-",	/* '&' encoded */
		"&ACA-",	/* SP encoded */
		"&AH4-",	/* '~' encoded */
		"&AAA-",	/* U+0000 */
		"&2AA-",	/* high surrogate alone */
		"&3AA-",	/* low surrogate alone */
		"&2D0A4Q-",	/* high surrogate then a non-surrogate */
		"&2D3YPQ-",	/* high surrogate then high surrogate */
		"&3gDYPQ-",	/* pair in the wrong order */
		"&AOF-",	/* padding bits not zero */
		"&AOEA-",	/* a whole spare base64 character */
		"&A-",		/* run shorter than one unit */
		"&AA-",
		"\xc3\xa1",	/* raw 8-bit */
		"a\tb",		/* raw control */
		"\x7f",
		"&&-",
	};
	str_t b = STR_INIT;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		str_clear(&b);
		if (mutf7_to_utf8(bad[i], strlen(bad[i]), &b) != -1 ||
		    mutf7_is_valid(bad[i], strlen(bad[i]))) {
			test_failed++;
			fprintf(stderr, "accepted invalid mUTF-7: %s\n", bad[i]);
		} else {
			test_passed++;
		}
	}
	/* An embedded NUL byte, which strlen() would hide. */
	CHECK(!mutf7_is_valid("a\0b", 3));
	CHECK(mutf7_is_valid("a", 1));
	/* len is honoured: a run cut off by len is unterminated. */
	CHECK(!mutf7_is_valid("&AOE-", 4));
	CHECK(!mutf7_is_valid("&-", 1));
	str_free(&b);
}

static void test_utf8(void)
{
	static const struct { const char *s; size_t len; bool ok; } cases[] = {
		{ "", 0, true },
		{ "abc", 3, true },
		{ "a\0b", 3, true },
		{ "\xc3\xa1", 2, true },
		{ "\xef\xbf\xbf", 3, true },		/* U+FFFF */
		{ "\xf4\x8f\xbf\xbf", 4, true },	/* U+10FFFF */
		{ "\xed\x9f\xbf", 3, true },		/* U+D7FF */
		{ "\xee\x80\x80", 3, true },		/* U+E000 */
		{ "\xc0\xaf", 2, false },		/* overlong '/' */
		{ "\xc1\xbf", 2, false },
		{ "\xe0\x80\xaf", 3, false },
		{ "\xe0\x9f\xbf", 3, false },		/* overlong U+07FF */
		{ "\xf0\x80\x80\xaf", 4, false },
		{ "\xf0\x8f\xbf\xbf", 4, false },	/* overlong U+FFFF */
		{ "\xed\xa0\x80", 3, false },		/* U+D800 */
		{ "\xed\xbf\xbf", 3, false },		/* U+DFFF */
		{ "\xf4\x90\x80\x80", 4, false },	/* U+110000 */
		{ "\xf5\x80\x80\x80", 4, false },
		{ "\xff", 1, false },
		{ "\x80", 1, false },			/* lone continuation */
		{ "\xc3", 1, false },			/* truncated */
		{ "\xe6\x97", 2, false },
		{ "\xf0\x9f\x98", 3, false },
		{ "\xc3\x41", 2, false },		/* bad continuation */
		{ "\xe6\x97\xa5", 2, false },		/* len cuts it */
	};
	str_t b = STR_INIT;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bool got = utf8_is_valid(cases[i].s, cases[i].len);
		if (got != cases[i].ok) {
			test_failed++;
			fprintf(stderr, "utf8_is_valid case %zu: got %d\n", i, got);
		} else {
			test_passed++;
		}
		str_clear(&b);
		int ret = utf8_to_mutf7(cases[i].s, cases[i].len, &b);
		/* NUL is valid UTF-8 but has no place in a mailbox name. */
		bool want = cases[i].ok && memchr(cases[i].s, 0, cases[i].len) == NULL;
		CHECK_INT(ret, want ? 0 : -1);
	}
	str_free(&b);
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;

static uint32_t rng(void)
{
	/* xorshift64*: deterministic, so a failure reproduces. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545f4914f6cdd1dULL) >> 32);
}

static uint32_t random_code_point(void)
{
	uint32_t cp;

	switch (rng() % 6) {
	case 0: return 0x20 + rng() % 0x5f;		/* printable ASCII */
	case 1: return rng() % 4 == 0 ? '&' : 1 + rng() % 0x1f;
	case 2: return 0x7f + rng() % (0x800 - 0x7f);
	case 3:
		do cp = 0x800 + rng() % (0x10000 - 0x800);
		while (cp >= 0xd800 && cp <= 0xdfff);
		return cp;
	default: return 0x10000 + rng() % 0x100000;	/* astral */
	}
}

static void put_utf8(str_t *s, uint32_t cp)
{
	if (cp < 0x80) {
		str_append_c(s, (char)cp);
	} else if (cp < 0x800) {
		str_append_c(s, (char)(0xc0 | (cp >> 6)));
		str_append_c(s, (char)(0x80 | (cp & 0x3f)));
	} else if (cp < 0x10000) {
		str_append_c(s, (char)(0xe0 | (cp >> 12)));
		str_append_c(s, (char)(0x80 | ((cp >> 6) & 0x3f)));
		str_append_c(s, (char)(0x80 | (cp & 0x3f)));
	} else {
		str_append_c(s, (char)(0xf0 | (cp >> 18)));
		str_append_c(s, (char)(0x80 | ((cp >> 12) & 0x3f)));
		str_append_c(s, (char)(0x80 | ((cp >> 6) & 0x3f)));
		str_append_c(s, (char)(0x80 | (cp & 0x3f)));
	}
}

static void test_round_trip(void)
{
	str_t u = STR_INIT, m = STR_INIT, back = STR_INIT, again = STR_INIT;
	int failures = 0, code_points = 0;

	for (int iter = 0; iter < 500; iter++) {
		str_clear(&u);
		int n = 1 + (int)(rng() % 16);
		for (int i = 0; i < n; i++)
			put_utf8(&u, random_code_point());
		code_points += n;
		str_clear(&m);
		str_clear(&back);
		str_clear(&again);
		if (!utf8_is_valid(u.data, u.len) ||
		    utf8_to_mutf7(u.data, u.len, &m) < 0 ||
		    !mutf7_is_valid(m.data, m.len) ||
		    mutf7_to_utf8(m.data, m.len, &back) < 0 ||
		    back.len != u.len || memcmp(back.data, u.data, u.len) != 0 ||
		    utf8_to_mutf7(back.data, back.len, &again) < 0 ||
		    strcmp(str_c(&again), str_c(&m)) != 0) {
			if (failures++ < 5)
				fprintf(stderr, "round trip failed: %s\n", str_c(&m));
		}
		/* The encoding is 7-bit printable. */
		for (size_t i = 0; i < m.len; i++) {
			if (m.data[i] < 0x20 || m.data[i] > 0x7e) {
				failures++;
				break;
			}
		}
	}
	CHECK_INT(failures, 0);
	CHECK(code_points >= 4000);
	str_free(&u);
	str_free(&m);
	str_free(&back);
	str_free(&again);
}

int main(void)
{
	test_rfc_examples();
	test_invalid_mutf7();
	test_utf8();
	test_round_trip();
	return test_summary("mutf7");
}
