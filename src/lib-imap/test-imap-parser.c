#include "lib-imap/imap-parser.h"
#include "lib/bounds.h"
#include "lib/pool.h"
#include "lib/test.h"
#include "lib/xalloc.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

TEST_DEFINE_COUNTERS;

/* Appends bytes, showing CR, LF and NUL. */
static void append_visible(str_t *out, const char *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\r')
			str_append(out, "\\r");
		else if (p[i] == '\n')
			str_append(out, "\\n");
		else if (p[i] == '\0')
			str_append(out, "\\0");
		else
			str_append_c(out, p[i]);
	}
}

/* Feeds `len` bytes in pieces of `step`, the way a connection would, and
 * records what the framer said: "L3s" / "L3n" (literal, accepted when at
 * most 1000 bytes, else refused), "T(tag)" (line too long), "C[command]". */
static void frame_with(struct imap_framer *f, const char *in, size_t len, size_t step, str_t *ev)
{
	size_t pos = 0;
	while (pos < len) {
		size_t n = len - pos < step ? len - pos : step;
		size_t done = 0;
		while (done < n) {
			size_t used = 0;
			enum imap_frame_result r = imap_framer_feed(f, in + pos + done, n - done, &used);
			CHECK(used <= n - done);
			done += used;
			str_t tag = STR_INIT;
			switch (r) {
			case IMAP_FRAME_MORE:
				CHECK_INT(done, n);
				break;
			case IMAP_FRAME_LITERAL:
				str_printf(ev, "L%zu%c ", f->lit_size, f->lit_sync ? 's' : 'n');
				if (f->lit_size <= 1000)
					imap_framer_literal_accept(f);
				else
					imap_framer_reset(f);
				break;
			case IMAP_FRAME_LINE_TOO_LONG:
				imap_framer_tag(f, &tag);
				str_printf(ev, "T(%s) ", str_c(&tag));
				break;
			case IMAP_FRAME_COMMAND:
				str_append(ev, "C[");
				append_visible(ev, f->buf.data, f->buf.len);
				str_append(ev, "] ");
				imap_framer_reset(f);
				break;
			}
			str_free(&tag);
		}
		pos += n;
	}
}

static const char *frame(str_t *ev, const char *in, size_t len, size_t step, size_t max_line)
{
	struct imap_framer f;
	imap_framer_init(&f, max_line);
	str_clear(ev);
	frame_with(&f, in, len, step, ev);
	imap_framer_deinit(&f);
	if (ev->len > 0)
		str_truncate(ev, ev->len - 1);
	return str_c(ev);
}

#define FRAME(ev, lit, step) frame(ev, lit, sizeof(lit) - 1, step, 1000)

static void test_framer_pieces(void)
{
	str_t ev = STR_INIT;
	static const char login[] = "a1 LOGIN bob secret\r\n";
	CHECK_STR(FRAME(&ev, login, 1), "C[a1 LOGIN bob secret\\r\\n]");
	CHECK_STR(FRAME(&ev, login, 5), "C[a1 LOGIN bob secret\\r\\n]");
	CHECK_STR(FRAME(&ev, login, 1000), "C[a1 LOGIN bob secret\\r\\n]");
	/* bare LF ends a line too; several commands in one piece */
	static const char two[] = "a NOOP\nb NOOP\r\nc\r\n";
	CHECK_STR(FRAME(&ev, two, 1), "C[a NOOP\\n] C[b NOOP\\r\\n] C[c\\r\\n]");
	CHECK_STR(FRAME(&ev, two, 100), "C[a NOOP\\n] C[b NOOP\\r\\n] C[c\\r\\n]");
	/* nothing complete yet */
	static const char partial[] = "a NOOP";
	CHECK_STR(FRAME(&ev, partial, 2), "");
	str_free(&ev);
}

