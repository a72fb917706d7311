#include "lib-mail/message-params.h"
#include "lib-mail/charset.h"
#include "lib/str.h"
#include "lib/xalloc.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LANGUAGE_MAX 64
/* RFC 2231 section numbers above this are ignored as junk. */
#define SECTION_MAX 999

struct raw_param {
	char *name;
	char *value;
	size_t base_len;	/* length of the name before '*' */
	int section;		/* RFC 2231 section, 0 when there is none */
	bool is_2231, extended, used;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

/* Skips whitespace and (nested) comments. */
static void skip_cfws(const char *s, size_t len, size_t *i)
{
	while (*i < len) {
		if (is_space(s[*i])) {
			(*i)++;
		} else if (s[*i] == '(') {
			unsigned depth = 0;
			while (*i < len) {
				char c = s[(*i)++];
				if (c == '\\' && *i < len)
					(*i)++;
				else if (c == '(')
					depth++;
				else if (c == ')' && --depth == 0)
					break;
			}
		} else {
			break;
		}
	}
}

static size_t token_end(const char *s, size_t len, size_t i, const char *stop)
{
	while (i < len && !is_space(s[i]) && s[i] != '(' && s[i] != '"' &&
	       strchr(stop, s[i]) == NULL && s[i] != '\0')
		i++;
	return i;
}

/* Reads a quoted string at s[*i] == '"', unescaping it into out. An
 * unterminated string runs to the end of the value. */
static void read_quoted(const char *s, size_t len, size_t *i, str_t *out)
{
	(*i)++;
	while (*i < len) {
		char c = s[(*i)++];
		if (c == '"')
			return;
		if (c == '\\' && *i < len)
			c = s[(*i)++];
		str_append_c(out, c);
	}
}

static void parse_2231_name(struct raw_param *p)
{
	char *star = strchr(p->name, '*');
	p->base_len = strlen(p->name);
	if (star == NULL || star == p->name)
		return;
	const char *q = star + 1;
	int section = 0;
	if (*q == '\0') {
		/* "name*=": one extended value without sections */
		p->base_len = (size_t)(star - p->name);
		p->section = 0;
		p->extended = true;
		p->is_2231 = true;
		return;
	}
	bool has_digits = false;
	while (*q >= '0' && *q <= '9') {
		section = section * 10 + (*q - '0');
		if (section > SECTION_MAX)
			return;
		has_digits = true;
		q++;
	}
	bool extended = false;
	if (*q == '*') {
		extended = true;
		q++;
	}
	if (*q != '\0' || (!has_digits && !extended))
		return;
	p->base_len = (size_t)(star - p->name);
	p->section = section;
	p->extended = extended;
	p->is_2231 = true;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9') return c - '0';
	if (c >= 'a' && c <= 'f') return c - 'a' + 10;
	if (c >= 'A' && c <= 'F') return c - 'A' + 10;
	return -1;
}

static void percent_decode(const char *s, str_t *out)
{
	while (*s != '\0') {
		int h, l;
		if (s[0] == '%' && (h = hexval(s[1])) >= 0 &&
		    (l = hexval(s[2])) >= 0) {
			str_append_c(out, (char)(h * 16 + l));
			s += 3;
		} else {
			str_append_c(out, *s++);
		}
	}
}

static int cmp_section(const void *a, const void *b)
{
	const struct raw_param *const *pa = a, *const *pb = b;
	if ((*pa)->section != (*pb)->section)
		return (*pa)->section < (*pb)->section ? -1 : 1;
	/* keep the input order for duplicates, so the result is defined */
	return *pa < *pb ? -1 : (*pa > *pb);
}

static bool same_base(const struct raw_param *a, const struct raw_param *b)
{
	return a->base_len == b->base_len &&
		strncasecmp(a->name, b->name, a->base_len) == 0;
}

/* Merges all RFC 2231 sections sharing first's base name into one value. */
static char *merge_2231(struct raw_param *raw, size_t count,
			struct raw_param *first)
{
	struct raw_param *sect[MESSAGE_PARAMS_MAX];
	size_t n = 0;
	for (size_t i = 0; i < count; i++) {
		if (raw[i].is_2231 && same_base(&raw[i], first)) {
			raw[i].used = true;
			sect[n++] = &raw[i];
		}
	}
	qsort(sect, n, sizeof(sect[0]), cmp_section);

