/* The secrets of accounts: password hashes and SCRAM keys, in their own
 * database, `secrets.db` in configdirectory (mode 0600; owned by root
 * when agorad is started as root, so that the workers, which run as the
 * `user` option's account, cannot open it).
 *
 * Only the auth process of agorad and the `agora` tool open it; no code a
 * worker runs includes this header.
 *
 * A secret belongs to an account through the account's secret id (a
 * random 32-hex-digit string in the account's row of agora.db, which
 * never changes, not even when the account is renamed). Each id has one
 * value per scheme: SECRET_PASSWORD (a crypt(3) hash) and the SCRAM
 * schemes ("SCRAM-SHA-1", "SCRAM-SHA-256"; lib-auth/scram.h gives the
 * form). A secret whose id no account names is never reached (an account
 * deleted between the two databases' commits); `agora user add` writes
 * the secret before the account, and `user del` removes the account
 * before the secret. */
#ifndef AGORA_SECRETS_H
#define AGORA_SECRETS_H

#include <stddef.h>
#include "lib/str.h"

struct config;
struct secrets;

#define SECRETS_DB "secrets.db"
#define SECRET_PASSWORD "password"
#define SECRET_ID_LEN 32

/* Opens (creating, mode 0600) configdirectory/secrets.db. NULL with err
 * on failure; *eacces_r (may be NULL) tells a permission problem. */
struct secrets *secrets_open(const struct config *cfg, int *eacces_r, str_t *err);
void secrets_close(struct secrets **sec);
const char *secrets_error(struct secrets *sec);

/* Three-way: 1 found (value set), 0 none, -1 error. */
int secrets_get(struct secrets *sec, const char *id, const char *scheme, str_t *value);
/* Replaces every secret of `id` with these, in one transaction. */
int secrets_set(struct secrets *sec, const char *id, const char *const *schemes,
		const char *const *values, size_t n);
/* Removes every secret of `id`. */
int secrets_del(struct secrets *sec, const char *id);

/* A new random secret id (SECRET_ID_LEN hex digits and a NUL). */
void secrets_new_id(char out[SECRET_ID_LEN + 1]);

/* Moves the secrets an older store kept in agora.db (users.hash and the
 * user_secrets table) into secrets.db and erases them from agora.db
 * (secure_delete on, the column and table dropped, the WAL checkpointed
 * and truncated). Nothing to do: 0. Done: 1 (and *moved_r accounts).
 * -1 with err; *eacces_r tells that secrets.db could not be opened for
 * lack of permission. */
int secrets_migrate(const struct config *cfg, unsigned *moved_r, int *eacces_r, str_t *err);

#endif
