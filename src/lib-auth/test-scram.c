/* SCRAM against the test vectors of RFC 5802 (SHA-1) and RFC 7677 (SHA-256). */
#include "lib-auth/scram.h"
#include "lib/test.h"

#include <stdlib.h>
#include <string.h>

TEST_DEFINE_COUNTERS;

static void run_vector(enum scram_hash h, const char *salt_b64, const char *client_first,
		       const char *cnonce_and_snonce, const char *snonce, const char *server_first,
		       const char *client_final, const char *server_final)
{
	str_t salt = STR_INIT;
	CHECK_INT(scram_b64_decode(salt_b64, strlen(salt_b64), &salt), 0);
	struct scram_secret sec;
	CHECK_INT(scram_secret_compute(h, "pencil", (const unsigned char *)salt.data, salt.len, 4096, &sec), 0);
	struct scram_server s;
	const char *err = NULL;
	CHECK_INT(scram_server_client_first(&s, h, false, false, client_first, &err), 0);
	CHECK_STR(s.user, "user");
	CHECK_STR(s.gs2_header, "n,,");
	scram_server_first(&s, &sec, snonce);
	CHECK_STR(s.server_first, server_first);
	CHECK_STR(s.nonce, cnonce_and_snonce);
	str_t fin = STR_INIT;
	CHECK_INT(scram_server_client_final(&s, client_final, NULL, 0, &fin, &err), 1);
	CHECK_STR(str_c(&fin), server_final);
	str_free(&fin);

	/* a wrong password gives another proof */
	struct scram_secret wrong;
	CHECK_INT(scram_secret_compute(h, "pencil2", (const unsigned char *)salt.data, salt.len, 4096, &wrong), 0);
	struct scram_server s2;
	CHECK_INT(scram_server_client_first(&s2, h, false, false, client_first, &err), 0);
	scram_server_first(&s2, &wrong, snonce);
	CHECK_INT(scram_server_client_final(&s2, client_final, NULL, 0, &fin, &err), 0);
	CHECK_STR(err, "invalid proof");
	scram_server_free(&s2);
	/* a changed nonce is refused */
	CHECK_INT(scram_server_client_first(&s2, h, false, false, client_first, &err), 0);
	scram_server_first(&s2, &sec, "other");
	CHECK_INT(scram_server_client_final(&s2, client_final, NULL, 0, &fin, &err), -1);
	CHECK_STR(err, "nonce mismatch");
	scram_server_free(&s2);
	scram_server_free(&s);
	str_free(&salt);
}

static void test_rfc5802(void)
{
	run_vector(SCRAM_SHA1, "QSXCR+Q6sek8bf92", "n,,n=user,r=fyko+d2lbbFgONRv9qkxdawL",
		   "fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j", "3rfcNHYJY1ZVvWVs7j",
		   "r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,s=QSXCR+Q6sek8bf92,i=4096",
		   "c=biws,r=fyko+d2lbbFgONRv9qkxdawL3rfcNHYJY1ZVvWVs7j,p=v0X8v3Bz2T0CJGbJQyF0X+HI4Ts=",
		   "v=rmF9pqV8S7suAoZWja4dJRkFsKQ=");
}

static void test_rfc7677(void)
{
	run_vector(SCRAM_SHA256, "W22ZaJ0SNY7soEsUEjb6gQ==", "n,,n=user,r=rOprNGfwEbeRWgbNEkqO",
		   "rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0", "%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0",
		   "r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096",
		   "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
		   "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=",
		   "v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=");
}

static void test_secret_text(void)
{
	str_t t = STR_INIT;
	CHECK_INT(scram_secret_make(SCRAM_SHA256, "pencil", 4096, &t), 0);
	struct scram_secret a, b;
	CHECK_INT(scram_secret_parse(SCRAM_SHA256, str_c(&t), &a), 0);
	CHECK_INT(a.iterations, 4096);
	CHECK_INT(scram_secret_compute(SCRAM_SHA256, "pencil", a.salt, a.salt_len, 4096, &b), 0);
	CHECK(memcmp(a.stored_key, b.stored_key, 32) == 0);
	CHECK(memcmp(a.server_key, b.server_key, 32) == 0);
	CHECK_INT(scram_secret_parse(SCRAM_SHA1, str_c(&t), &a), -1);   /* key length */
	CHECK_INT(scram_secret_parse(SCRAM_SHA256, "x,y", &a), -1);
	CHECK_INT(scram_secret_parse(SCRAM_SHA256, "", &a), -1);
	str_free(&t);
}

static void test_client_first_syntax(void)
{
	struct scram_server s;
	const char *err = NULL;
	CHECK_INT(scram_server_client_first(&s, SCRAM_SHA256, false, false, "n,a=ad=3Dm=2Cin,n=us=2Cer,r=abc", &err), 0);
	CHECK_STR(s.authzid, "ad=m,in");
	CHECK_STR(s.user, "us,er");
	CHECK_STR(s.gs2_header, "n,a=ad=3Dm=2Cin,");
	scram_server_free(&s);
	static const char *const bad[] = { "", "x,,n=u,r=a", "n,,n=,r=a", "n,,n=u", "n,,n=u=ZZ,r=a",
		"n,,r=a,n=u", "n,n=u,r=a", "n,,m=x,n=u,r=a", "p=,,n=u,r=a", "n,,n=u,r=" };
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		CHECK_INT(scram_server_client_first(&s, SCRAM_SHA256, false, false, bad[i], &err), -1);
		scram_server_free(&s);
	}
	/* -PLUS needs p=, plain SCRAM refuses it, y= with a server that binds is a downgrade */
	CHECK_INT(scram_server_client_first(&s, SCRAM_SHA256, true, true, "n,,n=u,r=a", &err), -1);
	scram_server_free(&s);
	CHECK_INT(scram_server_client_first(&s, SCRAM_SHA256, false, true, "p=tls-exporter,,n=u,r=a", &err), -1);
	scram_server_free(&s);
	CHECK_INT(scram_server_client_first(&s, SCRAM_SHA256, false, true, "y,,n=u,r=a", &err), -1);
	scram_server_free(&s);
	CHECK_INT(scram_server_client_first(&s, SCRAM_SHA256, false, false, "y,,n=u,r=a", &err), 0);
	scram_server_free(&s);
	CHECK_INT(scram_server_client_first(&s, SCRAM_SHA256, true, true, "p=tls-exporter,,n=u,r=a", &err), 0);
	CHECK_STR(s.cbname, "tls-exporter");
	scram_server_free(&s);
}

int main(void)
{
	test_rfc5802();
	test_rfc7677();
	test_secret_text();
	test_client_first_syntax();
	return test_summary("scram");
}
