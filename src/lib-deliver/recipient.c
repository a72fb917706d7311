#include "lib-deliver/recipient.h"
#include "lib-deliver/autocreate.h"
#include "lib/bounds.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib-acl/acl.h"
#include "lib-lmtp/lmtp-parse.h"
#include "lib-storage/store.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define ST st

/* The rights of the poster: anyone, not authenticated. */
static acl_rights_t poster_rights(const struct mailbox_info *info)
{
	struct acl_subject who = { "anonymous", NULL, false };
	return acl_rights_eval(info->acl, &who);
}

enum rcpt_result recipient_resolve(struct store *st, const struct config *cfg, const char *address,
				   str_t *mailbox, str_t *user)
{
	str_clear(mailbox);
	str_clear(user);
	char *local, *detail;
	if (lmtp_address_split(address, USER_NAME_MAX + MAILBOX_NAME_MAX, &local, &detail) < 0)
		return RCPT_BAD_ADDRESS;
	enum rcpt_result ret = RCPT_UNKNOWN;
	const char *postuser = config_str(cfg, "postuser");
	struct mailbox_info info;
	int r;
	if (postuser != NULL && postuser[0] != '\0' && strcmp(local, postuser) == 0) {
		/* postuser+shared.contact: the whole detail is the internal name */
		if (detail == NULL || detail[0] == '\0' || strncmp(detail, "user.", 5) == 0)
			goto out;
		r = ST->be->mailbox_get(ST, detail, &info);
		if (r < 0) {
			ret = RCPT_TEMPFAIL;
			goto out;
		}
		if (r == 0)
			goto out;
		/* As in Cyrus, p alone is enough (`setaclmailbox anyone p`);
		 * without p, a mailbox anyone may not look up answers like a
		 * nonexistent one. */
		acl_rights_t rights = poster_rights(&info);
		if (rights & ACL_P) {
			str_append(mailbox, detail);
			ret = RCPT_OK;
		} else if (!(rights & ACL_L))
			ret = RCPT_UNKNOWN;
		else
			ret = RCPT_DENIED;
		mailbox_info_free(&info);
		goto out;
	}
	for (char *p = local; *p != '\0'; p++) {
		if ((unsigned char)*p <= ' ' || (*p == '.' && !config_bool(cfg, "unixhierarchysep")))
			goto out;
	}
	r = ST->be->user_get(ST, local, NULL);
	if (r < 0) {
		ret = RCPT_TEMPFAIL;
		goto out;
	}
	if (r == 0)
		goto out;
	str_printf(mailbox, "user.%s", local);
	str_append(user, local);
	r = ST->be->mailbox_get(ST, str_c(mailbox), NULL);
	if (r == 0) {
		autocreate_inbox(st, cfg, local, "delivery");
		r = ST->be->mailbox_get(ST, str_c(mailbox), NULL);
	}
	if (r < 0) {
		ret = RCPT_TEMPFAIL;
		goto out;
	}
	if (r == 0) {
		ret = RCPT_UNKNOWN;
		goto out;
	}
	ret = RCPT_OK;
	if (detail != NULL && detail[0] != '\0') {
		/* bob+Lists: INBOX.Lists when it exists and may be posted to. */
		str_t sub = STR_INIT;
		str_printf(&sub, "%s.%s", str_c(mailbox), detail);
		if (ST->be->mailbox_get(ST, str_c(&sub), &info) == 1) {
			if (poster_rights(&info) & ACL_P) {
				str_clear(mailbox);
				str_append(mailbox, str_c(&sub));
			}
			mailbox_info_free(&info);
		}
		str_free(&sub);
	}
out:
	free(local);
	free(detail);
	return ret;
}
