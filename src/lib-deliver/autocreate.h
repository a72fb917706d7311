/* A user's INBOX created on first login or first delivery
 * (`autocreate_quota` of 0 or more), with its quota. */
#ifndef AGORA_AUTOCREATE_H
#define AGORA_AUTOCREATE_H

struct store;
struct config;

/* Creates user.USER if autocreation is on and it does not exist yet.
 * `why` says when ("login", "delivery") for the log. Returns 1 created, 0
 * nothing to do (exists, or autocreation off), -1 error (logged). */
int autocreate_inbox(struct store *st, const struct config *cfg, const char *user, const char *why);

#endif
