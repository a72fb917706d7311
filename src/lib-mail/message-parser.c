#include "lib-mail/message-parser.h"
#include "lib-mail/message-decode.h"
#include "lib-mail/message-header.h"
#include "lib-mail/message-params.h"
#include "lib/bounds.h"
#include "lib/str.h"
#include "lib/xalloc.h"

#include <ctype.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct parse_ctx {
	const char *msg;
	size_t len;
	unsigned parts;
};

unsigned message_count_lines(const char *s, size_t len)
{
	size_t lines = 0, pos = 0;
	const char *lf;

	while (pos < len && (lf = memchr(s + pos, '\n', len - pos)) != NULL) {
		lines++;
		pos = (size_t)(lf - s) + 1;
	}
	if (len > 0 && s[len - 1] != '\n')
		lines++;
	return lines > UINT_MAX ? UINT_MAX : (unsigned)lines;
}

bool message_part_is_multipart(const struct message_part *part)
{
	return strcmp(part->type, "multipart") == 0;
}

bool message_part_is_rfc822(const struct message_part *part)
{
	return part->children != NULL && strcmp(part->type, "message") == 0 &&
		strcmp(part->subtype, "rfc822") == 0;
}

bool message_part_is_text(const struct message_part *part)
{
	return strcmp(part->type, "text") == 0;
}

const char *message_part_charset(const struct message_part *part)
{
	const char *cs = message_params_get(part->params, "charset");
	return cs != NULL && cs[0] != '\0' ? cs : "us-ascii";
}

static char *lowercase_dup(const char *s)
{
	char *p = xstrdup(s);
	for (char *q = p; *q != '\0'; q++)
		*q = (char)tolower((unsigned char)*q);
	return p;
}

static void set_default_type(struct message_part *part, bool digest_child)
{
	part->type_raw = xstrdup(digest_child ? "message" : "text");
	part->subtype_raw = xstrdup(digest_child ? "rfc822" : "plain");
	part->params = xcalloc(3, sizeof(char *));
	if (!digest_child) {
		part->params[0] = xstrdup("charset");
		part->params[1] = xstrdup("us-ascii");
	}
}

static void parse_content_type(struct message_part *part, const char *value,
			       size_t len)
{
	struct message_params_value v;

	message_params_parse(value, len, true, &v);
	if (v.main == NULL || v.sub == NULL) {
		/* RFC 2045 5.2: an unusable Content-Type means text/plain */
		free(v.main);
		free(v.sub);
		message_strv_free(v.params);
		set_default_type(part, false);
		return;
	}
	part->type_raw = v.main;
	part->subtype_raw = v.sub;
	part->params = v.params;
}

static char *first_token(const char *s)
{
	s += strspn(s, " \t");
	size_t n = strcspn(s, " \t;(");
	return n == 0 ? NULL : xstrndup(s, n);
}

/* Reads the Content-* fields; the first occurrence of each counts. */
static void parse_content_headers(struct message_part *part, const char *hdr,
				  size_t hdr_len, bool digest_child)
{
	struct message_header_iter iter;
	struct message_header_field f;
	str_t v = STR_INIT;
	bool have_type = false;

	message_header_iter_init(&iter, hdr, hdr_len);
	while (message_header_iter_next(&iter, &f)) {
		if (f.name_len < 8 || strncasecmp(f.name, "Content-", 8) != 0)
			continue;
		const char *n = f.name + 8;
		size_t nl = f.name_len - 8;
		str_clear(&v);
		message_header_unfold(&v, f.value, f.value_len);
		const char *val = str_c(&v);

		if (message_name_eq(n, nl, "Type")) {
			if (!have_type)
				parse_content_type(part, val, v.len);
			have_type = true;
		} else if (message_name_eq(n, nl, "Transfer-Encoding")) {
			if (part->encoding == NULL)
				part->encoding = first_token(val);
		} else if (message_name_eq(n, nl, "ID")) {
			if (part->id == NULL)
				part->id = xstrdup(val);
		} else if (message_name_eq(n, nl, "Description")) {
			if (part->description == NULL)
				part->description = xstrdup(val);
		} else if (message_name_eq(n, nl, "MD5")) {
			if (part->md5 == NULL)
				part->md5 = xstrdup(val);
		} else if (message_name_eq(n, nl, "Location")) {
			if (part->location == NULL)
				part->location = xstrdup(val);
		} else if (message_name_eq(n, nl, "Language")) {
			if (part->language == NULL)
				part->language = message_language_parse(val, v.len);
		} else if (message_name_eq(n, nl, "Disposition")) {
			if (part->disposition == NULL) {
				struct message_params_value d;
				message_params_parse(val, v.len, false, &d);
				if (d.main != NULL) {
					part->disposition = d.main;
					part->disposition_params = d.params;
				} else {
					message_strv_free(d.params);
				}
			}
		}
	}
	str_free(&v);
	if (!have_type)
		set_default_type(part, digest_child);
	part->type = lowercase_dup(part->type_raw);
	part->subtype = lowercase_dup(part->subtype_raw);
}

