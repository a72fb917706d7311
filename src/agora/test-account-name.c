#include "agora/account-name.h"
#include "lib/bounds.h"
#include "lib/config.h"
#include "lib/test.h"

#include <string.h>

TEST_DEFINE_COUNTERS;

static struct config *cfg_with_sep(const char *unixhierarchysep)
{
	str_t err = STR_INIT;
	struct config *cfg = config_defaults();
	CHECK_INT(config_set(cfg, "unixhierarchysep", unixhierarchysep, &err), 0);
	str_free(&err);
	return cfg;
}

/* 1 accepted, 0 refused; on refusal the message must contain `why`. */
static int check(const struct config *cfg, const char *name, const char *why)
{
	str_t err = STR_INIT;
	int ret = account_name_check(cfg, "user", name, &err);
	if (ret < 0 && why != NULL && strstr(str_c(&err), why) == NULL) {
		fprintf(stderr, "message for '%s' lacks '%s': %s\n", name, why, str_c(&err));
		test_failed++;
	}
	str_free(&err);
	return ret == 0;
}

static void test_plain_names_accepted(void)
{
	struct config *cfg = cfg_with_sep("no");
	CHECK(check(cfg, "bob", NULL));
	CHECK(check(cfg, "Bob_Smith-2", NULL));
	CHECK(check(cfg, "bob@example-com", NULL));
	CHECK(check(cfg, "a", NULL));
	char longest[USER_NAME_MAX + 2];
	memset(longest, 'x', USER_NAME_MAX);
	longest[USER_NAME_MAX] = '\0';
	CHECK(check(cfg, longest, NULL));
	longest[USER_NAME_MAX] = 'x';
	longest[USER_NAME_MAX + 1] = '\0';
	CHECK(!check(cfg, longest, "longer than"));
	config_free(&cfg);
}

static void test_bad_names_refused_with_reason(void)
{
	struct config *cfg = cfg_with_sep("no");
	CHECK(!check(cfg, "", "empty"));
	CHECK(!check(cfg, "a b", "0x20"));
	CHECK(!check(cfg, "a/b", "'/'"));
	CHECK(!check(cfg, "a%b", "'%'"));
	CHECK(!check(cfg, "a*", "'*'"));
	CHECK(!check(cfg, "\xc3\xa9t\xc3\xa9", "0xc3"));
	CHECK(!check(cfg, "-bob", "start with '-'"));
	CHECK(!check(cfg, "anyone", "reserved"));
	CHECK(!check(cfg, "ANONYMOUS", "reserved"));
	CHECK(!check(cfg, "authenticated", "reserved"));
	config_free(&cfg);
}

static void test_dots_follow_unixhierarchysep(void)
{
	struct config *cfg = cfg_with_sep("no");
	CHECK(!check(cfg, "bob.smith", "unixhierarchysep"));
	config_free(&cfg);

	cfg = cfg_with_sep("yes");
	CHECK(check(cfg, "bob.smith", NULL));
	CHECK(check(cfg, "a.b.c", NULL));
	CHECK(!check(cfg, ".bob", "start with '.'"));
	CHECK(!check(cfg, "bob.", "end with '.'"));
	CHECK(!check(cfg, "bob..smith", "'..'"));
	config_free(&cfg);
}

int main(void)
{
	test_plain_names_accepted();
	test_bad_names_refused_with_reason();
	test_dots_follow_unixhierarchysep();
	return test_summary("account-name");
}