static void test_framer_literals(void)
{
	str_t ev = STR_INIT;
	static const char sync[] = "a LOGIN {3}\r\nbob {2}\r\npw\r\n";
	for (size_t step = 1; step <= 30; step++)
		CHECK_STR(FRAME(&ev, sync, step), "L3s L2s C[a LOGIN {3}\\r\\nbob {2}\\r\\npw\\r\\n]");
	static const char nonsync[] = "a LOGIN {3+}\r\nbob {2+}\npw\r\n";
	CHECK_STR(FRAME(&ev, nonsync, 1), "L3n L2n C[a LOGIN {3+}\\r\\nbob {2+}\\npw\\r\\n]");
	CHECK_STR(FRAME(&ev, nonsync, 100), "L3n L2n C[a LOGIN {3+}\\r\\nbob {2+}\\npw\\r\\n]");
	static const char lit8[] = "a APPEND INBOX ~{4}\r\nab\r\n\r\n";
	CHECK_STR(FRAME(&ev, lit8, 3), "L4s C[a APPEND INBOX ~{4}\\r\\nab\\r\\n\\r\\n]");
	/* a literal holding NUL, CR and LF is taken by count, not by line */
	static const char bin[] = "a X {7}\r\n\0\r\n{1}\n b\r\n";
	CHECK_STR(FRAME(&ev, bin, 1), "L7s C[a X {7}\\r\\n\\0\\r\\n{1}\\n b\\r\\n]");
	CHECK_STR(FRAME(&ev, bin, 100), "L7s C[a X {7}\\r\\n\\0\\r\\n{1}\\n b\\r\\n]");
	/* an empty literal */
	static const char empty[] = "a X {0}\r\n\r\n";
	CHECK_STR(FRAME(&ev, empty, 1), "L0s C[a X {0}\\r\\n\\r\\n]");
	/* not literals: no digits, a sign, not at the end */
	static const char notlit[] = "a X {abc}\r\nb X {-1}\r\nc X {3} x\r\nd X 3}\r\n";
	CHECK_STR(FRAME(&ev, notlit, 4),
		  "C[a X {abc}\\r\\n] C[b X {-1}\\r\\n] C[c X {3} x\\r\\n] C[d X 3}\\r\\n]");
	/* an absurd size is announced as the largest size_t; refusing it
	 * drops the command and the next one frames normally */
	static const char huge[] = "a X {99999999999999999999}\r\nb NOOP\r\n";
	CHECK_STR(FRAME(&ev, huge, 7), "L18446744073709551615s C[b NOOP\\r\\n]");
	static const char big[] = "a X {1001+}\r\nb NOOP\r\n";
	CHECK_STR(FRAME(&ev, big, 100), "L1001n C[b NOOP\\r\\n]");

	struct imap_framer f;
	size_t used;
	imap_framer_init(&f, 1000);
	static const char huge2[] = "t X {184467440737095516150}\r\n";
	CHECK_INT(imap_framer_feed(&f, huge2, sizeof(huge2) - 1, &used), IMAP_FRAME_LITERAL);
	CHECK(f.lit_size == SIZE_MAX);
	CHECK(f.lit_sync);
	imap_framer_deinit(&f);
	str_free(&ev);
}