	str_t bytes = STR_INIT;
	char *charset = NULL;
	for (size_t i = 0; i < n; i++) {
		const char *v = sect[i]->value;
		if (!sect[i]->extended) {
			str_append(&bytes, v);
			continue;
		}
		if (i == 0) {
			/* charset'language'text */
			const char *q1 = strchr(v, '\'');
			const char *q2 = q1 == NULL ? NULL : strchr(q1 + 1, '\'');
			if (q2 != NULL) {
				charset = xstrndup(v, (size_t)(q1 - v));
				v = q2 + 1;
			}
		}
		percent_decode(v, &bytes);
	}
	if (charset != NULL && charset[0] != '\0' &&
	    !charset_is_utf8_compatible(charset)) {
		str_t conv = STR_INIT;
		if (charset_to_utf8(charset, bytes.data != NULL ? bytes.data : "",
				    bytes.len, &conv) == 0) {
			str_free(&bytes);
			bytes = conv;
		} else {
			str_free(&conv);
		}
	}
	free(charset);
	return str_steal(&bytes);
}

static char **build_params(struct raw_param *raw, size_t count)
{
	char **params = xcalloc(count * 2 + 1, sizeof(char *));
	size_t n = 0;

	for (size_t i = 0; i < count; i++) {
		struct raw_param *p = &raw[i];
		if (p->used)
			continue;
		if (p->is_2231) {
			char *value = merge_2231(raw, count, p);
			params[n++] = xstrndup(p->name, p->base_len);
			params[n++] = value;
			continue;
		}
		/* a plain parameter loses to an RFC 2231 one of the same name,
		 * which carries the better (untruncated, tagged) value */
		bool shadowed = false;
		for (size_t j = 0; j < count && !shadowed; j++)
			shadowed = raw[j].is_2231 && same_base(&raw[j], p);
		if (shadowed)
			continue;
		params[n++] = xstrdup(p->name);
		params[n++] = xstrdup(p->value);
	}
	params[n] = NULL;
	return params;
}

void message_params_parse(const char *s, size_t len, bool want_sub,
			  struct message_params_value *result_r)
{
	struct raw_param raw[MESSAGE_PARAMS_MAX];
	size_t count = 0, i = 0, e;

	memset(result_r, 0, sizeof(*result_r));
	skip_cfws(s, len, &i);
	e = token_end(s, len, i, want_sub ? ";/" : ";");
	if (e > i)
		result_r->main = xstrndup(s + i, e - i);
	i = e;
	if (want_sub) {
		skip_cfws(s, len, &i);
		if (i < len && s[i] == '/') {
			i++;
			skip_cfws(s, len, &i);
			e = token_end(s, len, i, ";");
			if (e > i)
				result_r->sub = xstrndup(s + i, e - i);
			i = e;
		}
	}

	while (i < len) {
		/* anything before the next ';' is junk we cannot use */
		while (i < len && s[i] != ';') {
			if (s[i] == '"') {
				str_t junk = STR_INIT;
				read_quoted(s, len, &i, &junk);
				str_free(&junk);
			} else {
				i++;
			}
		}
		if (i >= len)
			break;
		i++;
		skip_cfws(s, len, &i);
		e = token_end(s, len, i, ";=");
		size_t name_start = i, name_end = e;
		i = e;
		skip_cfws(s, len, &i);
		if (name_end == name_start || i >= len || s[i] != '=')
			continue;
		i++;
		skip_cfws(s, len, &i);
		str_t value = STR_INIT;
		if (i < len && s[i] == '"') {
			read_quoted(s, len, &i, &value);
		} else {
			e = token_end(s, len, i, ";");
			str_append_n(&value, s + i, e - i);
			i = e;
		}
		if (count == MESSAGE_PARAMS_MAX) {
			str_free(&value);
			continue;
		}
		struct raw_param *p = &raw[count++];
		memset(p, 0, sizeof(*p));
		p->name = xstrndup(s + name_start, name_end - name_start);
		p->value = str_steal(&value);
		parse_2231_name(p);
	}
	result_r->params = build_params(raw, count);
	for (size_t k = 0; k < count; k++) {
		free(raw[k].name);
		free(raw[k].value);
	}
}

char **message_language_parse(const char *s, size_t len)
{
	char **langs = NULL;
	size_t n = 0, i = 0;

	while (i < len && n < LANGUAGE_MAX) {
		skip_cfws(s, len, &i);
		size_t e = token_end(s, len, i, ",");
		if (e > i) {
			langs = xrealloc(langs, (n + 2) * sizeof(char *));
			langs[n++] = xstrndup(s + i, e - i);
			langs[n] = NULL;
		}
		i = e;
		/* skip to after the next comma */
		while (i < len && s[i] != ',')
			i++;
		if (i < len)
			i++;
	}
	return langs;
}

const char *message_params_get(char *const *params, const char *name)
{
	if (params == NULL)
		return NULL;
	for (size_t i = 0; params[i] != NULL && params[i + 1] != NULL; i += 2) {
		if (strcasecmp(params[i], name) == 0)
			return params[i + 1];
	}
	return NULL;
}

void message_strv_free(char **v)
{
	if (v == NULL)
		return;
	for (size_t i = 0; v[i] != NULL; i++)
		free(v[i]);
	free(v);
}
