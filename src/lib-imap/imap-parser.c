#include "lib-imap/imap-parser.h"
#include "lib/bounds.h"
#include "lib/pool.h"
#include "lib/xalloc.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

void imap_framer_init(struct imap_framer *f, size_t max_line)
{
	memset(f, 0, sizeof(*f));
	f->max_line = max_line;
}

void imap_framer_deinit(struct imap_framer *f)
{
	str_free(&f->buf);
}

void imap_framer_reset(struct imap_framer *f)
{
	str_clear(&f->buf);
	f->line_start = 0;
	f->literal_left = 0;
	f->literal_total = 0;
	f->pending_literal = false;
	f->discarding = false;
}

/* When the line that just ended ("...{123}\r\n" or "{123+}") announces a
 * literal, returns true with its size. */
static bool line_literal(const char *line, size_t len, size_t *size_r, bool *sync_r)
{
	/* strip CRLF / LF */
	if (len > 0 && line[len - 1] == '\n')
		len--;
	if (len > 0 && line[len - 1] == '\r')
		len--;
	if (len < 3 || line[len - 1] != '}')
		return false;
	size_t end = len - 1;
	bool sync = true;
	if (line[end - 1] == '+') {
		sync = false;
		end--;
	}
	size_t start = end;
	while (start > 0 && isdigit((unsigned char)line[start - 1]))
		start--;
	if (start == end || start == 0 || line[start - 1] != '{')
		return false;
	if (end - start > 18)
		*size_r = (size_t)-1; /* absurd: refused by every limit */
	else {
		size_t n = 0;
		for (size_t i = start; i < end; i++)
			n = n * 10 + (size_t)(line[i] - '0');
		*size_r = n;
	}
	*sync_r = sync;
	return true;
}

enum imap_frame_result imap_framer_feed(struct imap_framer *f, const char *data, size_t len,
					size_t *used_r)
{
	size_t used = 0;
	while (used < len) {
		if (f->literal_left > 0) {
			size_t n = len - used < f->literal_left ? len - used : f->literal_left;
			str_append_n(&f->buf, data + used, n);
			used += n;
			f->literal_left -= n;
			if (f->literal_left == 0)
				f->line_start = f->buf.len;
			continue;
		}
		const char *nl = memchr(data + used, '\n', len - used);
		size_t chunk = nl != NULL ? (size_t)(nl - (data + used)) + 1 : len - used;
		if (f->discarding) {
			used += chunk;
			if (nl != NULL) {
				f->discarding = false;
				imap_framer_reset(f);
			}
			continue;
		}
		if (f->buf.len - f->line_start + chunk > f->max_line + 2) {
			/* Keep the start of the line, so that imap_framer_tag()
			 * still finds the tag; the rest of the line, through
			 * its LF, is skipped by the next calls, which then
			 * reset the framer. */
			size_t room = f->max_line + 2 - (f->buf.len - f->line_start);
			str_append_n(&f->buf, data + used, room);
			used += room;
			f->discarding = true;
			*used_r = used;
			return IMAP_FRAME_LINE_TOO_LONG;
		}
		str_append_n(&f->buf, data + used, chunk);
		used += chunk;
		if (nl == NULL)
			break;
		size_t size;
		bool sync;
		if (line_literal(f->buf.data + f->line_start, f->buf.len - f->line_start, &size, &sync)) {
			f->lit_size = size;
			f->lit_sync = sync;
			f->pending_literal = true;
			*used_r = used;
			return IMAP_FRAME_LITERAL;
		}
		*used_r = used;
		return IMAP_FRAME_COMMAND;
	}
	*used_r = used;
	return IMAP_FRAME_MORE;
}

void imap_framer_literal_accept(struct imap_framer *f)
{
	f->pending_literal = false;
	f->literal_left = f->lit_size;
	f->literal_total += f->lit_size;
	f->line_start = f->buf.len;
	if (f->literal_left == 0)
		f->line_start = f->buf.len;
}

