#include "lib-mail/message-search.h"
#include "lib-mail/message-header.h"
#include "lib/str.h"

#include <ctype.h>
#include <string.h>
#include <strings.h>

struct lexer {
	const char *s;
	size_t len, i;
};

static void skip_cfws(struct lexer *lx)
{
	while (lx->i < lx->len) {
		char c = lx->s[lx->i];
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n') {
			lx->i++;
		} else if (c == '(') {
			unsigned depth = 0;
			while (lx->i < lx->len) {
				char d = lx->s[lx->i++];
				if (d == '\\' && lx->i < lx->len)
					lx->i++;
				else if (d == '(')
					depth++;
				else if (d == ')' && --depth == 0)
					break;
			}
		} else {
			break;
		}
	}
}

static bool peek_char(struct lexer *lx, char c)
{
	skip_cfws(lx);
	return lx->i < lx->len && lx->s[lx->i] == c;
}

static bool eat_char(struct lexer *lx, char c)
{
	if (!peek_char(lx, c))
		return false;
	lx->i++;
	return true;
}

/* Reads up to 9 digits; returns how many there were (0 = no number). */
static int read_number(struct lexer *lx, int *value_r)
{
	int digits = 0, v = 0;
	skip_cfws(lx);
	while (lx->i < lx->len && isdigit((unsigned char)lx->s[lx->i])) {
		if (digits == 9)
			return 0;
		v = v * 10 + (lx->s[lx->i] - '0');
		digits++;
		lx->i++;
	}
	*value_r = v;
	return digits;
}

/* Reads an alphabetic word into buf (truncated to size-1 letters). */
static size_t read_word(struct lexer *lx, char *buf, size_t size)
{
	size_t n = 0;
	skip_cfws(lx);
	while (lx->i < lx->len && isalpha((unsigned char)lx->s[lx->i])) {
		if (n + 1 < size)
			buf[n++] = lx->s[lx->i];
		lx->i++;
	}
	buf[n] = '\0';
	return n;
}

static int month_number(const char *word)
{
	static const char *const months[] = {
		"jan", "feb", "mar", "apr", "may", "jun",
		"jul", "aug", "sep", "oct", "nov", "dec",
	};
	if (strlen(word) < 3)
		return 0;
	for (int i = 0; i < 12; i++) {
		if (strncasecmp(word, months[i], 3) == 0)
			return i + 1;
	}
	return 0;
}

static bool is_weekday(const char *word)
{
	static const char *const days[] = {
		"mon", "tue", "wed", "thu", "fri", "sat", "sun",
	};
	if (strlen(word) < 3)
		return false;
	for (int i = 0; i < 7; i++) {
		if (strncasecmp(word, days[i], 3) == 0)
			return true;
	}
	return false;
}

/* RFC 5322 4.3 obs-zone. Military zones and unknown names are taken as
 * -0000 ("no information") as the RFC advises. */
static int named_zone(const char *word)
{
	static const struct { const char *name; int minutes; } zones[] = {
		{ "UT", 0 }, { "UTC", 0 }, { "GMT", 0 }, { "Z", 0 },
		{ "EST", -300 }, { "EDT", -240 }, { "CST", -360 },
		{ "CDT", -300 }, { "MST", -420 }, { "MDT", -360 },
		{ "PST", -480 }, { "PDT", -420 },
	};
	for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
		if (strcasecmp(word, zones[i].name) == 0)
			return zones[i].minutes;
	}
	return 0;
}

static bool is_leap(long y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static long days_since_epoch(long y, int m, int d)
{
	static const int before_month[12] = {
		0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334
	};
	long days = 0;
	for (long year = 1970; year < y; year++)
		days += is_leap(year) ? 366 : 365;
	for (long year = y; year < 1970; year++)
		days -= is_leap(year) ? 366 : 365;
	days += before_month[m - 1] + (m > 2 && is_leap(y)) + d - 1;
	return days;
}

int message_date_parse(const char *s, size_t len, time_t *t_r, int *tz_min_r)
{
	struct lexer lx = { s, len, 0 };
	char word[16];
	int day, year, hour, min, sec = 0, tz = 0, digits;
	int month;
	size_t save;

	/* [day-of-week ","] - the comma is missing in some old mail */
	save = lx.i;
	if (read_word(&lx, word, sizeof(word)) > 0) {
		if (!is_weekday(word))
			return -1;
		(void)eat_char(&lx, ',');
	} else {
		lx.i = save;
	}
	if (read_number(&lx, &day) == 0 || day < 1 || day > 31)
		return -1;
	if (read_word(&lx, word, sizeof(word)) == 0 ||
	    (month = month_number(word)) == 0)
		return -1;
	digits = read_number(&lx, &year);
	if (digits < 2)
		return -1;
	if (digits == 2)
		year += year < 50 ? 2000 : 1900;
	else if (digits == 3)
		year += 1900;
	if (year < 1900 || year > 9999)
		return -1;
	static const int month_days[12] = {
		31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31
	};
	if (day > month_days[month - 1] ||
	    (month == 2 && day == 29 && !is_leap(year)))
		return -1;

	if (read_number(&lx, &hour) == 0 || hour > 23 || !eat_char(&lx, ':') ||
	    read_number(&lx, &min) == 0 || min > 59)
		return -1;
	if (eat_char(&lx, ':') && (read_number(&lx, &sec) == 0 || sec > 60))
		return -1;

	skip_cfws(&lx);
	if (lx.i < lx.len && (lx.s[lx.i] == '+' || lx.s[lx.i] == '-')) {
		int sign = lx.s[lx.i] == '-' ? -1 : 1, z;
		lx.i++;
		size_t start = lx.i;
		if (read_number(&lx, &z) != 4 || lx.i != start + 4 ||
		    z % 100 > 59)
			return -1;
		tz = sign * (z / 100 * 60 + z % 100);
	} else if (read_word(&lx, word, sizeof(word)) > 0) {
		tz = named_zone(word);
	}
	/* anything after the zone is ignored: there is often junk there */

	long days = days_since_epoch(year, month, day);
	*t_r = (time_t)days * 86400 + hour * 3600 + min * 60 + sec -
		(time_t)tz * 60;
	*tz_min_r = tz;
	return 0;
}

int message_date_r(const char *msg, const struct message_part *root,
		   time_t *t_r, int *tz_min_r)
{
	str_t v = STR_INIT;
	int ret = -1;

	if (message_header_find(msg + root->header_start, root->header_len,
				"Date", &v))
		ret = message_date_parse(str_c(&v), v.len, t_r, tz_min_r);
	str_free(&v);
	return ret;
}