static void test_framer_tag_command(void)
{
	struct imap_framer f;
	str_t tag = STR_INIT, cmd = STR_INIT;
	size_t used;
	static const char append[] = "a7 append INBOX (\\Seen) {10}\r\n";
	imap_framer_init(&f, 1000);
	CHECK_INT(imap_framer_feed(&f, append, sizeof(append) - 1, &used), IMAP_FRAME_LITERAL);
	CHECK_INT(used, sizeof(append) - 1);
	CHECK_INT(f.lit_size, 10);
	imap_framer_tag(&f, &tag);
	imap_framer_command(&f, &cmd);
	CHECK_STR(str_c(&tag), "a7");
	CHECK_STR(str_c(&cmd), "APPEND");
	/* after the literal, still the same tag and command */
	imap_framer_literal_accept(&f);
	CHECK_INT(imap_framer_feed(&f, "0123456789 {3}\r\n", 16, &used), IMAP_FRAME_LITERAL);
	imap_framer_tag(&f, &tag);
	imap_framer_command(&f, &cmd);
	CHECK_STR(str_c(&tag), "a7");
	CHECK_STR(str_c(&cmd), "APPEND");
	imap_framer_reset(&f);

	/* nothing yet */
	imap_framer_tag(&f, &tag);
	imap_framer_command(&f, &cmd);
	CHECK_STR(str_c(&tag), "*");
	CHECK_STR(str_c(&cmd), "");

	static const struct { const char *in, *tag, *cmd; } cases[] = {
		{ " X {1}\r\n", "*", "" },
		{ "a+b X {1}\r\n", "*", "X" },
		{ "a*b X {1}\r\n", "*", "X" },
		{ "a\"b X {1}\r\n", "*", "X" },
		{ "a(b X {1}\r\n", "*", "X" },
		{ "a%b X {1}\r\n", "*", "X" },
		{ "a\\b X {1}\r\n", "*", "X" },
		{ "\x01 X {1}\r\n", "*", "X" },
		{ "\xc3\xa9 X {1}\r\n", "*", "X" },
		{ "tag {1}\r\n", "tag", "{1}" },
		{ "x search {1}\r\n", "x", "SEARCH" },
		{ "x.1 uid search {1}\r\n", "x.1", "UID" },
		{ "01234567890123456789012345678901234567890123456789012345678901234 X {1}\r\n", "*", "X" },
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		imap_framer_reset(&f);
		CHECK_INT(imap_framer_feed(&f, cases[i].in, strlen(cases[i].in), &used), IMAP_FRAME_LITERAL);
		imap_framer_tag(&f, &tag);
		imap_framer_command(&f, &cmd);
		CHECK_STR(str_c(&tag), cases[i].tag);
		CHECK_STR(str_c(&cmd), cases[i].cmd);
	}
	imap_framer_deinit(&f);
	str_free(&tag);
	str_free(&cmd);
}

static void test_framer_too_long(void)
{
	str_t ev = STR_INIT;
	/* a line of exactly max_line bytes (CRLF not counted) is fine */
	static const char exact[] = "a NOOP 0123456789xx\r\n"; /* 19 + CRLF */
	CHECK_STR(frame(&ev, exact, sizeof(exact) - 1, 1, 19), "C[a NOOP 0123456789xx\\r\\n]");
	CHECK_STR(frame(&ev, exact, sizeof(exact) - 1, 100, 19), "C[a NOOP 0123456789xx\\r\\n]");
	/* one byte more is too long: reported once, with the tag, the rest of
	 * the line is skipped, the next command frames */
	static const char over[] = "a1 NOOP 0123456789xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\r\nb NOOP\r\n";
	for (size_t step = 1; step <= sizeof(over); step++)
		CHECK_STR(frame(&ev, over, sizeof(over) - 1, step, 20), "T(a1) C[b NOOP\\r\\n]");
	/* bare LF */
	static const char overlf[] = "a1 NOOP 0123456789xxxxxxxxxxxxxxxxxxxxx\nb NOOP\n";
	CHECK_STR(frame(&ev, overlf, sizeof(overlf) - 1, 100, 20), "T(a1) C[b NOOP\\n]");
	/* max_line is for each line: a long command in short lines is fine */
	static const char lines[] = "a X {3}\r\nabc {3}\r\ndef {3}\r\nghi\r\n";
	CHECK_STR(frame(&ev, lines, sizeof(lines) - 1, 5, 10),
		  "L3s L3s L3s C[a X {3}\\r\\nabc {3}\\r\\ndef {3}\\r\\nghi\\r\\n]");
	/* an overlong line after a literal drops the whole command */
	static const char after[] = "a X {3}\r\nabc 012345678901234567890\r\nb NOOP\r\n";
	CHECK_STR(frame(&ev, after, sizeof(after) - 1, 100, 10), "L3s T(a) C[b NOOP\\r\\n]");
	CHECK_STR(frame(&ev, after, sizeof(after) - 1, 1, 10), "L3s T(a) C[b NOOP\\r\\n]");
	/* a huge line in one piece */
	size_t n = IMAP_MAX_LINE + 100;
	char *huge = xmalloc(n + 20);
	memcpy(huge, "t9 NOOP ", 8);
	memset(huge + 8, 'x', n - 8);
	memcpy(huge + n, "\r\nu NOOP\r\n", 10);
	CHECK_STR(frame(&ev, huge, n + 10, n + 10, IMAP_MAX_LINE), "T(t9) C[u NOOP\\r\\n]");
	CHECK_STR(frame(&ev, huge, n + 10, 4096, IMAP_MAX_LINE), "T(t9) C[u NOOP\\r\\n]");
	free(huge);
	str_free(&ev);
}

