#include "lib-mail/message-address.h"
#include "lib/str.h"
#include "lib/xalloc.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

enum tok_type {
	TOK_ATOM,	/* atom (dots inside are separate TOK_SPECIAL) */
	TOK_QSTRING,	/* quoted string; raw includes the quotes */
	TOK_DLITERAL,	/* [domain literal] */
	TOK_SPECIAL,	/* one of < > @ : ; , . */
};

struct token {
	enum tok_type type;
	const char *raw;
	size_t raw_len;
};

struct tokens {
	struct token *t;
	size_t count, cap;
};

static bool is_space(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

static bool is_special(char c)
{
	return strchr("<>@:;,.()[]\"\\", c) != NULL && c != '\0';
}

static void add_token(struct tokens *toks, enum tok_type type,
		      const char *raw, size_t len)
{
	if (toks->count == toks->cap) {
		toks->cap = toks->cap == 0 ? 16 : toks->cap * 2;
		toks->t = xrealloc(toks->t, toks->cap * sizeof(struct token));
	}
	toks->t[toks->count].type = type;
	toks->t[toks->count].raw = raw;
	toks->t[toks->count].raw_len = len;
	toks->count++;
}

/* Splits the value into tokens; comments are dropped, unterminated
 * quoted strings, comments and literals run to the end. */
static void tokenize(const char *s, size_t len, struct tokens *toks)
{
	size_t i = 0;
	while (i < len) {
		char c = s[i];
		size_t start = i;
		if (is_space(c)) {
			i++;
		} else if (c == '(') {
			unsigned depth = 0;
			while (i < len) {
				char d = s[i++];
				if (d == '\\' && i < len)
					i++;
				else if (d == '(')
					depth++;
				else if (d == ')' && --depth == 0)
					break;
			}
		} else if (c == '"') {
			i++;
			while (i < len && s[i] != '"') {
				if (s[i] == '\\' && i + 1 < len)
					i++;
				i++;
			}
			if (i < len)
				i++;
			add_token(toks, TOK_QSTRING, s + start, i - start);
		} else if (c == '[') {
			while (i < len && s[i] != ']')
				i++;
			if (i < len)
				i++;
			add_token(toks, TOK_DLITERAL, s + start, i - start);
		} else if (strchr("<>@:;,.", c) != NULL && c != '\0') {
			i++;
			add_token(toks, TOK_SPECIAL, s + start, 1);
		} else if (c == ')' || c == ']' || c == '\\') {
			i++;	/* stray: ignore */
		} else {
			while (i < len && !is_space(s[i]) && !is_special(s[i]))
				i++;
			add_token(toks, TOK_ATOM, s + start, i - start);
		}
	}
}

static bool tok_is(const struct tokens *toks, size_t i, char c)
{
	return i < toks->count && toks->t[i].type == TOK_SPECIAL &&
		toks->t[i].raw[0] == c;
}

/* A display name: words joined by single spaces, quoted strings
 * unquoted. NULL when there are no words. */
static char *phrase(const struct tokens *toks, size_t from, size_t to)
{
	str_t s = STR_INIT;
	bool any = false;
	for (size_t i = from; i < to; i++) {
		const struct token *t = &toks->t[i];
		if (t->type == TOK_SPECIAL && t->raw[0] == '.') {
			str_append_c(&s, '.');
			any = true;
			continue;
		}
		if (t->type == TOK_SPECIAL)
			continue;
		if (s.len > 0)
			str_append_c(&s, ' ');
		any = true;
		if (t->type == TOK_QSTRING) {
			size_t end = t->raw_len;
			if (end >= 2 && t->raw[end - 1] == '"')
				end--;
			for (size_t k = 1; k < end; k++) {
				if (t->raw[k] == '\\' && k + 1 < end)
					k++;
				str_append_c(&s, t->raw[k]);
			}
		} else {
			str_append_n(&s, t->raw, t->raw_len);
		}
	}
	if (!any) {
		str_free(&s);
		return NULL;
	}
	return str_steal(&s);
}

/* A local part or domain: tokens concatenated as written. */
static char *joined(const struct tokens *toks, size_t from, size_t to)
{
	str_t s = STR_INIT;
	for (size_t i = from; i < to; i++)
		str_append_n(&s, toks->t[i].raw, toks->t[i].raw_len);
	return str_steal(&s);
}

struct list_builder {
	struct message_address *head, **tail;
	size_t count;
};

static void emit(struct list_builder *b, char *name, char *route,
		 char *mailbox, char *domain)
{
	if (b->count >= MESSAGE_ADDRESS_MAX) {
		free(name); free(route); free(mailbox); free(domain);
		return;
	}
	struct message_address *a = xcalloc(1, sizeof(*a));
	a->name = name;
	a->route = route;
	a->mailbox = mailbox;
	a->domain = domain;
	*b->tail = a;
	b->tail = &a->next;
	b->count++;
}

static size_t find_special(const struct tokens *toks, size_t i,
			   const char *set)
{
	while (i < toks->count && !(toks->t[i].type == TOK_SPECIAL &&
				     strchr(set, toks->t[i].raw[0]) != NULL))
		i++;
	return i;
}

/* Parses "<[@route,@route:]local@domain>" with i at '<'; returns the
 * index after '>'. */
static size_t parse_angle(const struct tokens *toks, size_t i, char *name,
			  struct list_builder *b)
{
	size_t close = find_special(toks, i + 1, ">");
	char *route = NULL;
	i++;
	if (tok_is(toks, i, '@')) {
		size_t colon = find_special(toks, i, ":>");
		if (colon < close && tok_is(toks, colon, ':')) {
			route = joined(toks, i, colon);
			i = colon + 1;
		}
	}
	size_t at = find_special(toks, i, "@>");
	if (at > close)
		at = close;
	char *mailbox = joined(toks, i, at);
	char *domain = at < close ? joined(toks, at + 1, close) : xstrdup("");
	emit(b, name, route, mailbox, domain);
	return close < toks->count ? close + 1 : close;
}

struct message_address *message_address_parse(const char *value, size_t len)
{
	struct tokens toks = { NULL, 0, 0 };
	struct list_builder b;
	bool in_group = false;
	size_t i = 0;

	b.head = NULL;
	b.tail = &b.head;
	b.count = 0;
	tokenize(value, len, &toks);
	while (i < toks.count) {
		if (tok_is(&toks, i, ',')) {
			i++;
			continue;
		}
		if (tok_is(&toks, i, ';')) {
			if (in_group)
				emit(&b, NULL, NULL, NULL, NULL);
			in_group = false;
			i++;
			continue;
		}
		size_t k = find_special(&toks, i, "<:@,;>");
		if (tok_is(&toks, k, ':')) {
			if (!in_group) {
				char *group = phrase(&toks, i, k);
				emit(&b, NULL, NULL,
				     group != NULL ? group : xstrdup(""), NULL);
				in_group = true;
			}
			i = k + 1;
		} else if (tok_is(&toks, k, '<')) {
			i = parse_angle(&toks, k, phrase(&toks, i, k), &b);
			/* whatever follows up to the next separator is junk */
			while (i < toks.count && !tok_is(&toks, i, ',') &&
			       !tok_is(&toks, i, ';'))
				i++;
		} else if (tok_is(&toks, k, '@')) {
			size_t end = find_special(&toks, k + 1, ",;<>");
			emit(&b, NULL, NULL, joined(&toks, i, k),
			     joined(&toks, k + 1, end));
			i = end;
			if (tok_is(&toks, i, '<') || tok_is(&toks, i, '>')) {
				/* "a@b <c@d>" style junk: skip to a separator */
				while (i < toks.count && !tok_is(&toks, i, ',') &&
				       !tok_is(&toks, i, ';'))
					i++;
			}
		} else {
			/* a bare word without a domain ("undisclosed") */
			if (k > i)
				emit(&b, NULL, NULL, joined(&toks, i, k),
				     xstrdup(""));
			i = k;
			if (tok_is(&toks, i, '>'))
				i++;
		}
	}
	if (in_group)
		emit(&b, NULL, NULL, NULL, NULL);
	free(toks.t);
	return b.head;
}

void message_address_free(struct message_address **list)
{
	struct message_address *a = *list;
	while (a != NULL) {
		struct message_address *next = a->next;
		free(a->name);
		free(a->route);
		free(a->mailbox);
		free(a->domain);
		free(a);
		a = next;
	}
	*list = NULL;
}