static struct message_part *
parse_part(struct parse_ctx *ctx, size_t start, size_t end, unsigned depth,
	   struct message_part *parent, bool digest_child, bool is_message);

/* Splits a multipart body at its boundary delimiter lines (RFC 2046 5.1.1).
 * The line end before a delimiter belongs to the delimiter, not the part. */
static void parse_multipart(struct parse_ctx *ctx, struct message_part *part,
			    unsigned depth)
{
	const char *msg = ctx->msg;
	const char *boundary = message_params_get(part->params, "boundary");
	if (boundary == NULL || boundary[0] == '\0')
		return;
	size_t blen = strlen(boundary);
	size_t end = part->body_start + part->body_len;
	size_t pos = part->body_start;
	size_t child_start = 0;
	bool in_part = false, closed = false;
	bool digest = strcmp(part->subtype, "digest") == 0;
	struct message_part **tail = &part->children;

	while (pos < end && !closed) {
		const char *lf = memchr(msg + pos, '\n', end - pos);
		size_t next = lf == NULL ? end : (size_t)(lf - msg) + 1;
		size_t cend = lf == NULL ? end : (size_t)(lf - msg);
		if (cend > pos && msg[cend - 1] == '\r')
			cend--;

		bool delim = false;
		if (cend - pos >= 2 + blen && msg[pos] == '-' &&
		    msg[pos + 1] == '-' &&
		    memcmp(msg + pos + 2, boundary, blen) == 0) {
			size_t q = pos + 2 + blen;
			if (q + 2 <= cend && msg[q] == '-' && msg[q + 1] == '-') {
				delim = closed = true;
			} else {
				/* transport padding may follow a delimiter */
				while (q < cend && (msg[q] == ' ' || msg[q] == '\t'))
					q++;
				delim = q == cend;
			}
		}
		if (delim) {
			if (in_part) {
				size_t child_end = pos;
				if (child_end > child_start && msg[child_end - 1] == '\n') {
					child_end--;
					if (child_end > child_start && msg[child_end - 1] == '\r')
						child_end--;
				}
				if (ctx->parts >= MIME_MAX_PARTS)
					return;
				*tail = parse_part(ctx, child_start, child_end,
						   depth + 1, part, digest, false);
				tail = &(*tail)->next;
			}
			in_part = !closed;
			child_start = next;
		}
		pos = next;
	}
	/* a missing close delimiter: the last part runs to the end */
	if (in_part && ctx->parts < MIME_MAX_PARTS)
		*tail = parse_part(ctx, child_start, end, depth + 1, part,
				   digest, false);
}

static struct message_part *
parse_part(struct parse_ctx *ctx, size_t start, size_t end, unsigned depth,
	   struct message_part *parent, bool digest_child, bool is_message)
{
	struct message_part *part = xcalloc(1, sizeof(*part));
	bool has_blank;

	ctx->parts++;
	part->parent = parent;
	part->is_message = is_message;
	size_t hlen = message_header_block_len(ctx->msg + start, end - start,
					       &has_blank);
	part->header_start = start;
	part->header_len = hlen;
	part->body_start = start + hlen;
	part->body_len = end - part->body_start;
	part->body_lines = message_count_lines(ctx->msg + part->body_start,
					       part->body_len);
	parse_content_headers(part, ctx->msg + start, hlen, digest_child);

	if (depth + 1 >= MIME_MAX_DEPTH)
		return part;	/* too deep: the body stays opaque */
	if (message_part_is_multipart(part)) {
		parse_multipart(ctx, part, depth);
	} else if (strcmp(part->type, "message") == 0 &&
		   strcmp(part->subtype, "rfc822") == 0 &&
		   message_cte_parse(part->encoding) == MESSAGE_CTE_IDENTITY &&
		   ctx->parts < MIME_MAX_PARTS) {
		/* an encoded message/rfc822 violates RFC 2046 5.2.1; its
		 * body is left opaque rather than parsed as garbage */
		part->children = parse_part(ctx, part->body_start, end,
					    depth + 1, part, false, true);
	}
	return part;
}

struct message_part *message_parse(const char *msg, size_t len)
{
	struct parse_ctx ctx = { msg, len, 0 };
	return parse_part(&ctx, 0, len, 0, NULL, false, true);
}

static void free_tree(struct message_part *part)
{
	while (part != NULL) {
		struct message_part *next = part->next;
		free_tree(part->children);
		free(part->type);
		free(part->subtype);
		free(part->type_raw);
		free(part->subtype_raw);
		message_strv_free(part->params);
		free(part->id);
		free(part->description);
		free(part->encoding);
		free(part->md5);
		free(part->disposition);
		message_strv_free(part->disposition_params);
		message_strv_free(part->language);
		free(part->location);
		free(part);
		part = next;
	}
}

void message_part_free(struct message_part **part)
{
	free_tree(*part);
	*part = NULL;
}