/* ------------------------------------------------------------ parser */

static void dump_args(const struct imap_arg *a, size_t n, str_t *out)
{
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			str_append_c(out, ' ');
		switch (a[i].type) {
		case IMAP_ARG_ATOM:
			CHECK_INT(strlen(a[i].str), a[i].len);
			append_visible(out, a[i].str, a[i].len);
			break;
		case IMAP_ARG_STRING:
			CHECK_INT(strlen(a[i].str), a[i].len);
			str_append_c(out, '"');
			append_visible(out, a[i].str, a[i].len);
			str_append_c(out, '"');
			break;
		case IMAP_ARG_LITERAL:
			CHECK(a[i].str[a[i].len] == '\0');
			str_printf(out, "%s{%zu}", a[i].literal8 ? "~" : "", a[i].len);
			append_visible(out, a[i].str, a[i].len);
			break;
		case IMAP_ARG_LIST:
			str_append_c(out, '(');
			dump_args(a[i].list, a[i].count, out);
			str_append_c(out, ')');
			break;
		}
	}
}

static struct pool *pool;

/* Parses exactly `len` bytes (in a buffer of that size, so a read past the
 * end shows under ASan): "tag NAME args" or "ERR message". */
static const char *parse_n(str_t *out, const char *text, size_t len)
{
	char *buf = xmalloc(len > 0 ? len : 1);
	memcpy(buf, text, len);
	struct imap_command cmd;
	const char *error = NULL;
	pool_clear(pool);
	str_clear(out);
	if (imap_parse_command(buf, len, pool, &cmd, &error) < 0) {
		CHECK(error != NULL);
		str_printf(out, "ERR %s", error != NULL ? error : "(none)");
	} else {
		str_printf(out, "%s %s", cmd.tag, cmd.name);
		if (cmd.nargs > 0)
			str_append_c(out, ' ');
		dump_args(cmd.args, cmd.nargs, out);
	}
	free(buf);
	return str_c(out);
}

static const char *parse(str_t *out, const char *text)
{
	return parse_n(out, text, strlen(text));
}

#define PARSE_OK(text, want) CHECK_STR(parse(&out, text), want)
#define PARSE_ERR(text, msg) CHECK_STR(parse(&out, text), "ERR " msg)

