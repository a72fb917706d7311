#include "lib-auth/scram.h"
#include "lib/xalloc.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

static const EVP_MD *md_of(enum scram_hash h)
{
	return h == SCRAM_SHA1 ? EVP_sha1() : EVP_sha256();
}

size_t scram_hash_len(enum scram_hash h)
{
	return h == SCRAM_SHA1 ? 20 : 32;
}

const char *scram_hash_name(enum scram_hash h)
{
	return h == SCRAM_SHA1 ? "SCRAM-SHA-1" : "SCRAM-SHA-256";
}

int scram_mech_parse(const char *mech, enum scram_hash *hash_r, bool *plus_r)
{
	static const struct { const char *name; enum scram_hash h; bool plus; } mechs[] = {
		{ "SCRAM-SHA-1", SCRAM_SHA1, false }, { "SCRAM-SHA-1-PLUS", SCRAM_SHA1, true },
		{ "SCRAM-SHA-256", SCRAM_SHA256, false }, { "SCRAM-SHA-256-PLUS", SCRAM_SHA256, true },
	};
	for (size_t i = 0; i < sizeof(mechs) / sizeof(mechs[0]); i++) {
		if (strcasecmp(mech, mechs[i].name) == 0) {
			*hash_r = mechs[i].h;
			*plus_r = mechs[i].plus;
			return 0;
		}
	}
	return -1;
}

void scram_b64_encode(const unsigned char *data, size_t len, str_t *out)
{
	size_t need = 4 * ((len + 2) / 3) + 1;
	unsigned char *buf = xmalloc(need);
	int n = EVP_EncodeBlock(buf, data, (int)len);
	str_append_n(out, buf, (size_t)n);
	free(buf);
}

int scram_b64_decode(const char *b64, size_t len, str_t *out)
{
	if (len % 4 != 0)
		return -1;
	for (size_t i = 0; i < len; i++) {
		char ch = b64[i];
		bool ok = (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') ||
			  ch == '+' || ch == '/' || (ch == '=' && i >= len - 2);
		if (!ok || (i == len - 2 && ch == '=' && b64[len - 1] != '='))
			return -1;
	}
	if (len == 0)
		return 0;
	unsigned char *buf = xmalloc(len);
	int n = EVP_DecodeBlock(buf, (const unsigned char *)b64, (int)len);
	if (n < 0) {
		free(buf);
		return -1;
	}
	if (b64[len - 1] == '=')
		n--;
	if (b64[len - 2] == '=')
		n--;
	str_append_n(out, buf, (size_t)n);
	free(buf);
	return 0;
}

static int hmac(enum scram_hash h, const unsigned char *key, size_t keylen, const void *data, size_t len,
		unsigned char *out)
{
	unsigned int outlen = 0;
	return HMAC(md_of(h), key, (int)keylen, data, len, out, &outlen) == NULL ? -1 : 0;
}

int scram_secret_compute(enum scram_hash h, const char *password, const unsigned char *salt,
			 size_t salt_len, unsigned iterations, struct scram_secret *out)
{
	size_t hl = scram_hash_len(h);
	unsigned char salted[SCRAM_MAX_KEY], client_key[SCRAM_MAX_KEY];
	if (salt_len > sizeof(out->salt) || iterations == 0)
		return -1;
	if (PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt, (int)salt_len, (int)iterations,
			      md_of(h), (int)hl, salted) != 1)
		return -1;
	int r = 0;
	if (hmac(h, salted, hl, "Client Key", 10, client_key) < 0 ||
	    hmac(h, salted, hl, "Server Key", 10, out->server_key) < 0 ||
	    EVP_Digest(client_key, hl, out->stored_key, NULL, md_of(h), NULL) != 1)
		r = -1;
	out->iterations = iterations;
	memcpy(out->salt, salt, salt_len);
	out->salt_len = salt_len;
	OPENSSL_cleanse(salted, sizeof(salted));
	OPENSSL_cleanse(client_key, sizeof(client_key));
	return r;
}

int scram_secret_make(enum scram_hash h, const char *password, unsigned iterations, str_t *out)
{
	unsigned char salt[SCRAM_SALT_LEN];
	struct scram_secret sec;
	if (RAND_bytes(salt, sizeof(salt)) != 1 ||
	    scram_secret_compute(h, password, salt, sizeof(salt), iterations, &sec) < 0)
		return -1;
	size_t hl = scram_hash_len(h);
	str_printf(out, "%u,", iterations);
	scram_b64_encode(sec.salt, sec.salt_len, out);
	str_append_c(out, ',');
	scram_b64_encode(sec.stored_key, hl, out);
	str_append_c(out, ',');
	scram_b64_encode(sec.server_key, hl, out);
	OPENSSL_cleanse(&sec, sizeof(sec));
	return 0;
}