static size_t word_at(const char *s, size_t len, size_t start, size_t *end_r)
{
	size_t i = start;
	while (i < len && s[i] != ' ' && s[i] != '\r' && s[i] != '\n')
		i++;
	*end_r = i;
	return i - start;
}

void imap_framer_tag(const struct imap_framer *f, str_t *out)
{
	size_t end;
	size_t n = word_at(str_c(&f->buf), f->buf.len, 0, &end);
	str_clear(out);
	if (n == 0 || n > 64) {
		str_append(out, "*");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)f->buf.data[i];
		if (c <= ' ' || c >= 0x7f || c == '{' || c == '(' || c == ')' || c == '%' ||
		    c == '*' || c == '"' || c == '\\' || c == '+') {
			str_clear(out);
			str_append(out, "*");
			return;
		}
	}
	str_append_n(out, f->buf.data, n);
}

void imap_framer_command(const struct imap_framer *f, str_t *out)
{
	size_t end, end2;
	str_clear(out);
	word_at(str_c(&f->buf), f->buf.len, 0, &end);
	if (end == 0 || end >= f->buf.len || f->buf.data[end] != ' ')
		return; /* no tag, or nothing after it */
	size_t n = word_at(f->buf.data, f->buf.len, end + 1, &end2);
	if (n > 32)
		return;
	for (size_t i = end + 1; i < end2; i++)
		str_append_c(out, (char)toupper((unsigned char)f->buf.data[i]));
}

/* ---------------------------------------------------------------- parser */

struct parser {
	char *p, *end;
	struct pool *pool;
	const char *error;
	size_t nargs;
	/* A long literal stays in the buffer and is NUL-terminated there; the
	 * byte the NUL replaced (a space, ')' or the CRLF) is kept here. */
	char *hold_at;
	char hold;
};

/* The byte at p, seen through a NUL put there after a literal. */
static char at(const struct parser *ps, const char *p)
{
	return p == ps->hold_at ? ps->hold : *p;
}

static bool is_atom_special(unsigned char c)
{
	return c == '(' || c == ')' || c == '{' || c == ' ' || c < 0x20 || c == 0x7f ||
	       c == '"' || c == '\r' || c == '\n';
}

struct arg_vec {
	struct imap_arg *v;
	size_t n, alloc;
};

static struct imap_arg *vec_push(struct parser *ps, struct arg_vec *vec)
{
	if (++ps->nargs > IMAP_MAX_ARGS) {
		ps->error = "Too many arguments";
		return NULL;
	}
	if (vec->n == vec->alloc) {
		size_t alloc = vec->alloc == 0 ? 8 : vec->alloc * 2;
		struct imap_arg *nv = pool_alloc(ps->pool, alloc * sizeof(*nv));
		if (vec->n > 0)
			memcpy(nv, vec->v, vec->n * sizeof(*nv));
		vec->v = nv;
		vec->alloc = alloc;
	}
	struct imap_arg *a = &vec->v[vec->n++];
	memset(a, 0, sizeof(*a));
	return a;
}

static int parse_quoted(struct parser *ps, struct imap_arg *a)
{
	char *start = ++ps->p;
	char *out = start; /* unescape in place: the result is never longer */
	while (ps->p < ps->end && *ps->p != '"') {
		char c = *ps->p;
		if (c == '\r' || c == '\n' || c == '\0') {
			ps->error = "Invalid character in quoted string";
			return -1;
		}
		if (c == '\\') {
			ps->p++;
			if (ps->p >= ps->end || (*ps->p != '\\' && *ps->p != '"')) {
				ps->error = "Invalid escape in quoted string";
				return -1;
			}
			c = *ps->p;
		}
		*out++ = c;
		ps->p++;
	}
	if (ps->p >= ps->end) {
		ps->error = "Unterminated quoted string";
		return -1;
	}
	ps->p++; /* closing quote */
	a->type = IMAP_ARG_STRING;
	a->len = (size_t)(out - start);
	a->str = pool_strndup(ps->pool, start, a->len);
	return 0;
}