static void test_parser_basics(void)
{
	str_t out = STR_INIT;
	PARSE_OK("a1 NOOP\r\n", "a1 NOOP");
	PARSE_OK("a1 noop\r\n", "a1 NOOP");
	PARSE_OK("a1 NOOP\n", "a1 NOOP");
	PARSE_OK("a LOGIN bob secret\r\n", "a LOGIN bob secret");
	PARSE_OK("a]1 NOOP\r\n", "a]1 NOOP");	/* RFC 3501: ']' is a tag character */
	PARSE_OK("A.b-c_9 NOOP\r\n", "A.b-c_9 NOOP");
	/* atoms: flags, numbers, sets, NIL; 8-bit bytes are left to the commands */
	PARSE_OK("a STORE 1:*,3 +FLAGS.SILENT \\Seen\r\n", "a STORE 1:*,3 +FLAGS.SILENT \\Seen");
	PARSE_OK("a X NIL nil 0 \xc3\xa9t\xe9\r\n", "a X NIL nil 0 \xc3\xa9t\xe9");
	/* quoted strings and their two escapes */
	PARSE_OK("a LOGIN \"b\\\"ob\" \"p\\\\w\"\r\n", "a LOGIN \"b\"ob\" \"p\\w\"");
	PARSE_OK("a LOGIN \"\" \"with space\"\r\n", "a LOGIN \"\" \"with space\"");
	PARSE_OK("a X \"(){}%*]\"\r\n", "a X \"(){}%*]\"");
	PARSE_ERR("a LOGIN \"b\\ob\" x\r\n", "Invalid escape in quoted string");
	PARSE_ERR("a LOGIN \"b\\", "Invalid escape in quoted string");
	PARSE_ERR("a LOGIN \"bob\r\n", "Invalid character in quoted string");
	PARSE_ERR("a LOGIN \"bob\n", "Invalid character in quoted string");
	PARSE_ERR("a LOGIN \"bob", "Unterminated quoted string");
	CHECK_STR(parse_n(&out, "a LOGIN \"b\0b\" x\r\n", 17), "ERR Invalid character in quoted string");
	/* NUL in an atom */
	CHECK(strncmp(parse_n(&out, "a LOGIN b\0b x\r\n", 15), "ERR ", 4) == 0);
	str_free(&out);
}

static void test_parser_nil(void)
{
	char buf[] = "a X NIL nil \"NIL\" NILS\r\n";
	struct imap_command cmd;
	const char *error;
	pool_clear(pool);
	CHECK_INT(imap_parse_command(buf, strlen(buf), pool, &cmd, &error), 0);
	CHECK_INT(cmd.nargs, 4);
	CHECK(imap_arg_is_nil(&cmd.args[0]));
	CHECK(imap_arg_is_nil(&cmd.args[1]));
	CHECK(!imap_arg_is_nil(&cmd.args[2]));	/* a string, not NIL */
	CHECK(!imap_arg_is_nil(&cmd.args[3]));
	CHECK(imap_arg_is_string(&cmd.args[2]));
	CHECK(imap_arg_is_atom(&cmd.args[3], "nils"));
}

static void test_parser_lists(void)
{
	str_t out = STR_INIT;
	PARSE_OK("a X (A (B C) ())\r\n", "a X (A (B C) ())");
	PARSE_OK("a X () ((()))\r\n", "a X () ((()))");
	PARSE_OK("a STATUS INBOX (MESSAGES UNSEEN)\r\n", "a STATUS INBOX (MESSAGES UNSEEN)");
	PARSE_ERR("a X (A B\r\n", "Missing ')'");
	PARSE_ERR("a X ((A) B\r\n", "Missing ')'");
	PARSE_ERR("a X (A", "Missing ')'");
	PARSE_ERR("a X A)\r\n", "Unexpected ')'");
	PARSE_ERR("a X )\r\n", "Unexpected character");
	PARSE_ERR("a X (A) )\r\n", "Unexpected character");
	PARSE_ERR("a X (A)(B)\r\n", "Missing space between arguments");
	PARSE_ERR("a X ( A)\r\n", "Unexpected space");

	/* IMAP_MAX_LIST_DEPTH levels are fine, one more is refused */
	str_t cmd = STR_INIT, want = STR_INIT;
	for (int depth = IMAP_MAX_LIST_DEPTH; depth <= IMAP_MAX_LIST_DEPTH + 1; depth++) {
		str_clear(&cmd);
		str_clear(&want);
		str_append(&cmd, "a X ");
		for (int i = 0; i < depth; i++)
			str_append_c(&cmd, '(');
		str_append(&cmd, "A");
		for (int i = 0; i < depth; i++)
			str_append_c(&cmd, ')');
		str_append(&want, "a X ");
		str_append(&want, cmd.data + 4);
		str_append(&cmd, "\r\n");
		if (depth <= IMAP_MAX_LIST_DEPTH)
			CHECK_STR(parse(&out, str_c(&cmd)), str_c(&want));
		else
			CHECK_STR(parse(&out, str_c(&cmd)), "ERR Too deeply nested parentheses");
	}
	/* very deep nesting fails cleanly, without recursing 100000 levels */
	str_clear(&cmd);
	str_append(&cmd, "a X ");
	for (int i = 0; i < 100000; i++)
		str_append_c(&cmd, '(');
	str_append(&cmd, "\r\n");
	CHECK_STR(parse(&out, str_c(&cmd)), "ERR Too deeply nested parentheses");
	str_free(&cmd);
	str_free(&want);
	str_free(&out);
}