int scram_secret_parse(enum scram_hash h, const char *text, struct scram_secret *out)
{
	char *end;
	unsigned long it = strtoul(text, &end, 10);
	if (end == text || *end != ',' || it == 0 || it > SCRAM_MAX_ITERATIONS)
		return -1;
	const char *p[3];
	size_t len[3];
	const char *cur = end + 1;
	for (int i = 0; i < 3; i++) {
		const char *comma = strchr(cur, ',');
		if ((i < 2) != (comma != NULL))
			return -1;
		p[i] = cur;
		len[i] = comma != NULL ? (size_t)(comma - cur) : strlen(cur);
		cur = comma != NULL ? comma + 1 : NULL;
	}
	str_t salt = STR_INIT, sk = STR_INIT, svk = STR_INIT;
	int r = -1;
	size_t hl = scram_hash_len(h);
	if (scram_b64_decode(p[0], len[0], &salt) == 0 && scram_b64_decode(p[1], len[1], &sk) == 0 &&
	    scram_b64_decode(p[2], len[2], &svk) == 0 && salt.len > 0 && salt.len <= sizeof(out->salt) &&
	    sk.len == hl && svk.len == hl) {
		out->iterations = (unsigned)it;
		memcpy(out->salt, salt.data, salt.len);
		out->salt_len = salt.len;
		memcpy(out->stored_key, sk.data, hl);
		memcpy(out->server_key, svk.data, hl);
		r = 0;
	}
	str_free(&salt);
	str_free(&sk);
	str_free(&svk);
	return r;
}

/* saslname: "=2C" is ',', "=3D" is '='; any other '=' is an error. */
static char *decode_saslname(const char *s, size_t len)
{
	str_t out = STR_INIT;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '=') {
			if (i + 3 <= len && strncmp(s + i, "=2C", 3) == 0)
				str_append_c(&out, ',');
			else if (i + 3 <= len && strncmp(s + i, "=3D", 3) == 0)
				str_append_c(&out, '=');
			else {
				str_free(&out);
				return NULL;
			}
			i += 2;
		} else if (s[i] == '\0' || s[i] == ',') {
			str_free(&out);
			return NULL;
		} else {
			str_append_c(&out, s[i]);
		}
	}
	return str_steal(&out);
}

static bool printable_nonce(const char *s, size_t len)
{
	if (len == 0)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ',')
			return false;
	}
	return true;
}

int scram_server_client_first(struct scram_server *s, enum scram_hash h, bool plus,
			      bool server_has_plus, const char *msg, const char **err)
{
	memset(s, 0, sizeof(*s));
	s->hash = h;
	s->plus = plus;
	const char *p = msg;
	/* gs2-cbind-flag */
	if (p[0] == 'n' || p[0] == 'y') {
		s->cbflag = p[0];
		if (p[1] != ',')
			goto bad;
		p += 2;
	} else if (strncmp(p, "p=", 2) == 0) {
		s->cbflag = 'p';
		const char *comma = strchr(p + 2, ',');
		size_t n = comma != NULL ? (size_t)(comma - (p + 2)) : 0;
		if (comma == NULL || n == 0 || n >= sizeof(s->cbname))
			goto bad;
		memcpy(s->cbname, p + 2, n);
		s->cbname[n] = '\0';
		p = comma + 1;
	} else {
		goto bad;
	}
	if (plus && s->cbflag != 'p') {
		*err = "channel binding is required by this mechanism";
		return -1;
	}
	if (!plus && s->cbflag == 'p') {
		*err = "channel binding is not part of this mechanism";
		return -1;
	}
	if (!plus && s->cbflag == 'y' && server_has_plus) {
		/* the client thinks we cannot bind: a downgrade */
		*err = "channel binding is supported by the server";
		return -1;
	}
	/* [authzid] */
	if (strncmp(p, "a=", 2) == 0) {
		const char *comma = strchr(p + 2, ',');
		if (comma == NULL)
			goto bad;
		s->authzid = decode_saslname(p + 2, (size_t)(comma - (p + 2)));
		if (s->authzid == NULL || s->authzid[0] == '\0')
			goto bad;
		p = comma + 1;
	} else if (p[0] == ',') {
		p++;
	} else {
		goto bad;
	}
	if (s->authzid == NULL)
		s->authzid = xstrdup("");
	s->gs2_header = xstrndup(msg, (size_t)(p - msg));
	/* client-first-message-bare: [reserved-mext ","] username "," nonce ["," extensions] */
	s->client_first_bare = xstrdup(p);
	if (strncmp(p, "m=", 2) == 0) {
		*err = "mandatory extension not supported";
		return -1;
	}
	if (strncmp(p, "n=", 2) != 0)
		goto bad;
	const char *comma = strchr(p + 2, ',');
	if (comma == NULL)
		goto bad;
	s->user = decode_saslname(p + 2, (size_t)(comma - (p + 2)));
	if (s->user == NULL || s->user[0] == '\0')
		goto bad;
	p = comma + 1;
	if (strncmp(p, "r=", 2) != 0)
		goto bad;
	p += 2;
	size_t nlen = strcspn(p, ",");
	if (!printable_nonce(p, nlen))
		goto bad;
	s->nonce = xstrndup(p, nlen);
	return 0;
bad:
	*err = "malformed client-first-message";
	return -1;
}

