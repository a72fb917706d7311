#include "lib-deliver/autocreate.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib-acl/acl.h"
#include "lib-storage/store.h"

int autocreate_inbox(struct store *st, const struct config *cfg, const char *user, const char *why)
{
	long long quota = config_int(cfg, "autocreate_quota");
	if (quota < 0)
		return 0;
	str_t name = STR_INIT, acl = STR_INIT;
	str_printf(&name, "user.%s", user);
	int ret = 0;
	int r = st->be->mailbox_get(st, str_c(&name), NULL);
	if (r != 0) {
		ret = r < 0 ? -1 : 0;
		goto out;
	}
	/* A new user INBOX gives its owner every right. */
	acl_entry_set("", user, ACL_ALL, false, &acl);
	if (st->be->mailbox_create(st, str_c(&name), config_str(cfg, "defaultpartition"),
				   str_c(&acl), NULL, NULL) < 0) {
		if (st->be->errcode(st) != STORE_ERR_EXISTS) {
			log_error("autocreate: %s: %s", str_c(&name), st->be->error(st));
			ret = -1;
		}
		goto out;
	}
	log_info("autocreate: created %s on first %s", str_c(&name), why);
	ret = 1;
	long long msgs = config_int(cfg, "autocreate_quota_messages");
	if ((quota > 0 || msgs > 0) &&
	    st->be->quota_set(st, str_c(&name), quota > 0 ? quota : -1, msgs > 0 ? msgs : -1) < 0)
		log_error("autocreate: quota of %s: %s", str_c(&name), st->be->error(st));
out:
	str_free(&name);
	str_free(&acl);
	return ret;
}