static int parse_literal(struct parser *ps, struct imap_arg *a, bool lit8)
{
	char *p = ps->p + 1;
	size_t n = 0;
	int digits = 0;
	while (p < ps->end && isdigit((unsigned char)*p)) {
		if (++digits > 18) {
			ps->error = "Literal size too large";
			return -1;
		}
		n = n * 10 + (size_t)(*p - '0');
		p++;
	}
	if (p < ps->end && *p == '+')
		p++;
	if (digits == 0 || p >= ps->end || *p != '}') {
		ps->error = "Invalid literal";
		return -1;
	}
	p++;
	if (p < ps->end && *p == '\r')
		p++;
	if (p >= ps->end || *p != '\n') {
		ps->error = "Literal must end the line";
		return -1;
	}
	p++;
	if ((size_t)(ps->end - p) < n) {
		ps->error = "Literal shorter than announced";
		return -1;
	}
	a->type = IMAP_ARG_LITERAL;
	a->literal8 = lit8;
	a->len = n;
	/* Copy the short ones; leave big ones (APPEND's message) in the
	 * buffer, NUL-terminated in place: the byte after them belongs to the
	 * rest of the command and is read through at() from now on. */
	if (n <= 4096 || (size_t)(ps->end - p) == n) {
		a->str = pool_strndup(ps->pool, p, n);
	} else {
		ps->hold_at = p + n;
		ps->hold = p[n];
		p[n] = '\0';
		a->str = p;
	}
	ps->p = p + n;
	return 0;
}

static int parse_atom(struct parser *ps, struct imap_arg *a)
{
	char *start = ps->p;
	int depth = 0;
	while (ps->p < ps->end) {
		unsigned char c = (unsigned char)*ps->p;
		if (depth > 0) {
			/* Inside BODY[...]: spaces and parentheses belong to the atom. */
			if (c == '\r' || c == '\n')
				break;
			if (c == '[')
				depth++;
			else if (c == ']')
				depth--;
			ps->p++;
			continue;
		}
		if (c == '[') {
			depth++;
			ps->p++;
			continue;
		}
		if (is_atom_special(c) || c == ']')
			break;
		ps->p++;
	}
	if (depth > 0) {
		ps->error = "Missing ']'";
		return -1;
	}
	if (ps->p == start) {
		ps->error = "Unexpected character";
		return -1;
	}
	a->type = IMAP_ARG_ATOM;
	a->len = (size_t)(ps->p - start);
	a->str = pool_strndup(ps->pool, start, a->len);
	return 0;
}

static int parse_list(struct parser *ps, struct arg_vec *vec, int depth, bool top);

static int parse_one(struct parser *ps, struct arg_vec *vec, int depth)
{
	char c = at(ps, ps->p);
	struct imap_arg *a = vec_push(ps, vec);
	if (a == NULL)
		return -1;
	if (c == '"')
		return parse_quoted(ps, a);
	if (c == '{')
		return parse_literal(ps, a, false);
	if (c == '~' && ps->p + 1 < ps->end && at(ps, ps->p + 1) == '{') {
		ps->p++;
		return parse_literal(ps, a, true);
	}
	if (c == '(') {
		if (depth + 1 > IMAP_MAX_LIST_DEPTH) {
			ps->error = "Too deeply nested parentheses";
			return -1;
		}
		ps->p++;
		struct arg_vec sub = { NULL, 0, 0 };
		/* a may move when vec grows inside; remember its index */
		size_t idx = (size_t)(a - vec->v);
		if (parse_list(ps, &sub, depth + 1, false) < 0)
			return -1;
		a = &vec->v[idx];
		a->type = IMAP_ARG_LIST;
		a->list = sub.v;
		a->count = sub.n;
		return 0;
	}
	return parse_atom(ps, a);
}

