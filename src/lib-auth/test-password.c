#include "lib-auth/password.h"
#include "lib/test.h"

#include <crypt.h>
#include <stdlib.h>
#include <string.h>

TEST_DEFINE_COUNTERS;

static void test_yescrypt_round_trip(void)
{
	str_t h = STR_INIT;
	CHECK_INT(password_hash("secret", &h), 0);
	CHECK(strncmp(str_c(&h), "$y$", 3) == 0);
	CHECK_INT(password_verify("secret", str_c(&h)), 1);
	CHECK_INT(password_verify("Secret", str_c(&h)), 0);
	CHECK_INT(password_verify("secret ", str_c(&h)), 0);
	CHECK_INT(password_verify("", str_c(&h)), 0);

	/* Two hashes of one password differ: each has its own salt. */
	str_t h2 = STR_INIT;
	CHECK_INT(password_hash("secret", &h2), 0);
	CHECK(strcmp(str_c(&h), str_c(&h2)) != 0);
	str_free(&h);
	str_free(&h2);
}

static void test_empty_password_hashes(void)
{
	/* The admin tool refuses empty passwords; the library need not. */
	str_t h = STR_INIT;
	CHECK_INT(password_hash("", &h), 0);
	CHECK_INT(password_verify("", str_c(&h)), 1);
	CHECK_INT(password_verify("x", str_c(&h)), 0);
	str_free(&h);
}

/* A hash made by another system with another method, as after an import. */
static void check_imported(const char *prefix)
{
	char *setting = crypt_gensalt_ra(prefix, 0, NULL, 0);
	CHECK(setting != NULL);
	if (setting == NULL)
		return;
	struct crypt_data data;
	memset(&data, 0, sizeof(data));
	const char *hash = crypt_rn("hunter2", setting, &data, sizeof(data));
	CHECK(hash != NULL && strncmp(hash, prefix, strlen(prefix)) == 0);
	if (hash != NULL) {
		char *copy = strdup(hash);
		CHECK_INT(password_verify("hunter2", copy), 1);
		CHECK_INT(password_verify("hunter3", copy), 0);
		free(copy);
	}
	free(setting);
}

static void test_imported_hashes_verify(void)
{
	check_imported("$2b$");
	check_imported("$6$");
}

static void test_unusable_hashes_never_match(void)
{
	CHECK_INT(password_verify("", ""), 0);
	CHECK_INT(password_verify("x", ""), 0);
	CHECK_INT(password_verify("x", "*"), 0);
	CHECK_INT(password_verify("", "*"), 0);
	CHECK_INT(password_verify("x", "!"), 0);
	CHECK_INT(password_verify("x", NULL), 0);

	/* A locked shadow entry keeps its hash behind the "!". */
	str_t h = STR_INIT;
	CHECK_INT(password_hash("secret", &h), 0);
	str_t locked = STR_INIT;
	str_printf(&locked, "!%s", str_c(&h));
	CHECK_INT(password_verify("secret", str_c(&locked)), 0);

	/* Damaged or foreign strings. */
	CHECK_INT(password_verify("secret", "$y$"), 0);
	CHECK_INT(password_verify("secret", "$y$garbage"), 0);
	CHECK_INT(password_verify("secret", "$nosuchmethod$abc$def"), 0);
	CHECK_INT(password_verify("secret", "$6$"), 0);
	CHECK_INT(password_verify("secret", "plaintext"), 0);
	/* A hash cut short must not match its own prefix. */
	str_t cut = STR_INIT;
	str_append_n(&cut, h.data, h.len - 5);
	CHECK_INT(password_verify("secret", str_c(&cut)), 0);
	str_free(&h);
	str_free(&locked);
	str_free(&cut);
}

int main(void)
{
	test_yescrypt_round_trip();
	test_empty_password_hashes();
	test_imported_hashes_verify();
	test_unusable_hashes_never_match();
	return test_summary("password");
}
