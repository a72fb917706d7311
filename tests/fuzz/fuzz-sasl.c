/* libFuzzer target for the SASL parsing the server does (src/lib-auth):
 * the first byte picks a mode and SCRAM's options, the rest is the
 * client's data.
 *   mode 0: base64 as in AUTHENTICATE (sasl_decode), then PLAIN's split;
 *   mode 1: the LOGIN mechanism's two steps, split at the first '\n';
 *   mode 2: a SCRAM exchange against a fixed stored key: client-first,
 *           '\n', client-final, so the fuzzer reaches the final parsing;
 *   mode 3: a SCRAM exchange where the input's client-final text is an
 *           extension that this target signs with the right proof: the
 *           server must accept it and answer with the right signature;
 *   mode 4: the stored secret's text form and SCRAM's own base64.
 * Invariants are checked with abort(): base64 decode(encode(x)) == x,
 * the SASL decoder and SCRAM's agree on what is base64 and what it says,
 * decoded data of what decoded once decodes the same again, PLAIN's parts
 * lie inside the buffer, a correctly signed exchange succeeds. */
#include "lib-auth/sasl.h"
#include "lib-auth/scram.h"
#include "lib/str.h"

#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define PASSWORD "pencil"
#define ITERATIONS 16

static struct scram_secret secrets[2];
static unsigned char client_keys[2][SCRAM_MAX_KEY];

static const EVP_MD *md_of(enum scram_hash h)
{
	return h == SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
}

static void setup(void)
{
	static bool done;
	if (done)
		return;
	static const unsigned char salt[] = "QSXCR+Q6sek8bf92";
	for (int h = 0; h < 2; h++) {
		size_t hl = scram_hash_len((enum scram_hash)h);
		unsigned char salted[SCRAM_MAX_KEY];
		unsigned int n = 0;
		if (scram_secret_compute((enum scram_hash)h, PASSWORD, salt, 16, ITERATIONS, &secrets[h]) < 0 ||
		    PKCS5_PBKDF2_HMAC(PASSWORD, (int)strlen(PASSWORD), salt, 16, ITERATIONS,
				      md_of((enum scram_hash)h), (int)hl, salted) != 1 ||
		    HMAC(md_of((enum scram_hash)h), salted, (int)hl, (const unsigned char *)"Client Key", 10,
			 client_keys[h], &n) == NULL)
			abort();
	}
	done = true;
}

static char *cstr(const uint8_t *p, size_t n)
{
	char *s = malloc(n + 1);
	memcpy(s, p, n);
	s[n] = '\0';
	return s;
}

static void check_b64(const unsigned char *raw, size_t len)
{
	str_t enc = STR_INIT, dec = STR_INIT;
	scram_b64_encode(raw, len, &enc);
	if (scram_b64_decode(enc.data != NULL ? enc.data : "", enc.len, &dec) < 0 || dec.len != len ||
	    (len > 0 && memcmp(dec.data, raw, len) != 0))
		abort();
	size_t n = 0;
	unsigned char *s = sasl_decode(str_c(&enc), &n);
	if (s == NULL || n != len || (len > 0 && memcmp(s, raw, len) != 0))
		abort();
	sasl_free(s, n);
	str_free(&enc);
	str_free(&dec);
}

static void mode_plain(const char *b64)
{
	size_t n = 0;
	unsigned char *buf = sasl_decode(b64, &n);
	if (buf == NULL)
		return;
	if (buf[n] != '\0')
		abort();
	check_b64(buf, n);
	/* what the SASL decoder takes is proper base64: SCRAM's stricter
	 * decoder reads the same bytes from it */
	if (strcmp(b64, "=") != 0) {
		str_t strict = STR_INIT;
		if (scram_b64_decode(b64, strlen(b64), &strict) < 0 || strict.len != n ||
		    (n > 0 && memcmp(strict.data, buf, n) != 0))
			abort();
		str_free(&strict);
	}
	const char *authz, *authc, *pass;
	if (sasl_plain_split(buf, n, &authz, &authc, &pass) == 0) {
		const char *end = (const char *)buf + n;
		if (authz != (const char *)buf || authc <= authz || authc > end || pass <= authc ||
		    pass > end)
			abort();
		if (strlen(authz) + 1 + strlen(authc) + 1 > n)
			abort();
	}
	sasl_free(buf, n);
}

static void mode_login(const char *in)
{
	char *copy = strdup(in);
	char *nl = strchr(copy, '\n');
	if (nl != NULL)
		*nl = '\0';
	const char *steps[2] = { copy, nl != NULL ? nl + 1 : "=" };
	for (int i = 0; i < 2; i++) {
		size_t n = 0;
		unsigned char *buf = sasl_decode(steps[i], &n);
		if (buf == NULL)
			break;
		/* the server refuses a NUL inside a step */
		bool nul = memchr(buf, '\0', n) != NULL;
		sasl_free(buf, n);
		if (nul)
			break;
	}
	free(copy);
}

