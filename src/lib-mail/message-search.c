#include "lib-mail/message-search.h"
#include "lib-mail/charset.h"
#include "lib-mail/message-decode.h"
#include "lib-mail/message-header.h"
#include "lib-mail/rfc2047.h"
#include "lib-mail/utf8-fold.h"
#include "lib/str.h"

#include <string.h>

struct needle {
	str_t folded;
};

static void needle_init(struct needle *n, const char *needle)
{
	str_init(&n->folded);
	utf8_fold_case(&n->folded, needle, strlen(needle));
}

/* Folds text (UTF-8) and looks for the folded needle in it. */
static bool match_folded(const struct needle *n, const char *text, size_t len)
{
	if (n->folded.len == 0)
		return true;
	str_t f = STR_INIT;
	utf8_fold_case(&f, text, len);
	bool found = f.len >= n->folded.len &&
		memmem(f.data, f.len, n->folded.data, n->folded.len) != NULL;
	str_free(&f);
	return found;
}

/* Appends a field value unfolded and RFC 2047-decoded. */
static void decoded_value(str_t *out, const struct message_header_field *f)
{
	str_t raw = STR_INIT;
	message_header_unfold(&raw, f->value, f->value_len);
	(void)rfc2047_decode(str_c(&raw), raw.len, out);
	str_free(&raw);
}

static bool search_header_field(const char *msg,
				const struct message_part *root,
				const char *field, const struct needle *n)
{
	struct message_header_iter iter;
	struct message_header_field f;
	bool found = false;
	str_t v = STR_INIT;

	message_header_iter_init(&iter, msg + root->header_start,
				 root->header_len);
	while (!found && message_header_iter_next(&iter, &f)) {
		if (!message_name_eq(f.name, f.name_len, field))
			continue;
		str_clear(&v);
		decoded_value(&v, &f);
		found = match_folded(n, str_c(&v), v.len);
	}
	str_free(&v);
	return found;
}

bool message_search_header(const char *msg, size_t len,
			   const struct message_part *root, const char *field,
			   const char *needle)
{
	struct needle n;
	(void)len;	/* the tree's offsets already bound every read */
	needle_init(&n, needle);
	bool found = search_header_field(msg, root, field, &n);
	str_free(&n.folded);
	return found;
}

static const struct {
	const char *name;
	char code;
} search_fields[] = {
	{ "From", 'f' }, { "To", 't' }, { "Cc", 'c' }, { "Bcc", 'b' }, { "Subject", 's' },
};

char message_search_field_code(const char *field)
{
	for (size_t i = 0; i < sizeof(search_fields) / sizeof(search_fields[0]); i++) {
		if (message_name_eq(field, strlen(field), search_fields[i].name))
			return search_fields[i].code;
	}
	return 0;
}

void message_search_fields(str_t *out, const char *msg, const struct message_part *root)
{
	if (root == NULL)
		return;
	struct message_header_iter iter;
	struct message_header_field f;
	str_t v = STR_INIT;
	message_header_iter_init(&iter, msg + root->header_start, root->header_len);
	while (message_header_iter_next(&iter, &f)) {
		char code = 0;
		for (size_t i = 0; i < sizeof(search_fields) / sizeof(search_fields[0]) && code == 0; i++) {
			if (message_name_eq(f.name, f.name_len, search_fields[i].name))
				code = search_fields[i].code;
		}
		if (code == 0)
			continue;
		str_clear(&v);
		decoded_value(&v, &f);
		size_t at = out->len;
		str_append_n(out, "\0\0\0\0\0", 5);
		utf8_fold_case(out, str_c(&v), v.len);
		uint32_t n = (uint32_t)(out->len - at - 5);
		unsigned char *h = (unsigned char *)out->data + at;
		h[0] = (unsigned char)code;
		h[1] = (unsigned char)n;
		h[2] = (unsigned char)(n >> 8);
		h[3] = (unsigned char)(n >> 16);
		h[4] = (unsigned char)(n >> 24);
	}
	str_free(&v);
}

bool message_search_fields_match(const char *fields, size_t len, char code,
				 const char *needle_folded, size_t needle_len)
{
	if (fields == NULL)
		return false;	/* none kept (an empty str_t has no buffer) */
	const unsigned char *p = (const unsigned char *)fields, *end = p + len;
	while (end - p >= 5) {
		size_t n = (size_t)p[1] | (size_t)p[2] << 8 | (size_t)p[3] << 16 | (size_t)p[4] << 24;
		const unsigned char *v = p + 5;
		if (n > (size_t)(end - v))
			return false;	/* damaged: nothing beyond is trusted */
		if ((char)p[0] == code &&
		    (needle_len == 0 || (n >= needle_len && memmem(v, n, needle_folded, needle_len) != NULL)))
			return true;
		p = v + n;
	}
	return false;
}

/* The whole header as "Name: decoded value" lines, so a needle may span
 * a field name and its value. */
static bool search_whole_header(const char *msg,
				const struct message_part *part,
				const struct needle *n)
{
	struct message_header_iter iter;
	struct message_header_field f;
	str_t text = STR_INIT;

	message_header_iter_init(&iter, msg + part->header_start,
				 part->header_len);
	while (message_header_iter_next(&iter, &f)) {
		str_append_n(&text, f.name, f.name_len);
		str_append(&text, ": ");
		decoded_value(&text, &f);
		str_append_c(&text, '\n');
	}
	bool found = match_folded(n, str_c(&text), text.len);
	str_free(&text);
	return found;
}

static bool search_part_text(const char *msg, const struct message_part *part,
			     const struct needle *n)
{
	str_t decoded = STR_INIT, utf8 = STR_INIT;
	const char *body = msg + part->body_start;
	bool found;

	if (message_decode_body(part->encoding, body, part->body_len,
				&decoded) < 0)
		str_append_n(&decoded, body, part->body_len);
	if (charset_to_utf8(message_part_charset(part), str_c(&decoded),
			    decoded.len, &utf8) < 0)
		found = match_folded(n, str_c(&decoded), decoded.len);
	else
		found = match_folded(n, str_c(&utf8), utf8.len);
	str_free(&decoded);
	str_free(&utf8);
	return found;
}

/* Recursion follows the tree (at most MIME_MAX_DEPTH deep). */
static bool search_bodies(const char *msg, const struct message_part *part,
			  const struct needle *n)
{
	if (message_part_is_multipart(part)) {
		for (const struct message_part *c = part->children; c != NULL;
		     c = c->next) {
			if (search_bodies(msg, c, n))
				return true;
		}
		return false;
	}
	if (message_part_is_rfc822(part)) {
		return search_whole_header(msg, part->children, n) ||
			search_bodies(msg, part->children, n);
	}
	if (message_part_is_text(part))
		return search_part_text(msg, part, n);
	return false;
}

bool message_search_body(const char *msg, size_t len,
			 const struct message_part *root, const char *needle)
{
	struct needle n;
	(void)len;	/* the tree's offsets already bound every read */
	needle_init(&n, needle);
	bool found = search_bodies(msg, root, &n);
	str_free(&n.folded);
	return found;
}

bool message_search_text(const char *msg, size_t len,
			 const struct message_part *root, const char *needle)
{
	struct needle n;
	(void)len;	/* the tree's offsets already bound every read */
	needle_init(&n, needle);
	bool found = search_whole_header(msg, root, &n) ||
		search_bodies(msg, root, &n);
	str_free(&n.folded);
	return found;
}
