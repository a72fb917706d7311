#include "agorad/imap/imap-flags.h"
#include "lib/bounds.h"
#include "lib-imap/imap-quote.h"
#include "lib-storage/store.h"

#include <string.h>
#include <strings.h>

int imap_flags_parse(const struct imap_arg *args, size_t n, uint32_t *flags, str_t *kw,
		     const char **error_r)
{
	static const struct { const char *name; uint32_t bit; } sys[] = {
		{ "\\Answered", MSG_ANSWERED }, { "\\Flagged", MSG_FLAGGED }, { "\\Deleted", MSG_DELETED },
		{ "\\Seen", MSG_SEEN }, { "\\Draft", MSG_DRAFT },
	};
	*flags = 0;
	str_clear(kw);
	for (size_t i = 0; i < n; i++) {
		const struct imap_arg *a = &args[i];
		if (a->type != IMAP_ARG_ATOM) {
			*error_r = "Flags must be atoms";
			return -1;
		}
		if (a->str[0] == '\\') {
			size_t k;
			for (k = 0; k < sizeof(sys) / sizeof(sys[0]); k++) {
				if (strcasecmp(a->str, sys[k].name) == 0) {
					*flags |= sys[k].bit;
					break;
				}
			}
			if (k == sizeof(sys) / sizeof(sys[0])) {
				*error_r = strcasecmp(a->str, "\\Recent") == 0 ? "\\Recent cannot be set" :
					"Unknown system flag";
				return -1;
			}
			continue;
		}
		if (!imap_is_atom(a->str, a->len) || strpbrk(a->str, "[]") != NULL) {
			*error_r = "Invalid keyword";
			return -1;
		}
		if (a->len > KEYWORD_MAX_LEN) {
			*error_r = "Keyword too long";
			return -1;
		}
		if (kw->len > 0)
			str_append_c(kw, ' ');
		str_append(kw, a->str);
	}
	return 0;
}

bool imap_keywords_next(const char **p, const char **word_r, size_t *len_r)
{
	const char *s = *p;
	if (*s == '\0')
		return false;
	while (*s == ' ')
		s++;
	*word_r = s;
	while (*s != '\0' && *s != ' ')
		s++;
	*len_r = (size_t)(s - *word_r);
	*p = s;
	return true;
}

bool imap_keyword_in_list(const char *list, const char *kw, size_t kwlen)
{
	const char *p = list, *w;
	size_t n;
	while (p != NULL && imap_keywords_next(&p, &w, &n)) {
		if (n == kwlen && strncasecmp(w, kw, kwlen) == 0)
			return true;
	}
	return false;
}