static void test_parser_sections(void)
{
	str_t out = STR_INIT;
	PARSE_OK("a FETCH 1 BODY[HEADER.FIELDS (A B)]<0.10>\r\n",
		 "a FETCH 1 BODY[HEADER.FIELDS (A B)]<0.10>");
	PARSE_OK("a FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS.NOT (From To)] BODY[1.2.MIME] BODY[])\r\n",
		 "a FETCH 1 (FLAGS BODY.PEEK[HEADER.FIELDS.NOT (From To)] BODY[1.2.MIME] BODY[])");
	PARSE_OK("a FETCH 1 BINARY[1]<0.5>\r\n", "a FETCH 1 BINARY[1]<0.5>");

	char buf[] = "a FETCH 1 (BODY[HEADER.FIELDS (A B)]<0.10> UID)\r\n";
	struct imap_command cmd;
	const char *error;
	pool_clear(pool);
	CHECK_INT(imap_parse_command(buf, strlen(buf), pool, &cmd, &error), 0);
	CHECK_INT(cmd.nargs, 2);
	CHECK_INT(cmd.args[1].type, IMAP_ARG_LIST);
	CHECK_INT(cmd.args[1].count, 2);
	CHECK_INT(cmd.args[1].list[0].type, IMAP_ARG_ATOM);
	CHECK_STR(cmd.args[1].list[0].str, "BODY[HEADER.FIELDS (A B)]<0.10>");

	PARSE_ERR("a FETCH 1 BODY[HEADER\r\n", "Missing ']'");
	PARSE_ERR("a FETCH 1 BODY[HEADER.FIELDS (A B)\r\n", "Missing ']'");
	PARSE_ERR("a FETCH 1 (BODY[TEXT)\r\n", "Missing ']'");
	PARSE_ERR("a FETCH 1 BODY]\r\n", "Missing space between arguments");
	str_free(&out);
}

