#include "lib-auth/password.h"
#include "lib/xalloc.h"

#include <crypt.h>
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* struct crypt_data is some 32 KiB, too big for a worker's stack; it holds
 * password-derived state, so it is wiped before it is freed. */
static struct crypt_data *crypt_data_new(void)
{
	return xcalloc(1, sizeof(struct crypt_data));
}

static void crypt_data_free(struct crypt_data **data)
{
	explicit_bzero(*data, sizeof(**data));
	free(*data);
	*data = NULL;
}

int password_hash(const char *password, str_t *out)
{
	/* count 0: libcrypt's default cost for yescrypt, which the
	 * distribution keeps current; NULL rbytes: it reads the OS RNG. */
	char *setting = crypt_gensalt_ra("$y$", 0, NULL, 0);
	if (setting == NULL)
		return -1;
	struct crypt_data *data = crypt_data_new();
	const char *hash = crypt_rn(password, setting, data, sizeof(*data));
	free(setting);
	int ret = -1;
	/* crypt_rn returns NULL on failure, but guard against the "*" failure
	 * token too so a broken hash can never be stored as a password. */
	if (hash != NULL && hash[0] == '$') {
		str_append(out, hash);
		ret = 0;
	}
	crypt_data_free(&data);
	return ret;
}

/* Whether two strings are equal, taking the same time wherever they
 * differ: an attacker timing logins learns nothing about how much of the
 * hash was right. Lengths are not secret (they follow from the method). */
static bool equal_const_time(const char *a, const char *b)
{
	size_t alen = strlen(a), blen = strlen(b);
	if (alen != blen)
		return false;
	volatile unsigned char diff = 0;
	for (size_t i = 0; i < alen; i++)
		diff |= (unsigned char)a[i] ^ (unsigned char)b[i];
	return diff == 0;
}

int password_verify(const char *password, const char *hash)
{
	/* "!" and "*" mark locked or disabled accounts in shadow(5), and an
	 * empty hash must never mean "any password". Everything else goes to
	 * libcrypt, which knows which setting strings are valid. */
	if (hash == NULL || hash[0] == '\0' || hash[0] == '!' || hash[0] == '*')
		return 0;
	struct crypt_data *data = crypt_data_new();
	errno = 0;
	const char *computed = crypt_rn(password, hash, data, sizeof(*data));
	int ret;
	if (computed == NULL)
		/* EINVAL/ERANGE/ENOSYS: a hash libcrypt cannot use is one no
		 * password matches; only running out of memory is our failure. */
		ret = errno == ENOMEM ? -1 : 0;
	else
		ret = computed[0] != '*' && equal_const_time(computed, hash) ? 1 : 0;
	crypt_data_free(&data);
	return ret;
}
