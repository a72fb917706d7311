#include "lib-auth/sasl.h"
#include "lib/test.h"

TEST_DEFINE_COUNTERS;

int main(void)
{
	size_t n = 99;
	unsigned char *buf = sasl_decode("=", &n);
	CHECK(buf != NULL);
	CHECK_INT(n, 0);
	sasl_free(buf, n);
	/* '=' is padding at the end only */
	CHECK(sasl_decode("AB=C", &n) == NULL);
	CHECK(sasl_decode("====", &n) == NULL);
	CHECK(sasl_decode("A===", &n) == NULL);
	CHECK(sasl_decode("QQ==QQ==", &n) == NULL);
	buf = sasl_decode("QQ==", &n);
	CHECK(buf != NULL && n == 1 && buf[0] == 'A');
	sasl_free(buf, n);
	CHECK(sasl_decode("ABC", &n) == NULL);
	CHECK(sasl_decode("AB!C", &n) == NULL);

	/* "\0bob\0secret" */
	buf = sasl_decode("AGJvYgBzZWNyZXQ=", &n);
	CHECK(buf != NULL);
	CHECK_INT(n, 11);
	const char *authz, *authc, *pass;
	CHECK_INT(sasl_plain_split(buf, n, &authz, &authc, &pass), 0);
	CHECK_STR(authz, "");
	CHECK_STR(authc, "bob");
	CHECK_STR(pass, "secret");
	sasl_free(buf, n);
	/* "bob\0secret": one NUL only */
	buf = sasl_decode("Ym9iAHNlY3JldA==", &n);
	CHECK(buf != NULL);
	CHECK_INT(sasl_plain_split(buf, n, &authz, &authc, &pass), -1);
	sasl_free(buf, n);
	return test_summary("sasl");
}
