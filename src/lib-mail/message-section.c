#include "lib-mail/message-imap.h"
#include "lib-mail/message-decode.h"
#include "lib-mail/message-header.h"
#include "lib/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Part paths longer than this cannot exist: the tree is at most
 * MIME_MAX_DEPTH deep and each level takes at most two numbers. */
#define SECTION_MAX_NUMBERS 128
/* Part numbers above this cannot exist either (MIME_MAX_PARTS). */
#define SECTION_NUMBER_MAX 1000000u

enum section_kind {
	SECTION_BODY,		/* no keyword: whole message or a part's body */
	SECTION_HEADER,
	SECTION_TEXT,
	SECTION_MIME,
	SECTION_FIELDS,
	SECTION_FIELDS_NOT,
};

struct section {
	unsigned numbers[SECTION_MAX_NUMBERS];
	size_t count;
	bool too_long;
	enum section_kind kind;
	char **fields;		/* header names for HEADER.FIELDS[.NOT] */
	size_t field_count;
};

static bool keyword_is(const char **p, const char *kw)
{
	size_t n = strlen(kw);
	if (strncasecmp(*p, kw, n) != 0)
		return false;
	*p += n;
	return true;
}

static bool is_atom_char(char c)
{
	return (unsigned char)c > 0x20 && c != 0x7f && strchr("(){\"\\%*]", c) == NULL;
}

static void add_field(struct section *s, const char *name, size_t len)
{
	s->fields = xrealloc(s->fields, (s->field_count + 1) * sizeof(char *));
	s->fields[s->field_count++] = xstrndup(name, len);
}

/* header-list = "(" header-fld-name *(SP header-fld-name) ")" */
static int parse_header_list(const char *p, struct section *s)
{
	if (*p++ != ' ' || *p++ != '(')
		return -1;
	for (;;) {
		if (*p == '"') {
			str_t name = STR_INIT;
			p++;
			while (*p != '"' && *p != '\0') {
				if (*p == '\\' && p[1] != '\0')
					p++;
				str_append_c(&name, *p++);
			}
			if (*p != '"') {
				str_free(&name);
				return -1;
			}
			p++;
			add_field(s, str_c(&name), name.len);
			str_free(&name);
		} else {
			const char *start = p;
			while (is_atom_char(*p))
				p++;
			if (p == start)
				return -1;
			add_field(s, start, (size_t)(p - start));
		}
		if (*p == ')')
			break;
		if (*p++ != ' ')
			return -1;
	}
	return p[1] == '\0' ? 0 : -1;
}

static int parse_section(const char *p, bool binary, struct section *s)
{
	while (*p >= '0' && *p <= '9') {
		if (*p == '0')
			return -1;	/* nz-number */
		unsigned n = 0;
		while (*p >= '0' && *p <= '9') {
			if (n <= SECTION_NUMBER_MAX)
				n = n * 10 + (unsigned)(*p - '0');
			p++;
		}
		if (s->count < SECTION_MAX_NUMBERS)
			s->numbers[s->count++] = n;
		else
			s->too_long = true;
		if (*p == '\0')
			break;
		if (*p++ != '.' || *p == '\0')
			return -1;
	}
	if (*p == '\0') {
		s->kind = SECTION_BODY;
		return 0;
	}
	if (binary)
		return -1;	/* RFC 3516 section-binary: part numbers only */
	if (keyword_is(&p, "HEADER.FIELDS.NOT")) {
		s->kind = SECTION_FIELDS_NOT;
		return parse_header_list(p, s);
	}
	if (keyword_is(&p, "HEADER.FIELDS")) {
		s->kind = SECTION_FIELDS;
		return parse_header_list(p, s);
	}
	if (keyword_is(&p, "HEADER"))
		s->kind = SECTION_HEADER;
	else if (keyword_is(&p, "TEXT"))
		s->kind = SECTION_TEXT;
	else if (s->count > 0 && keyword_is(&p, "MIME"))
		s->kind = SECTION_MIME;
	else
		return -1;
	return *p == '\0' ? 0 : -1;
}

/* Follows the part numbers (RFC 3501 6.4.5). Part 1 of a message that is
 * not multipart is its body; numbers after a message/rfc822 part count
 * the parts of the encapsulated message. */
static const struct message_part *
resolve(const struct message_part *root, const struct section *s)
{
	const struct message_part *cur = root;
	bool is_message = true;

	for (size_t i = 0; i < s->count; i++) {
		unsigned n = s->numbers[i];
		if (message_part_is_multipart(cur) && cur->children != NULL) {
			cur = cur->children;
			for (unsigned k = 1; k < n && cur != NULL; k++)
				cur = cur->next;
			if (cur == NULL)
				return NULL;
		} else if (!is_message || n != 1) {
			return NULL;
		}
		is_message = false;
		if (i + 1 < s->count && message_part_is_rfc822(cur)) {
			cur = cur->children;
			is_message = true;
		}
	}
	return cur;
}

static bool field_listed(const struct section *s, const char *name,
			 size_t len)
{
	for (size_t i = 0; i < s->field_count; i++) {
		if (message_name_eq(name, len, s->fields[i]))
			return true;
	}
	return false;
}

static void append_fields(str_t *out, const char *hdr, size_t len,
			  const struct section *s)
{
	struct message_header_iter iter;
	struct message_header_field f;
	bool want = s->kind == SECTION_FIELDS;

	message_header_iter_init(&iter, hdr, len);
	while (message_header_iter_next(&iter, &f)) {
		if (field_listed(s, f.name, f.name_len) != want)
			continue;
		str_append_n(out, f.full, f.full_len);
		if (f.full[f.full_len - 1] != '\n')
			str_append(out, "\r\n");
	}
	str_append(out, "\r\n");
}

static int section_output(str_t *out, const char *msg, size_t len,
			  const struct message_part *root,
			  const struct section *s, bool binary)
{
	if (s->count == 0 && s->kind == SECTION_BODY) {
		str_append_n(out, msg, len);
		return 0;
	}
	const struct message_part *part = s->too_long ? NULL : resolve(root, s);
	if (part == NULL)
		return 1;

	switch (s->kind) {
	case SECTION_BODY:
		if (!binary) {
			str_append_n(out, msg + part->body_start, part->body_len);
			return 0;
		}
		if (message_decode_body(part->encoding, msg + part->body_start,
					part->body_len, out) < 0)
			return -2;
		return 0;
	case SECTION_MIME:
		str_append_n(out, msg + part->header_start, part->header_len);
		return 0;
	default:
		break;
	}
	/* HEADER, TEXT and HEADER.FIELDS address a message: the root, or
	 * the one encapsulated in a message/rfc822 part */
	if (s->count > 0) {
		if (!message_part_is_rfc822(part))
			return 1;
		part = part->children;
	}
	switch (s->kind) {
	case SECTION_HEADER:
		str_append_n(out, msg + part->header_start, part->header_len);
		break;
	case SECTION_TEXT:
		str_append_n(out, msg + part->body_start, part->body_len);
		break;
	default:
		append_fields(out, msg + part->header_start, part->header_len, s);
		break;
	}
	return 0;
}

int message_imap_section(str_t *out, const char *msg, size_t len,
			 const struct message_part *root, const char *section,
			 bool binary)
{
	struct section s;
	int ret;

	memset(&s, 0, sizeof(s));
	ret = parse_section(section, binary, &s);
	if (ret == 0)
		ret = section_output(out, msg, len, root, &s, binary);
	for (size_t i = 0; i < s.field_count; i++)
		free(s.fields[i]);
	free(s.fields);
	return ret;
}