static void test_parser_literals(void)
{
	str_t out = STR_INIT;
	PARSE_OK("a LOGIN {3}\r\nbob {2}\r\npw\r\n", "a LOGIN {3}bob {2}pw");
	PARSE_OK("a LOGIN {3+}\r\nbob {2+}\npw\n", "a LOGIN {3}bob {2}pw");
	PARSE_OK("a APPEND INBOX ~{3}\r\nabc\r\n", "a APPEND INBOX ~{3}abc");
	PARSE_OK("a X {0}\r\n\r\n", "a X {0}");
	PARSE_OK("a X ({1}\r\n) {1}\r\n()\r\n", "a X ({1}) {1}()");
	CHECK_STR(parse_n(&out, "a X {6}\r\n\0\r\n\"(\n\r\n", 17), "a X {6}\\0\\r\\n\"(\\n");
	PARSE_ERR("a X {abc}\r\n", "Invalid literal");
	PARSE_ERR("a X {-1}\r\n", "Invalid literal");
	PARSE_ERR("a X {}\r\n", "Invalid literal");
	PARSE_ERR("a X {3\r\n", "Invalid literal");
	PARSE_ERR("a X {99999999999999999999}\r\nx\r\n", "Literal size too large");
	PARSE_ERR("a X {3} x\r\nabc\r\n", "Literal must end the line");
	PARSE_ERR("a X {6}\r\nabc\r\n", "Literal shorter than announced");
	PARSE_ERR("a X {3}\r\nabcd\r\n", "Missing space between arguments");
	PARSE_ERR("a X ~{3}", "Literal must end the line");

	/* a literal longer than any copy limit is NUL-terminated too, and what
	 * follows it still parses */
	size_t n = 10000;
	str_t cmd = STR_INIT;
	str_printf(&cmd, "a SEARCH TEXT {%zu}\r\n", n);
	for (size_t i = 0; i < n; i++)
		str_append_c(&cmd, 'x');
	str_append(&cmd, " ALL (FLAGGED {2}\r\nab)\r\n");
	char *buf = xmalloc(cmd.len);
	memcpy(buf, cmd.data, cmd.len);
	struct imap_command c;
	const char *error;
	pool_clear(pool);
	CHECK_INT(imap_parse_command(buf, cmd.len, pool, &c, &error), 0);
	CHECK_INT(c.nargs, 4);
	CHECK_INT(c.args[1].type, IMAP_ARG_LITERAL);
	CHECK_INT(c.args[1].len, n);
	CHECK_INT(strlen(c.args[1].str), n);
	CHECK_STR(c.args[2].str, "ALL");
	CHECK_INT(c.args[3].type, IMAP_ARG_LIST);
	CHECK_INT(c.args[3].count, 2);
	CHECK_STR(c.args[3].list[1].str, "ab");
	/* ... also when it is last, or inside a list */
	str_clear(&cmd);
	str_printf(&cmd, "a X ({%zu}\r\n", n);
	for (size_t i = 0; i < n; i++)
		str_append_c(&cmd, 'y');
	str_append(&cmd, ") {5000}\r\n");
	for (size_t i = 0; i < 5000; i++)
		str_append_c(&cmd, 'z');
	str_append(&cmd, "\n");
	free(buf);
	buf = xmalloc(cmd.len);
	memcpy(buf, cmd.data, cmd.len);
	pool_clear(pool);
	CHECK_INT(imap_parse_command(buf, cmd.len, pool, &c, &error), 0);
	CHECK_INT(c.nargs, 2);
	CHECK_INT(c.args[0].count, 1);
	CHECK_INT(strlen(c.args[0].list[0].str), n);
	CHECK_INT(strlen(c.args[1].str), 5000);
	free(buf);
	str_free(&cmd);
	str_free(&out);
}

static void test_parser_errors(void)
{
	str_t out = STR_INIT;
	PARSE_ERR("\r\n", "Missing or invalid tag");
	PARSE_ERR("", "Missing or invalid tag");
	PARSE_ERR(" NOOP\r\n", "Missing or invalid tag");
	PARSE_ERR("NOOP\r\n", "Missing command");
	PARSE_ERR("a\r\n", "Missing command");
	PARSE_ERR("a \r\n", "Missing command");
	PARSE_ERR("a  NOOP\r\n", "Missing command");
	PARSE_ERR("a NOOP", "Missing CRLF");
	PARSE_ERR("a NOOP ", "Missing CRLF");
	PARSE_ERR("a NOOP x", "Missing CRLF");
	/* tags with characters RFC 3501 does not allow there */
	static const char *const bad_tags[] = {
		"+ NOOP\r\n", "a+ NOOP\r\n", "a* NOOP\r\n", "a% NOOP\r\n", "a\\ NOOP\r\n",
		"a\" NOOP\r\n", "a( NOOP\r\n", "a) NOOP\r\n", "a{ NOOP\r\n", "a\x01 NOOP\r\n",
		"a\x7f NOOP\r\n", "* NOOP\r\n", "\xff NOOP\r\n", "a\xc3\xa9 NOOP\r\n",
	};
	for (size_t i = 0; i < sizeof(bad_tags) / sizeof(bad_tags[0]); i++)
		CHECK(strncmp(parse(&out, bad_tags[i]), "ERR ", 4) == 0);
	/* spacing */
	PARSE_ERR("a NOOP \r\n", "Unexpected space");
	PARSE_ERR("a LOGIN a  b\r\n", "Unexpected space");
	PARSE_ERR("a LOGIN a b \r\n", "Unexpected space");
	PARSE_ERR("a LOGIN\ta b\r\n", "Missing space between arguments");
	/* garbage after the command */
	PARSE_ERR("a NOOP\r\nb NOOP\r\n", "Garbage after command");
	PARSE_ERR("a NOOP\rX\n", "Garbage after command");
	PARSE_ERR("a NOOP\r", "Garbage after command");
	PARSE_ERR("a NOOP\"x\"\r\n", "Missing space between arguments");
	PARSE_ERR("a X \"x\"y\r\n", "Missing space between arguments");
	str_free(&out);
}