void scram_server_first(struct scram_server *s, const struct scram_secret *secret, const char *snonce)
{
	s->secret = *secret;
	str_t n = STR_INIT;
	str_append(&n, s->nonce);
	str_append(&n, snonce);
	free(s->nonce);
	s->nonce = str_steal(&n);
	str_t out = STR_INIT;
	str_printf(&out, "r=%s,s=", s->nonce);
	scram_b64_encode(secret->salt, secret->salt_len, &out);
	str_printf(&out, ",i=%u", secret->iterations);
	s->server_first = str_steal(&out);
}

int scram_server_client_final(struct scram_server *s, const char *msg, const unsigned char *cbdata,
			      size_t cbdata_len, str_t *server_final, const char **err)
{
	size_t hl = scram_hash_len(s->hash);
	/* channel-binding "," nonce ["," extensions] "," proof */
	const char *proof = strstr(msg, ",p=");
	if (strncmp(msg, "c=", 2) != 0 || proof == NULL || strchr(proof + 3, ',') != NULL) {
		*err = "malformed client-final-message";
		return -1;
	}
	const char *c_end = strchr(msg, ',');
	/* the expected c=: base64(gs2-header [cbdata]) */
	str_t cb = STR_INIT, want = STR_INIT;
	str_append(&cb, s->gs2_header);
	if (s->cbflag == 'p')
		str_append_n(&cb, cbdata, cbdata_len);
	scram_b64_encode((const unsigned char *)cb.data, cb.len, &want);
	bool cb_ok = (size_t)(c_end - (msg + 2)) == want.len && memcmp(msg + 2, want.data, want.len) == 0;
	str_free(&cb);
	str_free(&want);
	const char *r = c_end + 1;
	size_t nlen = strlen(s->nonce);
	bool nonce_ok = strncmp(r, "r=", 2) == 0 && strncmp(r + 2, s->nonce, nlen) == 0 &&
			(r[2 + nlen] == ',');
	if (!nonce_ok) {
		*err = "nonce mismatch";
		return -1;
	}
	if (!cb_ok) {
		*err = "channel binding mismatch";
		return 0;
	}
	str_t proof_raw = STR_INIT;
	if (scram_b64_decode(proof + 3, strlen(proof + 3), &proof_raw) < 0 || proof_raw.len != hl) {
		str_free(&proof_raw);
		*err = "malformed proof";
		return -1;
	}
	str_t auth = STR_INIT;
	str_printf(&auth, "%s,%s,", s->client_first_bare, s->server_first);
	str_append_n(&auth, msg, (size_t)(proof - msg));
	unsigned char sig[SCRAM_MAX_KEY], client_key[SCRAM_MAX_KEY], stored[SCRAM_MAX_KEY];
	int ret = 0;
	if (hmac(s->hash, s->secret.stored_key, hl, auth.data, auth.len, sig) == 0) {
		for (size_t i = 0; i < hl; i++)
			client_key[i] = (unsigned char)proof_raw.data[i] ^ sig[i];
		if (EVP_Digest(client_key, hl, stored, NULL, md_of(s->hash), NULL) == 1 &&
		    CRYPTO_memcmp(stored, s->secret.stored_key, hl) == 0)
			ret = 1;
	}
	if (ret == 1) {
		unsigned char ssig[SCRAM_MAX_KEY];
		if (hmac(s->hash, s->secret.server_key, hl, auth.data, auth.len, ssig) < 0) {
			ret = 0;
		} else {
			str_append(server_final, "v=");
			scram_b64_encode(ssig, hl, server_final);
		}
	} else {
		*err = "invalid proof";
	}
	OPENSSL_cleanse(client_key, sizeof(client_key));
	str_free(&auth);
	str_free(&proof_raw);
	return ret;
}

void scram_server_free(struct scram_server *s)
{
	free(s->gs2_header);
	free(s->authzid);
	free(s->user);
	free(s->client_first_bare);
	free(s->server_first);
	free(s->nonce);
	OPENSSL_cleanse(&s->secret, sizeof(s->secret));
	memset(s, 0, sizeof(*s));
}
