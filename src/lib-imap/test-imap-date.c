#include "lib-imap/imap-date.h"
#include "lib/test.h"

#include <stdint.h>
#include <stdlib.h>

TEST_DEFINE_COUNTERS;

static void check_datetime(const char *s, long long want_t, int want_tz)
{
	time_t t = 12345;
	int tz = 12345;

	if (imap_parse_datetime(s, &t, &tz) != 0) {
		test_failed++;
		fprintf(stderr, "rejected date-time \"%s\"\n", s);
		return;
	}
	CHECK_INT(t, want_t);
	CHECK_INT(tz, want_tz);
}

static void test_parse_datetime(void)
{
	/* RFC 3501's example; 1996-07-17 09:44:25 UTC. */
	check_datetime("17-Jul-1996 02:44:25 -0700", 837596665, -420);
	check_datetime(" 7-Jul-1996 02:44:25 +0000", 836707465, 0);
	check_datetime("07-Jul-1996 02:44:25 +0000", 836707465, 0);
	check_datetime("7-Jul-1996 02:44:25 +0000", 836707465, 0);
	check_datetime("07-jul-1996 02:44:25 +0000", 836707465, 0);
	check_datetime("07-JUL-1996 02:44:25 +0000", 836707465, 0);
	check_datetime("01-Jan-1970 00:00:00 +0000", 0, 0);
	check_datetime("01-Jan-1970 01:00:00 +0100", 0, 60);
	check_datetime("31-Dec-1969 23:59:59 +0000", -1, 0);
	check_datetime("31-Dec-1969 19:00:00 -0500", 0, -300);
	check_datetime("01-Jan-1969 00:00:00 +0000", -31536000, 0);
	check_datetime("19-Jan-2038 03:14:08 +0000", 2147483648LL, 0);
	check_datetime("01-Jan-2100 00:00:00 +0000", 4102444800LL, 0);
	check_datetime("31-Dec-9999 23:59:59 +0000", 253402300799LL, 0);
	check_datetime("29-Feb-2000 12:00:00 +0530", 951825600LL - 330 * 60, 330);
	check_datetime("29-Feb-2024 00:00:00 -2359", 1709164800LL + 1439 * 60, -1439);
	check_datetime("30-Jun-2015 23:59:60 +0000", 1435708800LL, 0);

	static const char *const bad[] = {
		"", "17-Jul-1996", "17-Jul-1996 02:44:25",
		"17-Jul-1996 02:44:25 0700", "17-Jul-1996 02:44:25 -07",
		"17-Jul-1996 02:44:25 -07000", "17-Jul-1996 02:44:25 -0700 ",
		" 17-Jul-1996 02:44:25 -0700", "17-Jul-96 02:44:25 -0700",
		"17 Jul 1996 02:44:25 -0700", "17-Jly-1996 02:44:25 -0700",
		"17-Ju-1996 02:44:25 -0700", "17-Julx1996 02:44:25 -0700",
		"00-Jul-1996 02:44:25 -0700", "32-Jul-1996 02:44:25 -0700",
		"31-Feb-1996 02:44:25 -0700", "30-Feb-1996 02:44:25 -0700",
		"29-Feb-1900 00:00:00 +0000", "29-Feb-2023 00:00:00 +0000",
		"31-Apr-2023 00:00:00 +0000", "117-Jul-1996 02:44:25 -0700",
		"17-Jul-1996 24:00:00 -0700", "17-Jul-1996 02:60:00 -0700",
		"17-Jul-1996 02:44:61 -0700", "17-Jul-1996 2:44:25 -0700",
		"17-Jul-1996 02:44:25 -2400", "17-Jul-1996 02:44:25 +0060",
		"17-Jul-1996 02:44:25 *0700", "17-Jul-1996 02:44:25 --700",
		"\"17-Jul-1996 02:44:25 -0700\"", "17-Jul-1996  02:44:25 -0700",
		"17-Jul-1996 02:44:25 -07a0", "  7-Jul-1996 02:44:25 -0700",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		time_t t;
		int tz;
		if (imap_parse_datetime(bad[i], &t, &tz) != -1) {
			test_failed++;
			fprintf(stderr, "accepted bad date-time \"%s\"\n", bad[i]);
		} else {
			test_passed++;
		}
	}
}

