/* Parsing of MIME structured header values: Content-Type,
 * Content-Disposition (RFC 2045, RFC 2183) with their parameters,
 * including RFC 2231 continuations and charset/language tagging, and the
 * Content-Language list (RFC 3282). */
#ifndef AGORA_MESSAGE_PARAMS_H
#define AGORA_MESSAGE_PARAMS_H

#include <stdbool.h>
#include <stddef.h>

/* Parameters beyond this many in one header are ignored: nobody needs
 * more, and the RFC 2231 merge is quadratic in their number. */
#define MESSAGE_PARAMS_MAX 128

struct message_params_value {
	char *main;	/* "text" or "attachment"; NULL when missing */
	char *sub;	/* subtype after '/', only when asked for; else NULL */
	char **params;	/* name, value, name, value, ..., NULL; never NULL */
};

/* Parses an unfolded value "main[/sub] *(; name=value)". Names are kept
 * as given; RFC 2231 sections (name*0, name*1*, ...) are merged into one
 * parameter called by the base name, percent-decoded, and converted to
 * UTF-8 from the declared charset when that is possible. */
void message_params_parse(const char *value, size_t len, bool want_sub,
			  struct message_params_value *result_r);

/* Content-Language: a comma separated list of tags; NULL when empty. */
char **message_language_parse(const char *value, size_t len);

/* Value of a parameter (case-insensitive name) or NULL. */
const char *message_params_get(char *const *params, const char *name);
/* Frees a NULL-terminated string array (NULL is fine). */
void message_strv_free(char **v);

#endif
