/* Password hashes in crypt(3) form, through libcrypt (libxcrypt). New
 * hashes are yescrypt ("$y$"); verification accepts every method libcrypt
 * knows, so hashes imported from Cyrus sasldb exports, Dovecot passwd-files
 * or /etc/shadow (bcrypt "$2b$", sha512-crypt "$6$", ...) keep working. */
#ifndef AGORA_PASSWORD_H
#define AGORA_PASSWORD_H

#include "lib/str.h"

/* Longest password accepted. yescrypt itself has no limit, but a password
 * is read from a line of input and hashing cost grows with its length. */
#define PASSWORD_MAX 1024

/* Appends a new yescrypt hash of `password` to `out`. 0, or -1 when
 * libcrypt failed (out of memory, no entropy); `out` is then unchanged. */
int password_hash(const char *password, str_t *out);

/* Three-way: 1 the password matches `hash`, 0 it does not (also for an
 * empty, locked ("!..."), disabled ("*") or malformed hash, or a method
 * libcrypt does not support), -1 internal error (out of memory). */
int password_verify(const char *password, const char *hash);

#endif
