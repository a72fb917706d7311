#include "lib/pool.h"
#include "lib/xalloc.h"

#include <stdlib.h>
#include <string.h>

struct pool_block {
	struct pool_block *next;
	size_t size, used;
	max_align_t data[];
};

struct pool {
	struct pool_block *blocks;
	size_t block_size;
};

static struct pool_block *block_new(size_t size)
{
	struct pool_block *b = xmalloc(sizeof(*b) + size);
	b->next = NULL;
	b->size = size;
	b->used = 0;
	return b;
}

struct pool *pool_new(size_t block_size)
{
	struct pool *p = xmalloc(sizeof(*p));
	p->block_size = block_size < 256 ? 256 : block_size;
	p->blocks = block_new(p->block_size);
	return p;
}

static void free_chain(struct pool_block *b)
{
	while (b != NULL) {
		struct pool_block *next = b->next;
		free(b);
		b = next;
	}
}

void pool_clear(struct pool *p)
{
	struct pool_block *last = p->blocks;
	/* Keep the oldest (last in the chain) block, which has the base size. */
	while (last->next != NULL)
		last = last->next;
	struct pool_block *b = p->blocks;
	while (b != last) {
		struct pool_block *next = b->next;
		free(b);
		b = next;
	}
	last->used = 0;
	p->blocks = last;
}

void pool_free(struct pool **pp)
{
	if (*pp == NULL)
		return;
	free_chain((*pp)->blocks);
	free(*pp);
	*pp = NULL;
}

void *pool_alloc(struct pool *p, size_t n)
{
	const size_t align = sizeof(max_align_t);
	n = (n + align - 1) / align * align;
	if (n == 0)
		n = align;
	struct pool_block *b = p->blocks;
	if (b->size - b->used < n) {
		size_t size = n > p->block_size ? n : p->block_size;
		b = block_new(size);
		b->next = p->blocks;
		p->blocks = b;
	}
	void *ret = (char *)b->data + b->used;
	b->used += n;
	memset(ret, 0, n);
	return ret;
}

char *pool_strndup(struct pool *p, const char *s, size_t n)
{
	char *r = pool_alloc(p, n + 1);
	memcpy(r, s, n);
	r[n] = '\0';
	return r;
}

char *pool_strdup(struct pool *p, const char *s)
{
	return pool_strndup(p, s, strlen(s));
}
