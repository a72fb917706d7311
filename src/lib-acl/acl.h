/* RFC 4314 rights and their evaluation. Pure: no I/O, no configuration.
 *
 * An ACL is kept as text, a sequence of "IDENTIFIER\tRIGHTS\t" pairs, the
 * form the store saves and the admin tools print. An identifier with a
 * leading '-' is a negative entry. */
#ifndef AGORA_ACL_H
#define AGORA_ACL_H

#include <stdbool.h>
#include <stdint.h>
#include "lib/str.h"

enum acl_right {
	ACL_L = 1 << 0,  /* lookup: the mailbox is visible */
	ACL_R = 1 << 1,  /* read: SELECT, FETCH, SEARCH, COPY from */
	ACL_S = 1 << 2,  /* keep \Seen */
	ACL_W = 1 << 3,  /* write flags other than \Seen and \Deleted */
	ACL_I = 1 << 4,  /* insert: APPEND, COPY into */
	ACL_P = 1 << 5,  /* post: deliver to it */
	ACL_K = 1 << 6,  /* create child mailboxes */
	ACL_X = 1 << 7,  /* delete the mailbox */
	ACL_T = 1 << 8,  /* set and clear \Deleted */
	ACL_E = 1 << 9,  /* expunge */
	ACL_A = 1 << 10, /* administer: change the ACL */
};
typedef uint32_t acl_rights_t;

#define ACL_ALL (ACL_L | ACL_R | ACL_S | ACL_W | ACL_I | ACL_P | ACL_K | ACL_X | ACL_T | ACL_E | ACL_A)
/* The letters in RFC 4314 order. */
#define ACL_LETTERS "lrswipkxtea"

/* Parses rights letters; the obsolete c maps to k x and d to t e (RFC 4314
 * 2.1.1). Returns -1 and stores the offending letter in *bad_r when a letter
 * is not a right. */
int acl_rights_parse(const char *s, acl_rights_t *rights_r, char *bad_r);
/* Appends the letters, with c and d added when all of their modern rights
 * are present (RFC 4314 2.1.1 shows both forms). */
void acl_rights_format(acl_rights_t rights, bool with_obsolete, str_t *out);

/* Who is asking: a user, the groups they belong to, and whether they are
 * authenticated (anonymous logins are not). */
struct acl_subject {
	const char *user;
	const char *const *groups; /* NULL-terminated, names without "group:" */
	bool authenticated;
};

/* What an ACL identifier names (RFC 4314 and Cyrus): a leading '-' makes a
 * negative entry; then "anyone", "authenticated", "anonymous", a group
 * ("group:NAME" or "$NAME", the same group), or else a user. */
enum acl_id_kind {
	ACL_ID_ANYONE,
	ACL_ID_AUTHENTICATED,
	ACL_ID_ANONYMOUS,
	ACL_ID_GROUP,
	ACL_ID_USER,
};
struct acl_identifier {
	enum acl_id_kind kind;
	bool negative;
	const char *name; /* the user or group name, inside the parsed text */
};
/* Splits id (any text) into out; only one leading '-' is taken. */
void acl_identifier_parse(const char *id, struct acl_identifier *out);
/* The canonical spelling ("$NAME" becomes "group:NAME"), appended to out;
 * it parses back to the same identifier. */
void acl_identifier_format(const struct acl_identifier *id, str_t *out);
/* Whether the name of a user or group identifier is well-formed: 1 to
 * USER_NAME_MAX bytes of letters, digits, '.', '_', '-' and '@'. The
 * class identifiers have no name and are always well-formed. */
bool acl_identifier_name_valid(const struct acl_identifier *id);

/* Rights that `subject` has from the entries of `acl`: the union of the
 * matching positive entries minus the union of the matching negative ones. */
acl_rights_t acl_rights_eval(const char *acl, const struct acl_subject *subject);

/* Rights of `id` in `acl` exactly as stored (no evaluation); 0 when absent. */
acl_rights_t acl_entry_get(const char *acl, const char *id, bool *found_r);
/* Sets (rights != 0) or removes (remove=true) the entry for id; writes the
 * new ACL text to out. */
void acl_entry_set(const char *acl, const char *id, acl_rights_t rights, bool remove, str_t *out);

/* Iterates entries: returns false at the end. *pos starts at 0. */
bool acl_next_entry(const char *acl, size_t *pos, str_t *id, acl_rights_t *rights);

#endif
