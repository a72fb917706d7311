#include "lib-imap/imap-date.h"

#include <stdbool.h>
#include <stdint.h>

/* Years up to 9999 and before 1970 need a 64-bit time_t. */
_Static_assert(sizeof(time_t) >= 8, "time_t must be 64 bits");

static const char month_names[12][4] = {
	"Jan", "Feb", "Mar", "Apr", "May", "Jun",
	"Jul", "Aug", "Sep", "Oct", "Nov", "Dec"
};

#define MAX_ZONE_MIN (23 * 60 + 59)

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/* ASCII-only lower-casing: tolower() would depend on the locale. */
static char ascii_lower(char c)
{
	return c >= 'A' && c <= 'Z' ? (char)(c - 'A' + 'a') : c;
}

static bool is_leap(int year)
{
	return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

static int days_in_month(int month, int year)
{
	static const int days[12] = { 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31 };
	return month == 1 && is_leap(year) ? 29 : days[month];
}

/* Reads exactly n digits. */
static bool read_digits(const char **p, int n, int *value_r)
{
	int v = 0;

	for (int i = 0; i < n; i++) {
		if (!is_digit((*p)[i]))
			return false;
		v = v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	*value_r = v;
	return true;
}

/* "-Mon-yyyy" after the day, which the caller has read. Returns month 0-11
 * in *month_r. */
static bool read_month_year(const char **p, int *month_r, int *year_r)
{
	const char *s = *p;

	if (*s++ != '-')
		return false;
	*month_r = -1;
	for (int m = 0; m < 12; m++) {
		if (ascii_lower(s[0]) == ascii_lower(month_names[m][0]) &&
		    ascii_lower(s[1]) == ascii_lower(month_names[m][1]) &&
		    ascii_lower(s[2]) == ascii_lower(month_names[m][2])) {
			*month_r = m;
			break;
		}
	}
	/* s[0..2] are safe to read: a NUL stops the comparison chain above
	 * before it reads past it, since no month name contains NUL. */
	if (*month_r < 0)
		return false;
	s += 3;
	if (*s++ != '-')
		return false;
	if (!read_digits(&s, 4, year_r))
		return false;
	*p = s;
	return true;
}

static time_t to_time(int year, int month, int day, int hour, int min, int sec)
{
	struct tm tm = { 0 };

	tm.tm_year = year - 1900;
	tm.tm_mon = month;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec;
	/* Every field has been range-checked and time_t is 64 bits, so this
	 * cannot fail; its -1 is a real instant (1969-12-31 23:59:59). */
	return timegm(&tm);
}

int imap_parse_date(const char *s, time_t *t_r)
{
	int day, month, year;

	/* date-day = 1*2DIGIT */
	if (!is_digit(s[0]))
		return -1;
	if (is_digit(s[1])) {
		day = (s[0] - '0') * 10 + (s[1] - '0');
		s += 2;
	} else {
		day = s[0] - '0';
		s += 1;
	}
	if (!read_month_year(&s, &month, &year) || *s != '\0')
		return -1;
	if (day < 1 || day > days_in_month(month, year))
		return -1;
	*t_r = to_time(year, month, day, 0, 0, 0);
	return 0;
}

int imap_parse_datetime(const char *s, time_t *t_r, int *tz_min_r)
{
	int day, month, year, hour, min, sec, zh, zm;

	/* date-day-fixed = (SP DIGIT) / 2DIGIT; a bare single digit is
	 * accepted too, as clients send it. */
	if (s[0] == ' ' && is_digit(s[1])) {
		day = s[1] - '0';
		s += 2;
	} else if (is_digit(s[0]) && is_digit(s[1])) {
		day = (s[0] - '0') * 10 + (s[1] - '0');
		s += 2;
	} else if (is_digit(s[0])) {
		day = s[0] - '0';
		s += 1;
	} else {
		return -1;
	}
	if (!read_month_year(&s, &month, &year))
		return -1;
	if (day < 1 || day > days_in_month(month, year))
		return -1;

	if (*s++ != ' ' || !read_digits(&s, 2, &hour) || *s++ != ':' ||
	    !read_digits(&s, 2, &min) || *s++ != ':' ||
	    !read_digits(&s, 2, &sec) || *s++ != ' ')
		return -1;
	/* 60 is a leap second; timegm() carries it into the next minute. */
	if (hour > 23 || min > 59 || sec > 60)
		return -1;

	char sign = *s++;
	if ((sign != '+' && sign != '-') || !read_digits(&s, 2, &zh) ||
	    !read_digits(&s, 2, &zm) || *s != '\0')
		return -1;
	if (zh > 23 || zm > 59)
		return -1;
	int tz = zh * 60 + zm;
	if (sign == '-')
		tz = -tz;

	/* The local time minus the zone's offset is UTC. */
	*t_r = to_time(year, month, day, hour, min, sec) - (time_t)tz * 60;
	*tz_min_r = tz;
	return 0;
}

void imap_format_datetime(str_t *out, time_t t, int tz_min)
{
	struct tm tm;
	bool ok;

	if (tz_min > MAX_ZONE_MIN)
		tz_min = MAX_ZONE_MIN;
	else if (tz_min < -MAX_ZONE_MIN)
		tz_min = -MAX_ZONE_MIN;

	/* The wire format has four year digits; an instant outside them (or
	 * too large to shift by the zone) cannot be written faithfully. */
	time_t shift = (time_t)tz_min * 60;
	ok = !__builtin_add_overflow(t, shift, &t) && gmtime_r(&t, &tm) != NULL &&
		tm.tm_year >= -1900 && tm.tm_year <= 9999 - 1900;
	if (!ok) {
		t = 0;
		tz_min = 0;
		gmtime_r(&t, &tm);
	}
	int az = tz_min < 0 ? -tz_min : tz_min;
	str_printf(out, "%2d-%s-%04d %02d:%02d:%02d %c%02d%02d",
		   tm.tm_mday, month_names[tm.tm_mon], tm.tm_year + 1900,
		   tm.tm_hour, tm.tm_min, tm.tm_sec,
		   tz_min < 0 ? '-' : '+', az / 60, az % 60);
}