static int parse_list(struct parser *ps, struct arg_vec *vec, int depth, bool top)
{
	bool first = true;
	for (;;) {
		if (ps->p >= ps->end) {
			ps->error = top ? "Missing CRLF" : "Missing ')'";
			return -1;
		}
		char c = at(ps, ps->p);
		if (c == '\r' || c == '\n') {
			if (!top) {
				ps->error = "Missing ')'";
				return -1;
			}
			if (c == '\r')
				ps->p++;
			if (ps->p >= ps->end || at(ps, ps->p) != '\n' || ps->p + 1 != ps->end) {
				ps->error = "Garbage after command";
				return -1;
			}
			return 0;
		}
		if (c == ')') {
			if (top) {
				ps->error = "Unexpected ')'";
				return -1;
			}
			ps->p++;
			return 0;
		}
		if (!first) {
			if (c != ' ') {
				ps->error = "Missing space between arguments";
				return -1;
			}
			ps->p++;
			if (ps->p >= ps->end) {
				ps->error = "Missing CRLF";
				return -1;
			}
		} else if (top) {
			/* At top level each argument is preceded by a space. */
			if (c != ' ') {
				ps->error = "Missing space between arguments";
				return -1;
			}
			ps->p++;
			if (ps->p >= ps->end) {
				ps->error = "Missing CRLF";
				return -1;
			}
		}
		first = false;
		c = at(ps, ps->p);
		if (c == ' ' || c == '\r' || c == '\n') {
			ps->error = "Unexpected space";
			return -1;
		}
		if (parse_one(ps, vec, depth) < 0)
			return -1;
	}
}

int imap_parse_command(char *buf, size_t len, struct pool *pool, struct imap_command *cmd,
		       const char **error_r)
{
	struct parser ps = { buf, buf + len, pool, NULL, 0, NULL, 0 };
	memset(cmd, 0, sizeof(*cmd));
	/* tag */
	char *start = ps.p;
	/* RFC 3501: tag = 1*<any ASTRING-CHAR except "+">: 7-bit, "]" allowed */
	while (ps.p < ps.end && !is_atom_special((unsigned char)*ps.p) &&
	       (unsigned char)*ps.p < 0x80 && *ps.p != '+' &&
	       *ps.p != '*' && *ps.p != '%' && *ps.p != '\\')
		ps.p++;
	if (ps.p == start || ps.p >= ps.end || *ps.p != ' ') {
		*error_r = ps.p == start ? "Missing or invalid tag" : "Missing command";
		return -1;
	}
	cmd->tag = pool_strndup(pool, start, (size_t)(ps.p - start));
	ps.p++;
	start = ps.p;
	while (ps.p < ps.end && isalnum((unsigned char)*ps.p))
		ps.p++;
	if (ps.p == start) {
		*error_r = "Missing command";
		return -1;
	}
	char *name = pool_strndup(pool, start, (size_t)(ps.p - start));
	for (char *n = name; *n != '\0'; n++)
		*n = (char)toupper((unsigned char)*n);
	cmd->name = name;
	struct arg_vec top = { NULL, 0, 0 };
	if (parse_list(&ps, &top, 0, true) < 0) {
		*error_r = ps.error;
		return -1;
	}
	cmd->args = top.v;
	cmd->nargs = top.n;
	return 0;
}

bool imap_arg_is_string(const struct imap_arg *a)
{
	return a->type != IMAP_ARG_LIST;
}

bool imap_arg_is_atom(const struct imap_arg *a, const char *word)
{
	return a->type == IMAP_ARG_ATOM && strcasecmp(a->str, word) == 0;
}

bool imap_arg_is_nil(const struct imap_arg *a)
{
	return imap_arg_is_atom(a, "NIL");
}
