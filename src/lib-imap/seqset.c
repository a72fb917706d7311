#include "lib-imap/seqset.h"
#include "lib/xalloc.h"

#include <stdlib.h>
#include <string.h>

static void ensure_room(struct seqset *set, size_t extra)
{
	if (set->alloc - set->count >= extra)
		return;
	size_t want = set->alloc < 8 ? 8 : set->alloc;
	while (want - set->count < extra) {
		if (want > SIZE_MAX / 2 / sizeof(*set->ranges))
			abort();
		want *= 2;
	}
	set->ranges = xrealloc(set->ranges, want * sizeof(*set->ranges));
	set->alloc = want;
}

/* Index of the first range that ends at or after n-1, i.e. the first one
 * that n could touch or be merged into; count if none. */
static size_t find_first_touching(const struct seqset *set, uint64_t n)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if ((uint64_t)set->ranges[mid].hi + 1 < n)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

void seqset_add_range(struct seqset *set, uint32_t lo, uint32_t hi)
{
	if (lo > hi) {
		uint32_t t = lo; lo = hi; hi = t;
	}
	size_t i = find_first_touching(set, lo);
	size_t j = i;

	/* Swallow every range that overlaps or abuts [lo, hi]. */
	while (j < set->count && set->ranges[j].lo <= (uint64_t)hi + 1) {
		if (set->ranges[j].lo < lo)
			lo = set->ranges[j].lo;
		if (set->ranges[j].hi > hi)
			hi = set->ranges[j].hi;
		j++;
	}
	if (i == j) {
		ensure_room(set, 1);
		memmove(&set->ranges[i + 1], &set->ranges[i],
			(set->count - i) * sizeof(*set->ranges));
		set->count++;
	} else if (j - i > 1) {
		memmove(&set->ranges[i + 1], &set->ranges[j],
			(set->count - j) * sizeof(*set->ranges));
		set->count -= j - i - 1;
	}
	set->ranges[i].lo = lo;
	set->ranges[i].hi = hi;
}

void seqset_add(struct seqset *set, uint32_t n)
{
	seqset_add_range(set, n, n);
}

bool seqset_contains(const struct seqset *set, uint32_t n)
{
	size_t lo = 0, hi = set->count;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (set->ranges[mid].hi < n)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < set->count && set->ranges[lo].lo <= n;
}

uint64_t seqset_count(const struct seqset *set)
{
	uint64_t total = 0;

	for (size_t i = 0; i < set->count; i++)
		total += (uint64_t)set->ranges[i].hi - set->ranges[i].lo + 1;
	return total;
}

void seqset_format(const struct seqset *set, str_t *out)
{
	for (size_t i = 0; i < set->count; i++) {
		const struct seq_range *r = &set->ranges[i];
		if (i > 0)
			str_append_c(out, ',');
		if (r->lo == r->hi)
			str_printf(out, "%u", r->lo);
		else
			str_printf(out, "%u:%u", r->lo, r->hi);
	}
}

void seqset_free(struct seqset *set)
{
	free(set->ranges);
	set->ranges = NULL;
	set->count = set->alloc = 0;
}

/* seq-number = nz-number / "*". Sets *n_r (star for '*') and advances *p.
 * The value is checked digit by digit so no length of digits overflows. */
static int parse_number(const char **p, uint32_t star, uint32_t *n_r)
{
	const char *s = *p;
	uint64_t n = 0;

	if (*s == '*') {
		*n_r = star;
		*p = s + 1;
		return 0;
	}
	if (*s < '1' || *s > '9')
		return -1;	/* also rejects 0 and leading zeros */
	for (; *s >= '0' && *s <= '9'; s++) {
		n = n * 10 + (uint64_t)(*s - '0');
		if (n > UINT32_MAX)
			return -1;
	}
	*n_r = (uint32_t)n;
	*p = s;
	return 0;
}

static int cmp_range(const void *a_, const void *b_)
{
	const struct seq_range *a = a_, *b = b_;

	if (a->lo != b->lo)
		return a->lo < b->lo ? -1 : 1;
	return 0;
}

/* Sorts and merges ranges collected in arbitrary order: the client chooses
 * the order, and inserting one at a time could cost quadratic time. */
static void normalise(struct seqset *set)
{
	size_t w = 0;

	if (set->count == 0)
		return;
	qsort(set->ranges, set->count, sizeof(*set->ranges), cmp_range);
	for (size_t r = 1; r < set->count; r++) {
		struct seq_range *cur = &set->ranges[w];
		if (set->ranges[r].lo <= (uint64_t)cur->hi + 1) {
			if (set->ranges[r].hi > cur->hi)
				cur->hi = set->ranges[r].hi;
		} else {
			set->ranges[++w] = set->ranges[r];
		}
	}
	set->count = w + 1;
}

/* Parses text; out may be NULL to check the syntax only. */
static int parse(const char *text, uint32_t star, struct seqset *out)
{
	const char *p = text;

	if (out != NULL)
		out->count = 0;
	for (;;) {
		uint32_t lo, hi;
		bool is_range = false;

		if (parse_number(&p, star, &lo) < 0)
			goto fail;
		hi = lo;
		if (*p == ':') {
			p++;
			if (parse_number(&p, star, &hi) < 0)
				goto fail;
			is_range = true;
		}
		if (out != NULL) {
			if (lo > hi) {
				uint32_t t = lo; lo = hi; hi = t;
			}
			/* Only an empty mailbox's '*' gives 0: "*" then names
			 * nothing and "n:*" means 1..n. */
			if (lo == 0 && is_range)
				lo = 1;
			if (hi != 0) {
				ensure_room(out, 1);
				out->ranges[out->count].lo = lo;
				out->ranges[out->count].hi = hi;
				out->count++;
			}
		}
		if (*p == '\0')
			break;
		if (*p != ',')
			goto fail;
		p++;
	}
	if (out != NULL)
		normalise(out);
	return 0;
fail:
	if (out != NULL)
		out->count = 0;
	return -1;
}

int seqset_parse(const char *text, uint32_t star, struct seqset *out)
{
	return parse(text, star, out);
}

bool seqset_is_valid(const char *text)
{
	return parse(text, 0, NULL) == 0;
}
