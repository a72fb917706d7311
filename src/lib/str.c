#include "str.h"
#include "xalloc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void str_init(str_t *s)
{
	s->data = NULL;
	s->len = 0;
	s->cap = 0;
}

void str_free(str_t *s)
{
	free(s->data);
	str_init(s);
}

void str_clear(str_t *s)
{
	s->len = 0;
	if (s->data != NULL)
		s->data[0] = '\0';
}

void str_reserve(str_t *s, size_t extra)
{
	size_t need = s->len + extra + 1;
	if (need <= s->cap)
		return;
	size_t cap = s->cap < 64 ? 64 : s->cap;
	while (cap < need)
		cap *= 2;
	s->data = xrealloc(s->data, cap);
	s->cap = cap;
	s->data[s->len] = '\0';
}

void str_append_n(str_t *s, const void *data, size_t len)
{
	str_reserve(s, len);
	if (len > 0)
		memcpy(s->data + s->len, data, len);
	s->len += len;
	s->data[s->len] = '\0';
}

void str_append(str_t *s, const char *cstr)
{
	str_append_n(s, cstr, strlen(cstr));
}

void str_append_c(str_t *s, char c)
{
	str_reserve(s, 1);
	s->data[s->len++] = c;
	s->data[s->len] = '\0';
}

void str_vprintf(str_t *s, const char *fmt, va_list ap)
{
	va_list ap2;
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap2);
	va_end(ap2);
	if (n <= 0)
		return;
	str_reserve(s, (size_t)n);
	vsnprintf(s->data + s->len, (size_t)n + 1, fmt, ap);
	s->len += (size_t)n;
}

void str_printf(str_t *s, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	str_vprintf(s, fmt, ap);
	va_end(ap);
}

void str_truncate(str_t *s, size_t len)
{
	if (len < s->len) {
		s->len = len;
		s->data[len] = '\0';
	}
}

char *str_steal(str_t *s)
{
	char *p = s->data;
	if (p == NULL)
		p = xstrdup("");
	str_init(s);
	return p;
}

const char *str_c(const str_t *s)
{
	return s->data != NULL ? s->data : "";
}