static void test_parse_date(void)
{
	time_t t = 0;

	CHECK_INT(imap_parse_date("1-Feb-1994", &t), 0);
	CHECK_INT(t, 760060800);
	CHECK_INT(imap_parse_date("01-Feb-1994", &t), 0);
	CHECK_INT(t, 760060800);
	CHECK_INT(imap_parse_date("01-fEB-1994", &t), 0);
	CHECK_INT(t, 760060800);
	CHECK_INT(imap_parse_date("29-Feb-2000", &t), 0);
	CHECK_INT(t, 951782400);
	CHECK_INT(imap_parse_date("31-Dec-1969", &t), 0);
	CHECK_INT(t, -86400);
	CHECK_INT(imap_parse_date("01-Mar-2038", &t), 0);
	CHECK_INT(t, 2151014400LL);

	static const char *const bad[] = {
		"", "1", "1-Feb", "1-Feb-94", "1-Feb-19945", "001-Feb-1994",
		" 1-Feb-1994", "0-Feb-1994", "00-Feb-1994", "31-Feb-1994",
		"29-Feb-1994", "29-Feb-2100", "1-Fbr-1994", "1-Feb-1994 ",
		"1-Feb-1994 00:00:00 +0000", "1/Feb/1994", "1-Feb-199x",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (imap_parse_date(bad[i], &t) != -1) {
			test_failed++;
			fprintf(stderr, "accepted bad date \"%s\"\n", bad[i]);
		} else {
			test_passed++;
		}
	}
}

static const char *fmt(str_t *b, time_t t, int tz)
{
	str_clear(b);
	imap_format_datetime(b, t, tz);
	return str_c(b);
}

static void test_format(void)
{
	str_t b = STR_INIT;

	CHECK_STR(fmt(&b, 837596665, -420), "17-Jul-1996 02:44:25 -0700");
	CHECK_STR(fmt(&b, 836707465, 0), " 7-Jul-1996 02:44:25 +0000");
	CHECK_STR(fmt(&b, 0, 0), " 1-Jan-1970 00:00:00 +0000");
	CHECK_STR(fmt(&b, -1, 0), "31-Dec-1969 23:59:59 +0000");
	CHECK_STR(fmt(&b, 2147483648LL, 0), "19-Jan-2038 03:14:08 +0000");
	CHECK_STR(fmt(&b, 951825600LL - 330 * 60, 330), "29-Feb-2000 12:00:00 +0530");
	CHECK_STR(fmt(&b, 0, -90), "31-Dec-1969 22:30:00 -0130");
	/* Clamped zone, and instants the format cannot hold. */
	CHECK_STR(fmt(&b, 0, 100000), " 1-Jan-1970 23:59:00 +2359");
	CHECK_STR(fmt(&b, 253402300800LL, 0), " 1-Jan-1970 00:00:00 +0000");
	CHECK_STR(fmt(&b, (time_t)INT64_MAX, 60), " 1-Jan-1970 00:00:00 +0000");
	CHECK_STR(fmt(&b, (time_t)INT64_MIN, -60), " 1-Jan-1970 00:00:00 +0000");

	/* What we write we read back. */
	for (long long t = -2208988800LL; t < 253402214400LL; t += 987654321LL) {
		for (int tz = -1439; tz <= 1439; tz += 317) {
			time_t back;
			int tz_back;
			fmt(&b, (time_t)t, tz);
			if (imap_parse_datetime(str_c(&b), &back, &tz_back) != 0 ||
			    back != t || tz_back != tz) {
				test_failed++;
				fprintf(stderr, "round trip failed: %s\n", str_c(&b));
			} else {
				test_passed++;
			}
		}
	}
	str_free(&b);
}

int main(void)
{
	test_parse_datetime();
	test_parse_date();
	test_format();
	return test_summary("imap-date");
}
