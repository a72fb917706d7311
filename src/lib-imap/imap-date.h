/* The two date syntaxes of RFC 3501: date-time (INTERNALDATE, APPEND) and
 * date (SEARCH BEFORE/ON/SINCE/...). Parsing is strict about ranges so a
 * date that does not exist (31-Feb) is an error rather than being
 * normalised by timegm() into another day. Month names are matched
 * case-insensitively (ABNF strings are) and without the C locale. */
#ifndef AGORA_IMAP_DATE_H
#define AGORA_IMAP_DATE_H

#include <time.h>

#include "lib/str.h"

/* date-time without its quotes: "17-Jul-1996 02:44:25 -0700"; the day may
 * be " 7", "07" or "7". Sets *t_r to the instant (UTC seconds) and
 * *tz_min_r to the zone offset in minutes (-420 here). Returns 0 or -1. */
int imap_parse_datetime(const char *s, time_t *t_r, int *tz_min_r);
/* date of RFC 3501 SEARCH without quotes: "1-Feb-1994" / "01-Feb-1994";
 * *t_r = that day's 00:00:00 UTC. Returns 0 or -1. */
int imap_parse_date(const char *s, time_t *t_r);
/* Appends date-time without quotes in its fixed-width form,
 * " 7-Jul-1996 02:44:25 -0700" (date-day-fixed pads with a space), showing
 * t in the zone tz_min minutes east of UTC. Zones beyond +-23:59 are
 * clamped; instants outside years 0000-9999 are written as the epoch. */
void imap_format_datetime(str_t *out, time_t t, int tz_min);

#endif
