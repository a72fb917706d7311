/* Allocation that never returns NULL: a worker that cannot allocate a few
 * bytes cannot serve anyone, so it logs and exits and the master restarts it. */
#ifndef AGORA_XALLOC_H
#define AGORA_XALLOC_H

#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
void *xmemdup(const void *p, size_t n);

#endif
