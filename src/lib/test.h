/* A minimal unit-test harness. Each check that fails prints what was
 * expected and what came back; test_summary() prints the closing line
 * "N passed, N failed" and gives the exit status. */
#ifndef AGORA_TEST_H
#define AGORA_TEST_H

#include <stdio.h>
#include <string.h>

extern int test_passed, test_failed;

#define TEST_DEFINE_COUNTERS int test_passed, test_failed

#define CHECK(cond) do { \
	if (cond) test_passed++; \
	else { test_failed++; \
		fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond); } \
} while (0)

#define CHECK_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	if (g_ != NULL && w_ != NULL && strcmp(g_, w_) == 0) test_passed++; \
	else { test_failed++; \
		fprintf(stderr, "%s:%d: %s\n  expected: %s\n  got:      %s\n", \
			__FILE__, __LINE__, #got, w_ ? w_ : "(null)", g_ ? g_ : "(null)"); } \
} while (0)

#define CHECK_INT(got, want) do { \
	long long g_ = (long long)(got), w_ = (long long)(want); \
	if (g_ == w_) test_passed++; \
	else { test_failed++; \
		fprintf(stderr, "%s:%d: %s\n  expected: %lld\n  got:      %lld\n", \
			__FILE__, __LINE__, #got, w_, g_); } \
} while (0)

static inline int test_summary(const char *name)
{
	printf("%s: %d passed, %d failed\n", name, test_passed, test_failed);
	return test_failed == 0 ? 0 : 1;
}

#endif