/* The client's proof for the exchange so far, as base64. */
static void client_proof(const struct scram_server *s, const char *final_without_proof, str_t *out,
			 unsigned char *server_sig)
{
	int h = s->hash;
	size_t hl = scram_hash_len(s->hash);
	unsigned char stored[SCRAM_MAX_KEY], sig[SCRAM_MAX_KEY], proof[SCRAM_MAX_KEY];
	unsigned int n = 0;
	str_t auth = STR_INIT;
	str_printf(&auth, "%s,%s,%s", s->client_first_bare, s->server_first, final_without_proof);
	if (EVP_Digest(client_keys[h], hl, stored, NULL, md_of(s->hash), NULL) != 1 ||
	    HMAC(md_of(s->hash), stored, (int)hl, (const unsigned char *)auth.data, auth.len, sig, &n) == NULL ||
	    HMAC(md_of(s->hash), secrets[h].server_key, (int)hl, (const unsigned char *)auth.data, auth.len,
		 server_sig, &n) == NULL)
		abort();
	for (size_t i = 0; i < hl; i++)
		proof[i] = client_keys[h][i] ^ sig[i];
	scram_b64_encode(proof, hl, out);
	str_free(&auth);
}

static void mode_scram(uint8_t opts, const char *in, bool sign)
{
	enum scram_hash h = (opts & 1) ? SCRAM_SHA256 : SCRAM_SHA1;
	bool plus = (opts & 2) != 0, server_has_plus = (opts & 4) != 0;
	static const unsigned char cbdata[] = "channel-binding-data";
	char *copy = strdup(in);
	char *nl = strchr(copy, '\n');
	if (nl != NULL)
		*nl = '\0';
	const char *first = copy, *final = nl != NULL ? nl + 1 : "";
	struct scram_server s;
	const char *err = NULL;
	if (scram_server_client_first(&s, h, plus, server_has_plus, first, &err) < 0) {
		if (err == NULL)
			abort();
		scram_server_free(&s);
		free(copy);
		return;
	}
	if (s.user == NULL || s.user[0] == '\0' || s.nonce == NULL || s.authzid == NULL ||
	    s.gs2_header == NULL || strncmp(first, s.gs2_header, strlen(s.gs2_header)) != 0)
		abort();
	scram_server_first(&s, &secrets[h], "SERVERNONCE0123456789");
	str_t server_final = STR_INIT, msg = STR_INIT;
	if (!sign) {
		(void)scram_server_client_final(&s, final, cbdata, sizeof(cbdata) - 1, &server_final, &err);
	} else if (strstr(final, ",p=") == NULL && (final[0] == '\0' || final[0] == ',')) {
		/* c= of the right gs2 header and binding, the full nonce, the
		 * input as extensions (when it starts with ','), the right
		 * proof */
		str_t cb = STR_INIT, proof = STR_INIT;
		unsigned char want_sig[SCRAM_MAX_KEY];
		str_append(&cb, s.gs2_header);
		if (s.cbflag == 'p')
			str_append_n(&cb, cbdata, sizeof(cbdata) - 1);
		str_append(&msg, "c=");
		scram_b64_encode((const unsigned char *)cb.data, cb.len, &msg);
		str_printf(&msg, ",r=%s%s", s.nonce, final);
		client_proof(&s, str_c(&msg), &proof, want_sig);
		str_printf(&msg, ",p=%s", str_c(&proof));
		int r = scram_server_client_final(&s, str_c(&msg), cbdata, sizeof(cbdata) - 1, &server_final,
						  &err);
		if (r != 1)
			abort();
		str_t want = STR_INIT;
		str_append(&want, "v=");
		scram_b64_encode(want_sig, scram_hash_len(h), &want);
		if (strcmp(str_c(&want), str_c(&server_final)) != 0)
			abort();
		str_free(&want);
		str_free(&cb);
		str_free(&proof);
	}
	str_free(&msg);
	str_free(&server_final);
	scram_server_free(&s);
	free(copy);
}

static void mode_secret(uint8_t opts, const char *in, size_t len)
{
	struct scram_secret sec;
	enum scram_hash h = (opts & 1) ? SCRAM_SHA256 : SCRAM_SHA1;
	if (scram_secret_parse(h, in, &sec) == 0) {
		if (sec.iterations == 0 || sec.iterations > SCRAM_MAX_ITERATIONS || sec.salt_len == 0 ||
		    sec.salt_len > sizeof(sec.salt))
			abort();
	}
	str_t dec = STR_INIT;
	if (scram_b64_decode(in, len, &dec) == 0) {
		/* what decoded once re-encodes to something that decodes the same */
		check_b64((const unsigned char *)dec.data, dec.len);
	}
	str_free(&dec);
	check_b64((const unsigned char *)in, len);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	setup();
	uint8_t sel = data[0];
	char *in = cstr(data + 1, size - 1);
	/* the server sees C strings: a NUL ends the client's data */
	size_t len = strlen(in);
	switch (sel % 5) {
	case 0:
		mode_plain(in);
		break;
	case 1:
		mode_login(in);
		break;
	case 2:
		mode_scram((uint8_t)(sel / 5), in, false);
		break;
	case 3:
		mode_scram((uint8_t)(sel / 5), in, true);
		break;
	case 4:
		mode_secret((uint8_t)(sel / 5), in, len);
		break;
	}
	free(in);
	return 0;
}
