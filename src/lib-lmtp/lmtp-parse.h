/* LMTP/SMTP command and address parsing (RFC 5321, RFC 2033, RFC 3030):
 * pure functions, no I/O, used by the LMTP server and `agora deliver`,
 * and fuzzed by tests/fuzz/fuzz-lmtp.c. */
#ifndef AGORA_LMTP_PARSE_H
#define AGORA_LMTP_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/str.h"

/* Splits a command line in place: NUL-terminates the verb and returns the
 * argument (after the first space; "" when there is none). */
char *lmtp_command_split(char *line);

/* "<addr>" after optional spaces, with parameters after it: returns the
 * address (malloc'd; a source route "@a,@b:" dropped) and points
 * *params_r after the '>', or NULL when malformed (no brackets, a control
 * character or a space in the address). */
char *lmtp_parse_path(const char *arg, const char **params_r);

/* The MAIL FROM parameters this server looks at (RFC 1870 SIZE, RFC 6152
 * BODY, RFC 6531 SMTPUTF8); unknown ones are ignored. */
struct lmtp_mail_params {
	long long size;      /* -1 when not given */
	char body[16];       /* "" when not given, else as sent */
	bool smtputf8;
};
void lmtp_parse_mail_params(const char *params, struct lmtp_mail_params *out);

/* "n" or "n LAST" (LAST in any case, spaces between): 0, or -1 when
 * malformed (no digits first, trailing junk, n above SIZE_MAX / 2). */
int lmtp_parse_bdat(const char *arg, size_t *size_r, bool *last_r);

/* A line of DATA as read, ending in CRLF (the caller puts it back when the
 * client sent a bare LF). Returns true for the terminating ".\r\n";
 * otherwise removes the leading dot of a dot-stuffed line (RFC 5321
 * 4.5.2) by moving *line and *len. */
bool lmtp_data_line(const char **line, size_t *len);

/* Appends data to out with every bare LF made CRLF (BDAT carries the
 * message as it is). */
void lmtp_crlf_normalise(const char *data, size_t len, str_t *out);

/* Splits "local[+detail][@domain]" (the last '@' starts the domain, the
 * first '+' of the local part the detail). Returns -1 when the local part
 * is empty or longer than `max_local`; else 0 with the local part (without
 * the detail) and the detail (NULL when there is no '+'), both malloc'd. */
int lmtp_address_split(const char *address, size_t max_local, char **local_r, char **detail_r);

#endif
