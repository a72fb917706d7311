#include "lib-mail/message-imap.h"

#include <string.h>

static void append_params(str_t *out, char *const *params)
{
	if (params == NULL || params[0] == NULL || params[1] == NULL) {
		str_append(out, "NIL");
		return;
	}
	str_append_c(out, '(');
	for (size_t i = 0; params[i] != NULL && params[i + 1] != NULL; i += 2) {
		if (i > 0)
			str_append_c(out, ' ');
		message_imap_append_cstring(out, params[i]);
		str_append_c(out, ' ');
		message_imap_append_cstring(out, params[i + 1]);
	}
	str_append_c(out, ')');
}

/* body-fld-dsp SP body-fld-lang SP body-fld-loc: the tail that single
 * parts and multiparts share in their extension data. */
static void append_dsp_lang_loc(str_t *out, const struct message_part *part)
{
	if (part->disposition == NULL) {
		str_append(out, "NIL");
	} else {
		str_append_c(out, '(');
		message_imap_append_cstring(out, part->disposition);
		str_append_c(out, ' ');
		append_params(out, part->disposition_params);
		str_append_c(out, ')');
	}
	str_append_c(out, ' ');
	if (part->language == NULL || part->language[0] == NULL) {
		str_append(out, "NIL");
	} else {
		str_append_c(out, '(');
		for (size_t i = 0; part->language[i] != NULL; i++) {
			if (i > 0)
				str_append_c(out, ' ');
			message_imap_append_cstring(out, part->language[i]);
		}
		str_append_c(out, ')');
	}
	str_append_c(out, ' ');
	message_imap_append_cstring(out, part->location);
}

static void append_body(str_t *out, const char *msg,
			const struct message_part *part, bool extended);

static void append_multipart(str_t *out, const char *msg,
			     const struct message_part *part, bool extended)
{
	const struct message_part *child;

	if (part->children == NULL) {
		/* body-type-mpart needs at least one body */
		str_append(out, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") "
			   "NIL NIL \"7bit\" 0 0");
		if (extended)
			str_append(out, " NIL NIL NIL NIL");
		str_append_c(out, ')');
	}
	for (child = part->children; child != NULL; child = child->next)
		append_body(out, msg, child, extended);
	str_append_c(out, ' ');
	message_imap_append_cstring(out, part->subtype_raw);
	if (extended) {
		str_append_c(out, ' ');
		append_params(out, part->params);
		str_append_c(out, ' ');
		append_dsp_lang_loc(out, part);
	}
}

static void append_single(str_t *out, const char *msg,
			  const struct message_part *part, bool extended)
{
	message_imap_append_cstring(out, part->type_raw);
	str_append_c(out, ' ');
	message_imap_append_cstring(out, part->subtype_raw);
	str_append_c(out, ' ');
	append_params(out, part->params);
	str_append_c(out, ' ');
	message_imap_append_cstring(out, part->id);
	str_append_c(out, ' ');
	message_imap_append_cstring(out, part->description);
	str_append_c(out, ' ');
	message_imap_append_cstring(out, part->encoding != NULL ?
				    part->encoding : "7bit");
	str_printf(out, " %zu", part->body_len);
	if (message_part_is_rfc822(part)) {
		str_append_c(out, ' ');
		message_imap_envelope(out, msg, part->children);
		str_append_c(out, ' ');
		append_body(out, msg, part->children, extended);
		str_printf(out, " %u", part->body_lines);
	} else if (message_part_is_text(part)) {
		str_printf(out, " %u", part->body_lines);
	}
	if (extended) {
		str_append_c(out, ' ');
		message_imap_append_cstring(out, part->md5);
		str_append_c(out, ' ');
		append_dsp_lang_loc(out, part);
	}
}

/* Recursion follows the tree, which the parser keeps within
 * MIME_MAX_DEPTH levels. */
static void append_body(str_t *out, const char *msg,
			const struct message_part *part, bool extended)
{
	str_append_c(out, '(');
	if (message_part_is_multipart(part))
		append_multipart(out, msg, part, extended);
	else
		append_single(out, msg, part, extended);
	str_append_c(out, ')');
}

void message_imap_bodystructure(str_t *out, const char *msg,
				const struct message_part *root, bool extended)
{
	append_body(out, msg, root, extended);
}
