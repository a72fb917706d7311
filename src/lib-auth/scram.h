/* SCRAM (RFC 5802, RFC 7677): SCRAM-SHA-1, SCRAM-SHA-256 and their -PLUS
 * variants with channel binding (RFC 5929 tls-server-end-point, RFC 9266
 * tls-exporter), server side, on OpenSSL's PBKDF2, HMAC and SHA.
 *
 * A user's SCRAM secret per hash is stored beside the password hash as
 * text: "ITERATIONS,SALT,STOREDKEY,SERVERKEY" (the last three base64), the
 * form Dovecot uses after its "{SCRAM-SHA-256}" prefix. */
#ifndef AGORA_SCRAM_H
#define AGORA_SCRAM_H

#include <stdbool.h>
#include <stddef.h>
#include "lib/str.h"

enum scram_hash { SCRAM_SHA1, SCRAM_SHA256 };

#define SCRAM_MAX_KEY 32
#define SCRAM_DEFAULT_ITERATIONS 4096
#define SCRAM_MAX_ITERATIONS 1000000
#define SCRAM_SALT_LEN 16

/* "SCRAM-SHA-1" -> SCRAM_SHA1 etc. (a "-PLUS" suffix sets *plus); -1 when
 * not a SCRAM mechanism. */
int scram_mech_parse(const char *mech, enum scram_hash *hash_r, bool *plus_r);
const char *scram_hash_name(enum scram_hash h);   /* "SCRAM-SHA-1" */
size_t scram_hash_len(enum scram_hash h);

struct scram_secret {
	unsigned iterations;
	unsigned char salt[64];
	size_t salt_len;
	unsigned char stored_key[SCRAM_MAX_KEY];
	unsigned char server_key[SCRAM_MAX_KEY];
};

/* StoredKey and ServerKey of a password. 0, or -1 (OpenSSL failed). */
int scram_secret_compute(enum scram_hash h, const char *password, const unsigned char *salt,
			 size_t salt_len, unsigned iterations, struct scram_secret *out);
/* A new secret with a random salt, in stored text form, appended to out. */
int scram_secret_make(enum scram_hash h, const char *password, unsigned iterations, str_t *out);
int scram_secret_parse(enum scram_hash h, const char *text, struct scram_secret *out);

/* One exchange, server side. */
struct scram_server {
	enum scram_hash hash;
	bool plus;
	char cbflag;            /* 'n', 'y' or 'p' */
	char cbname[32];        /* with 'p' */
	char *gs2_header;       /* "p=tls-exporter,a=bob," etc. */
	char *authzid;          /* "" when none */
	char *user;             /* decoded ("=2C" ",", "=3D" "=") */
	char *client_first_bare;
	char *server_first;
	char *nonce;            /* client nonce + server nonce */
	struct scram_secret secret;
};

/* Parses client-first-message. `server_has_plus`: the server offers
 * -PLUS mechanisms on this connection (so "y" means a downgrade). 0, or -1
 * with a reason in *err. */
int scram_server_client_first(struct scram_server *s, enum scram_hash h, bool plus,
			      bool server_has_plus, const char *msg, const char **err);
/* With the user's secret (or a made-up one for an unknown user), builds
 * server-first-message with the server's nonce part `snonce`. */
void scram_server_first(struct scram_server *s, const struct scram_secret *secret, const char *snonce);
/* Checks client-final-message; `cbdata` is the channel binding data of
 * the type the client named (NULL/0 without 'p'). 1 right (server-final
 * in *server_final), 0 wrong proof, -1 malformed (reason in *err). */
int scram_server_client_final(struct scram_server *s, const char *msg, const unsigned char *cbdata,
			      size_t cbdata_len, str_t *server_final, const char **err);
void scram_server_free(struct scram_server *s);

/* base64 without line breaks; decode returns -1 when not base64. */
void scram_b64_encode(const unsigned char *data, size_t len, str_t *out);
int scram_b64_decode(const char *b64, size_t b64_len, str_t *out);

#endif
