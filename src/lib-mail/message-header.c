#include "lib-mail/message-header.h"
#include "lib/xalloc.h"

#include <string.h>
#include <strings.h>

static bool is_wsp(char c)
{
	return c == ' ' || c == '\t';
}

/* One physical line: [start, content_end) is its text without the line
 * end, next is where the following line starts. */
static void line_at(const char *s, size_t len, size_t pos,
		    size_t *content_end_r, size_t *next_r)
{
	const char *lf = memchr(s + pos, '\n', len - pos);
	if (lf == NULL) {
		*content_end_r = len;
		*next_r = len;
		return;
	}
	size_t end = (size_t)(lf - s);
	*next_r = end + 1;
	if (end > pos && s[end - 1] == '\r')
		end--;
	*content_end_r = end;
}

bool message_name_eq(const char *name, size_t name_len, const char *cstr)
{
	size_t n = strlen(cstr);
	return n == name_len && strncasecmp(name, cstr, n) == 0;
}

void message_header_iter_init(struct message_header_iter *iter,
			      const char *hdr, size_t len)
{
	iter->hdr = hdr;
	iter->len = len;
	iter->pos = 0;
}

bool message_header_iter_next(struct message_header_iter *iter,
			      struct message_header_field *field_r)
{
	const char *s = iter->hdr;
	size_t len = iter->len;

	while (iter->pos < len) {
		size_t start = iter->pos, cend, next;
		line_at(s, len, start, &cend, &next);
		if (cend == start) {
			/* the blank line: the header is over */
			iter->pos = len;
			return false;
		}
		size_t value_end = cend, field_end = next;
		/* continuation lines belong to this field */
		while (field_end < len && is_wsp(s[field_end])) {
			line_at(s, len, field_end, &value_end, &next);
			field_end = next;
		}
		iter->pos = field_end;
		if (is_wsp(s[start]))
			continue;	/* continuation without a field */
		const char *colon = memchr(s + start, ':', cend - start);
		if (colon == NULL)
			continue;
		size_t name_end = (size_t)(colon - s);
		while (name_end > start && is_wsp(s[name_end - 1]))
			name_end--;
		if (name_end == start)
			continue;
		field_r->name = s + start;
		field_r->name_len = name_end - start;
		field_r->value = colon + 1;
		field_r->value_len = value_end - (size_t)(colon + 1 - s);
		field_r->full = s + start;
		field_r->full_len = field_end - start;
		return true;
	}
	return false;
}

void message_header_unfold(str_t *out, const char *value, size_t len)
{
	size_t i = 0;
	while (i < len && (is_wsp(value[i]) || value[i] == '\r' ||
			   value[i] == '\n'))
		i++;
	size_t out_start = out->len;
	for (; i < len; i++) {
		char c = value[i];
		if (c == '\n')
			continue;
		if (c == '\r' && i + 1 < len && value[i + 1] == '\n')
			continue;
		str_append_c(out, c);
	}
	size_t end = out->len;
	while (end > out_start && (is_wsp(out->data[end - 1]) ||
				   out->data[end - 1] == '\r'))
		end--;
	str_truncate(out, end);
}

bool message_header_find(const char *hdr, size_t len, const char *name,
			 str_t *value_r)
{
	struct message_header_iter iter;
	struct message_header_field f;

	message_header_iter_init(&iter, hdr, len);
	while (message_header_iter_next(&iter, &f)) {
		if (message_name_eq(f.name, f.name_len, name)) {
			if (value_r != NULL)
				message_header_unfold(value_r, f.value,
						      f.value_len);
			return true;
		}
	}
	return false;
}

char *message_header_get(const char *hdr, size_t len, const char *name)
{
	str_t v = STR_INIT;
	if (!message_header_find(hdr, len, name, &v)) {
		str_free(&v);
		return NULL;
	}
	return str_steal(&v);
}

size_t message_header_block_len(const char *msg, size_t len, bool *has_blank_r)
{
	size_t pos = 0;
	while (pos < len) {
		size_t cend, next;
		line_at(msg, len, pos, &cend, &next);
		if (cend == pos && next > pos) {
			if (has_blank_r != NULL)
				*has_blank_r = true;
			return next;
		}
		pos = next;
	}
	if (has_blank_r != NULL)
		*has_blank_r = false;
	return len;
}
