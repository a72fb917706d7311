/* libFuzzer target: parses arbitrary bytes as a message and runs every
 * view of it (BODYSTRUCTURE, BODY, ENVELOPE, sections, BINARY, SEARCH,
 * Date). Not built by meson yet; by hand:
 *   clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE -Isrc \
 *     src/lib-mail/fuzz-message.c <the other src/lib-mail .c files except
 *     test-*.c> src/lib/str.c src/lib/xalloc.c -o fuzz-message
 * The first line of the input (up to 64 bytes) is also tried as a section
 * specification, so the section parser gets fuzzed too. The search fields
 * stored at APPEND must answer every header search as the header does
 * (an abort otherwise), and their matcher must survive arbitrary bytes. */
#include "lib-mail/message-imap.h"
#include "lib-mail/message-parser.h"
#include "lib-mail/message-search.h"
#include "lib-mail/rfc2047.h"
#include "lib-mail/utf8-fold.h"
#include "lib/str.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *const sections[] = {
	"", "HEADER", "TEXT", "1", "1.MIME", "2", "1.1", "1.2.MIME",
	"2.HEADER", "1.TEXT", "2.1", "1.1.1", "3.2.1.HEADER",
	"HEADER.FIELDS (From To Subject)", "1.HEADER.FIELDS.NOT (Received)",
};

static const char *const fields[] = { "From", "To", "Cc", "Bcc", "Subject" };

static const char *const needles[] = {
	"", "a", "gr\xC3\xBC\xC3\x9F\x65", "\xCE\xA3", "--",
};

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	/* an exact-size copy, so ASan catches any read past the end */
	char *msg = malloc(size > 0 ? size : 1);
	if (msg == NULL)
		return 0;
	if (size > 0)
		memcpy(msg, data, size);

	struct message_part *root = message_parse(msg, size);
	str_t out = STR_INIT;

	message_imap_bodystructure(&out, msg, root, true);
	message_imap_bodystructure(&out, msg, root, false);
	message_imap_envelope(&out, msg, root);
	for (size_t i = 0; i < sizeof(sections) / sizeof(sections[0]); i++) {
		str_clear(&out);
		(void)message_imap_section(&out, msg, size, root, sections[i], false);
		str_clear(&out);
		(void)message_imap_section(&out, msg, size, root, sections[i], true);
	}

	char section[65];
	size_t n = 0;
	while (n < size && n < sizeof(section) - 1 && msg[n] != '\n' &&
	       msg[n] != '\0')
		n++;
	memcpy(section, msg, n);
	section[n] = '\0';
	str_clear(&out);
	(void)message_imap_section(&out, msg, size, root, section, false);
	str_clear(&out);
	(void)message_imap_section(&out, msg, size, root, section, true);

	str_t stored = STR_INIT, folded = STR_INIT;
	message_search_fields(&stored, msg, root);
	for (size_t i = 0; i < sizeof(needles) / sizeof(needles[0]); i++) {
		str_clear(&folded);
		utf8_fold_case(&folded, needles[i], strlen(needles[i]));
		for (size_t f = 0; root != NULL && f < sizeof(fields) / sizeof(fields[0]); f++) {
			bool want = message_search_header(msg, size, root, fields[f], needles[i]);
			bool got = message_search_fields_match(stored.data, stored.len,
							       message_search_field_code(fields[f]),
							       folded.data, folded.len);
			if (want != got)
				abort();
		}
		(void)message_search_fields_match(msg, size, 's', folded.data, folded.len);
		(void)message_search_header(msg, size, root, "Subject", needles[i]);
		(void)message_search_body(msg, size, root, needles[i]);
		(void)message_search_text(msg, size, root, needles[i]);
	}
	time_t t;
	int tz;
	(void)message_date_r(msg, root, &t, &tz);
	str_clear(&out);
	(void)rfc2047_decode(msg, size, &out);

	str_free(&out);
	str_free(&stored);
	str_free(&folded);
	message_part_free(&root);
	free(msg);
	return 0;
}