static void test_parser_max_args(void)
{
	str_t cmd = STR_INIT, out = STR_INIT;
	for (int n = IMAP_MAX_ARGS; n <= IMAP_MAX_ARGS + 1; n++) {
		str_clear(&cmd);
		str_append(&cmd, "a X");
		for (int i = 0; i < n; i++)
			str_append(&cmd, " A");
		str_append(&cmd, "\r\n");
		if (n <= IMAP_MAX_ARGS)
			CHECK(strncmp(parse(&out, str_c(&cmd)), "a X A A", 7) == 0);
		else
			CHECK_STR(parse(&out, str_c(&cmd)), "ERR Too many arguments");
	}
	/* arguments inside lists count too (a list is one itself) */
	str_clear(&cmd);
	str_append(&cmd, "a X (");
	for (int i = 0; i < IMAP_MAX_ARGS; i++)
		str_append(&cmd, i > 0 ? " A" : "A");
	str_append(&cmd, ")\r\n");
	CHECK_STR(parse(&out, str_c(&cmd)), "ERR Too many arguments");
	str_free(&cmd);
	str_free(&out);
}

/* Framer and parser together: a command fed byte by byte, literals
 * accepted, parses to what was sent. */
static void test_framer_then_parser(void)
{
	static const char in[] = "z1 LOGIN {5}\r\na\0b\"c {4+}\r\n\r\n\r\n\r\n";
	struct imap_framer f;
	imap_framer_init(&f, 100);
	size_t used, literals = 0, commands = 0;
	for (size_t i = 0; i < sizeof(in) - 1; i++) {
		enum imap_frame_result r = imap_framer_feed(&f, in + i, 1, &used);
		CHECK_INT(used, 1);
		if (r == IMAP_FRAME_LITERAL) {
			literals++;
			imap_framer_literal_accept(&f);
		} else if (r == IMAP_FRAME_COMMAND) {
			commands++;
			struct imap_command cmd;
			const char *error;
			pool_clear(pool);
			CHECK_INT(imap_parse_command(f.buf.data, f.buf.len, pool, &cmd, &error), 0);
			CHECK_STR(cmd.tag, "z1");
			CHECK_STR(cmd.name, "LOGIN");
			CHECK_INT(cmd.nargs, 2);
			CHECK_INT(cmd.args[0].len, 5);
			CHECK(memcmp(cmd.args[0].str, "a\0b\"c", 5) == 0);
			CHECK_INT(cmd.args[1].len, 4);
			CHECK(memcmp(cmd.args[1].str, "\r\n\r\n", 4) == 0);
		} else {
			CHECK_INT(r, IMAP_FRAME_MORE);
		}
	}
	CHECK_INT(literals, 2);
	CHECK_INT(commands, 1);
	imap_framer_deinit(&f);
}

int main(void)
{
	pool = pool_new(1024);
	test_framer_pieces();
	test_framer_literals();
	test_framer_tag_command();
	test_framer_too_long();
	test_parser_basics();
	test_parser_nil();
	test_parser_lists();
	test_parser_sections();
	test_parser_literals();
	test_parser_errors();
	test_parser_max_args();
	test_framer_then_parser();
	pool_free(&pool);
	return test_summary("imap-parser");
}
