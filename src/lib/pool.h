/* Memory pools: allocations that all end together (one IMAP command, one
 * connection). Nothing allocated from a pool is freed on its own. */
#ifndef AGORA_POOL_H
#define AGORA_POOL_H

#include <stddef.h>

struct pool;

struct pool *pool_new(size_t block_size);
void pool_free(struct pool **pool);
/* Frees everything but keeps the first block for reuse. */
void pool_clear(struct pool *pool);
void *pool_alloc(struct pool *pool, size_t n); /* zeroed */
char *pool_strndup(struct pool *pool, const char *s, size_t n);
char *pool_strdup(struct pool *pool, const char *s);

#endif
