/* Which names the admin tool accepts for new users and groups. A user name
 * becomes part of mailbox names ("user.NAME"), of ACL identifiers and of
 * log lines, so only a plain set of characters is allowed. */
#ifndef AGORA_ACCOUNT_NAME_H
#define AGORA_ACCOUNT_NAME_H

#include "lib/str.h"

struct config;

/* 0 when `name` may be a new user or group (`kind` is "user" or "group",
 * used in the message); -1 with a message naming the problem in err. */
int account_name_check(const struct config *cfg, const char *kind, const char *name, str_t *err);

#endif
