/* Growable byte strings: the one buffer type every layer builds output in.
 * A str always keeps a NUL after its last byte, so s->data can be passed to
 * C string functions when the content has no embedded NUL. */
#ifndef AGORA_STR_H
#define AGORA_STR_H

#include <stdarg.h>
#include <stddef.h>

typedef struct str {
	char *data;
	size_t len;
	size_t cap;
} str_t;

#define STR_INIT { NULL, 0, 0 }

void str_init(str_t *s);
void str_free(str_t *s);
/* Keeps the allocation, drops the content. */
void str_clear(str_t *s);
void str_reserve(str_t *s, size_t extra);
void str_append(str_t *s, const char *cstr);
void str_append_n(str_t *s, const void *data, size_t len);
void str_append_c(str_t *s, char c);
void str_printf(str_t *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void str_vprintf(str_t *s, const char *fmt, va_list ap);
void str_truncate(str_t *s, size_t len);
/* Hands the buffer to the caller (malloc'd, NUL-terminated) and resets s. */
char *str_steal(str_t *s);
/* The content as a C string; never NULL. */
const char *str_c(const str_t *s);

#endif
