/* The one place that translates between the names a client sees and the
 * internal names ("user.bob.Sent", "shared.contact").
 *
 * Standard namespace (altnamespace: no), separator '.':
 *   INBOX, INBOX.Sent          -> user.ME, user.ME.Sent
 *   user.alice.Work            -> user.alice.Work
 *   shared.contact             -> shared.contact
 * Alternate namespace (altnamespace: yes):
 *   INBOX, Sent                -> user.ME, user.ME.Sent
 *   Other Users.alice.Work     -> user.alice.Work
 *   Shared Folders.shared.contact -> shared.contact
 * With unixhierarchysep the separator clients see is '/', and a '.' inside
 * a level is stored as '^' (a name cannot contain the internal separator).
 * Administrators see the internal namespace, with the configured separator. */
#ifndef AGORA_NAMESPACE_H
#define AGORA_NAMESPACE_H

#include <stdbool.h>
#include "lib/str.h"

struct config;

struct namespace {
	char *user;           /* who is looking */
	bool admin;           /* sees internal names */
	bool alt;
	char sep;             /* '.' or '/' */
	char *userprefix;     /* "Other Users" */
	char *sharedprefix;   /* "Shared Folders" */
};

void namespace_init(struct namespace *ns, const struct config *cfg, const char *user, bool admin);
void namespace_deinit(struct namespace *ns);

/* Returns -1 for a name that cannot be a mailbox (empty level, a level that
 * is the internal separator, a bare prefix). */
int namespace_to_internal(const struct namespace *ns, const char *ext, str_t *out);
/* The name the client sees; -1 when the internal name has no client name
 * for this user. */
int namespace_to_external(const struct namespace *ns, const char *internal, str_t *out);
/* The NAMESPACE response body (RFC 2342), without "* NAMESPACE ". */
void namespace_response(const struct namespace *ns, str_t *out);
/* Whether the internal name is the user's own INBOX. */
bool namespace_is_inbox(const struct namespace *ns, const char *internal);

#endif
