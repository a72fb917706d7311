/* Sequence sets (RFC 3501 sequence-set): "1:3,5,7:*", used both for
 * message sequence numbers and for UIDs, and written back out for
 * COPYUID/APPENDUID (RFC 4315). A parsed set is a sorted array of disjoint,
 * non-adjacent ranges, so membership is a binary search and the client
 * cannot make us hold more ranges than its text had. */
#ifndef AGORA_SEQSET_H
#define AGORA_SEQSET_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/str.h"

struct seq_range { uint32_t lo, hi; };
struct seqset { struct seq_range *ranges; size_t count, alloc; };
#define SEQSET_INIT { NULL, 0, 0 }

/* Parses "1:3,5,7:*" into out, replacing what out held. '*' stands for
 * star, the largest sequence number or UID in use; callers pass 0 for an
 * empty mailbox, in which case a lone '*' adds nothing and "n:*" covers
 * 1..n (RFC 3501 6.4.8: "n:*" always includes the last message, whatever
 * n is). Each range is normalised lo<=hi; the result is sorted and merged.
 * Numbers must be nz-number: no 0, no leading zeros, at most 4294967295.
 * Returns 0, or -1 on syntax error (out is then empty). */
int seqset_parse(const char *text, uint32_t star, struct seqset *out);
/* Syntax only: '$' (RFC 5182 saved result) is not accepted. */
bool seqset_is_valid(const char *text);
bool seqset_contains(const struct seqset *set, uint32_t n);
/* Both keep the set sorted and merged. */
void seqset_add(struct seqset *set, uint32_t n);
void seqset_add_range(struct seqset *set, uint32_t lo, uint32_t hi);
/* Numbers in the set; 64 bits because 1:4294967295 has 2^32-1 of them. */
uint64_t seqset_count(const struct seqset *set);
/* Appends "1:3,5"; nothing for an empty set. */
void seqset_format(const struct seqset *set, str_t *out);
void seqset_free(struct seqset *set);

#endif
