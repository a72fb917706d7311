#include "lib-mail/message-imap.h"
#include "lib-mail/message-address.h"
#include "lib-mail/message-header.h"

#include <stdbool.h>

enum env_field {
	ENV_DATE, ENV_SUBJECT, ENV_FROM, ENV_SENDER, ENV_REPLY_TO, ENV_TO,
	ENV_CC, ENV_BCC, ENV_IN_REPLY_TO, ENV_MESSAGE_ID, ENV_COUNT
};

static const char *const env_names[ENV_COUNT] = {
	"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"In-Reply-To", "Message-ID",
};

static void append_addresses(str_t *out, const struct message_address *a)
{
	if (a == NULL) {
		str_append(out, "NIL");
		return;
	}
	str_append_c(out, '(');
	for (; a != NULL; a = a->next) {
		str_append_c(out, '(');
		message_imap_append_cstring(out, a->name);
		str_append_c(out, ' ');
		message_imap_append_cstring(out, a->route);
		str_append_c(out, ' ');
		message_imap_append_cstring(out, a->mailbox);
		str_append_c(out, ' ');
		message_imap_append_cstring(out, a->domain);
		str_append_c(out, ')');
	}
	str_append_c(out, ')');
}

void message_imap_envelope(str_t *out, const char *msg,
			   const struct message_part *root)
{
	str_t values[ENV_COUNT];
	bool found[ENV_COUNT] = { false };
	struct message_address *addr[ENV_COUNT] = { NULL };
	struct message_header_iter iter;
	struct message_header_field f;

	for (int i = 0; i < ENV_COUNT; i++)
		str_init(&values[i]);
	/* one pass; the first occurrence of a field is the one that counts */
	message_header_iter_init(&iter, msg + root->header_start,
				 root->header_len);
	while (message_header_iter_next(&iter, &f)) {
		for (int i = 0; i < ENV_COUNT; i++) {
			if (!found[i] && message_name_eq(f.name, f.name_len,
							 env_names[i])) {
				found[i] = true;
				message_header_unfold(&values[i], f.value,
						      f.value_len);
				break;
			}
		}
	}
	for (int i = ENV_FROM; i <= ENV_BCC; i++) {
		if (found[i])
			addr[i] = message_address_parse(str_c(&values[i]),
							values[i].len);
	}

	str_append_c(out, '(');
	for (int i = 0; i < ENV_COUNT; i++) {
		if (i > 0)
			str_append_c(out, ' ');
		if (i >= ENV_FROM && i <= ENV_BCC) {
			const struct message_address *a = addr[i];
			/* RFC 3501: sender and reply-to default to from */
			if (a == NULL && (i == ENV_SENDER || i == ENV_REPLY_TO))
				a = addr[ENV_FROM];
			append_addresses(out, a);
		} else {
			message_imap_append_nstring(out,
				found[i] ? str_c(&values[i]) : NULL,
				values[i].len);
		}
	}
	str_append_c(out, ')');

	for (int i = 0; i < ENV_COUNT; i++) {
		str_free(&values[i]);
		message_address_free(&addr[i]);
	}
}
