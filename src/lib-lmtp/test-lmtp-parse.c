#include "lib-lmtp/lmtp-parse.h"
#include "lib/test.h"

#include <stdint.h>
#include <stdlib.h>

TEST_DEFINE_COUNTERS;

static const char *path(const char *arg, const char **params)
{
	static char *last;
	free(last);
	last = lmtp_parse_path(arg, params);
	return last;
}

int main(void)
{
	const char *params = NULL;
	CHECK_STR(path("<bob@example.com> SIZE=10", &params), "bob@example.com");
	CHECK_STR(params, " SIZE=10");
	CHECK_STR(path("  <>", &params), "");
	CHECK_STR(path("<@a,@b:bob@example.com>", &params), "bob@example.com");
	CHECK(path("bob@example.com", &params) == NULL);
	CHECK(path("<bob@example.com", &params) == NULL);
	CHECK(path("<bob @example.com>", &params) == NULL);
	CHECK(path("<bob\t@example.com>", &params) == NULL);

	struct lmtp_mail_params mp;
	lmtp_parse_mail_params(" SIZE=1999 BODY=8BITMIME smtputf8", &mp);
	CHECK_INT(mp.size, 1999);
	CHECK_STR(mp.body, "8BITMIME");
	CHECK(mp.smtputf8);
	lmtp_parse_mail_params("", &mp);
	CHECK_INT(mp.size, -1);
	CHECK_STR(mp.body, "");
	CHECK(!mp.smtputf8);
	lmtp_parse_mail_params(" size=99999999999999999999999", &mp);
	CHECK_INT(mp.size, INT64_MAX);
	lmtp_parse_mail_params(" SIZE=12x XSIZE=5 SIZE= BODY=", &mp);
	CHECK_INT(mp.size, -1);

	size_t n;
	bool last;
	CHECK_INT(lmtp_parse_bdat("100", &n, &last), 0);
	CHECK_INT(n, 100);
	CHECK(!last);
	CHECK_INT(lmtp_parse_bdat("0  last", &n, &last), 0);
	CHECK_INT(n, 0);
	CHECK(last);
	CHECK_INT(lmtp_parse_bdat("ten LAST", &n, &last), -1);
	CHECK_INT(lmtp_parse_bdat("10 LASTX", &n, &last), -1);
	CHECK_INT(lmtp_parse_bdat("-1", &n, &last), -1);
	CHECK_INT(lmtp_parse_bdat("99999999999999999999999", &n, &last), -1);

	const char *line = "..x\r\n";
	size_t len = 5;
	CHECK(!lmtp_data_line(&line, &len));
	CHECK_INT(len, 4);
	CHECK(memcmp(line, ".x\r\n", 4) == 0);
	line = ".\r\n";
	len = 3;
	CHECK(lmtp_data_line(&line, &len));

	str_t out = STR_INIT;
	lmtp_crlf_normalise("\na\r\nb\n\n", 7, &out);
	CHECK_STR(str_c(&out), "\r\na\r\nb\r\n\r\n");
	str_free(&out);

	char *local, *detail;
	CHECK_INT(lmtp_address_split("bob+Lists+x@a@example.com", 100, &local, &detail), 0);
	CHECK_STR(local, "bob");
	CHECK_STR(detail, "Lists+x@a");
	free(local);
	free(detail);
	CHECK_INT(lmtp_address_split("bob", 100, &local, &detail), 0);
	CHECK_STR(local, "bob");
	CHECK(detail == NULL);
	free(local);
	CHECK_INT(lmtp_address_split("@example.com", 100, &local, &detail), -1);
	CHECK_INT(lmtp_address_split("bobby@x", 4, &local, &detail), -1);

	char cmd[] = "MAIL FROM:<a> SIZE=1";
	CHECK_STR(lmtp_command_split(cmd), "FROM:<a> SIZE=1");
	CHECK_STR(cmd, "MAIL");
	char cmd2[] = "DATA";
	CHECK_STR(lmtp_command_split(cmd2), "");
	return test_summary("lmtp-parse");
}
