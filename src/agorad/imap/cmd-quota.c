/* GETQUOTA, GETQUOTAROOT, SETQUOTA (RFC 9208). Roots are mailbox names, as
 * in Cyrus: a root on user.bob covers his folders unless one has its own. */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/worker.h"
#include "agorad/server.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib-imap/imap-quote.h"
#include "lib-storage/store.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define ST (worker->store)

void quota_send(struct imap_client *c, const char *extroot, const struct quota_info *q)
{
	str_t out = STR_INIT;
	str_append(&out, "* QUOTA ");
	imap_append_astring(&out, extroot, strlen(extroot));
	str_append(&out, " (");
	bool first = true;
	if (q->storage_limit >= 0) {
		str_printf(&out, "STORAGE %llu %lld", (unsigned long long)(q->storage_used / 1024),
			   (long long)q->storage_limit);
		first = false;
	}
	if (q->message_limit >= 0)
		str_printf(&out, "%sMESSAGE %llu %lld", first ? "" : " ", (unsigned long long)q->message_used,
			   (long long)q->message_limit);
	str_append_c(&out, ')');
	client_send(c, "%s", str_c(&out));
	str_free(&out);
}

/* A root the user may see: its mailbox is visible and readable to them. */
static int visible_root(struct imap_client *c, const char *internal_root)
{
	if (c->admin)
		return 1;
	struct mailbox_info info;
	int r = ST->be->mailbox_get(ST, internal_root, &info);
	if (r <= 0)
		return r;
	acl_rights_t rights = client_rights(c, &info);
	mailbox_info_free(&info);
	return (rights & (ACL_L | ACL_R)) == (ACL_L | ACL_R) ? 1 : 0;
}

int cmd_getquota(struct imap_client *c, const struct imap_command *cmd,
		 const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 1 || arg_mailbox(&args[0]) == NULL)
		return -1;
	str_t internal = STR_INIT;
	struct quota_info q;
	int r = namespace_to_internal(&c->ns, args[0].str, &internal) < 0 ? 0 : visible_root(c, str_c(&internal));
	if (r == 1)
		r = ST->be->quota_get(ST, str_c(&internal), &q);
	if (r < 0) {
		client_store_error(c, cmd->tag);
	} else if (r == 0) {
		client_tagged(c, cmd->tag, "NO", "[NONEXISTENT] No such quota root");
	} else {
		quota_send(c, args[0].str, &q);
		quota_info_free(&q);
		imap_command_ok(c, cmd->tag, true, "GETQUOTA completed");
	}
	str_free(&internal);
	return 0;
}

int cmd_getquotaroot(struct imap_client *c, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 1 || arg_mailbox(&args[0]) == NULL)
		return -1;
	struct mailbox_info info;
	if (!client_mailbox_require(c, cmd->tag, args[0].str, &info, NULL, false))
		return 0;
	if (!(client_rights(c, &info) & ACL_R) && !c->admin) {
		client_tagged(c, cmd->tag, "NO", "[NOPERM] Permission denied");
		mailbox_info_free(&info);
		return 0;
	}
	str_t root = STR_INIT, ext = STR_INIT, name = STR_INIT;
	imap_append_astring(&name, args[0].str, args[0].len);
	int r = ST->be->quota_root_of(ST, info.name, &root);
	struct quota_info q;
	if (r == 1)
		r = ST->be->quota_get(ST, str_c(&root), &q);
	if (r < 0) {
		client_store_error(c, cmd->tag);
	} else if (r == 0) {
		client_send(c, "* QUOTAROOT %s", str_c(&name));
		imap_command_ok(c, cmd->tag, true, "GETQUOTAROOT completed");
	} else {
		namespace_to_external(&c->ns, str_c(&root), &ext);
		str_t qext = STR_INIT;
		imap_append_astring(&qext, ext.data, ext.len);
		client_send(c, "* QUOTAROOT %s %s", str_c(&name), str_c(&qext));
		str_free(&qext);
		quota_send(c, str_c(&ext), &q);
		quota_info_free(&q);
		imap_command_ok(c, cmd->tag, true, "GETQUOTAROOT completed");
	}
	mailbox_info_free(&info);
	str_free(&root);
	str_free(&ext);
	str_free(&name);
	return 0;
}

int cmd_setquota(struct imap_client *c, const struct imap_command *cmd,
		 const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 2 || arg_mailbox(&args[0]) == NULL || args[1].type != IMAP_ARG_LIST ||
	    args[1].count % 2 != 0)
		return -1;
	int64_t storage = -1, messages = -1;
	for (size_t i = 0; i < args[1].count; i += 2) {
		const struct imap_arg *res = &args[1].list[i], *val = &args[1].list[i + 1];
		if (res->type != IMAP_ARG_ATOM || val->type != IMAP_ARG_ATOM)
			return -1;
		char *end;
		errno = 0;
		long long v = strtoll(val->str, &end, 10);
		if (*end != '\0' || val->str[0] < '0' || val->str[0] > '9' || errno != 0 || v > (1LL << 53)) {
			client_tagged(c, cmd->tag, "BAD", "Invalid quota limit");
			return 1;
		}
		if (imap_arg_is_atom(res, "STORAGE"))
			storage = v;
		else if (imap_arg_is_atom(res, "MESSAGE"))
			messages = v;
		else {
			client_tagged(c, cmd->tag, "NO", "[CANNOT] Unsupported quota resource %s",
				      strlen(res->str) < 64 ? res->str : "");
			return 0;
		}
	}
	if (!c->admin) {
		client_tagged(c, cmd->tag, "NO", "[NOPERM] Only administrators may set quotas");
		return 0;
	}
	struct mailbox_info info;
	str_t internal = STR_INIT;
	if (!client_mailbox_require(c, cmd->tag, args[0].str, &info, &internal, false)) {
		str_free(&internal);
		return 0;
	}
	mailbox_info_free(&info);
	if (ST->be->quota_set(ST, str_c(&internal), storage, messages) < 0 &&
	    !(storage < 0 && messages < 0 && ST->be->errcode(ST) == STORE_ERR_NOTFOUND)) {
		client_store_error(c, cmd->tag);
	} else {
		log_info("quota: user=%s root=%s storage=%lld message=%lld", c->user, str_c(&internal),
			 (long long)storage, (long long)messages);
		struct quota_info q;
		if (ST->be->quota_get(ST, str_c(&internal), &q) == 1) {
			quota_send(c, args[0].str, &q);
			quota_info_free(&q);
		}
		imap_command_ok(c, cmd->tag, true, "SETQUOTA completed");
	}
	str_free(&internal);
	return 0;
}

/* `quotawarn`: tell a session when the mailbox's root is nearly full. */
void quota_warn(struct imap_client *c, const char *mailbox)
{
	long long warn = config_int(server.cfg, "quotawarn");
	str_t root = STR_INIT;
	struct quota_info q;
	if (warn <= 0 || ST->be->quota_root_of(ST, mailbox, &root) != 1 ||
	    ST->be->quota_get(ST, str_c(&root), &q) != 1) {
		str_free(&root);
		return;
	}
	if (q.storage_limit > 0) {
		unsigned long long used = q.storage_used / 1024;
		long long pct = (long long)(used * 100 / (unsigned long long)q.storage_limit);
		if (pct >= warn)
			client_send(c, "* NO [ALERT] Mailbox is at %lld%% of its storage quota (%llu of %lld KiB)",
				    pct, used, (long long)q.storage_limit);
	}
	if (q.message_limit > 0) {
		long long pct = (long long)(q.message_used * 100 / (unsigned long long)q.message_limit);
		if (pct >= warn)
			client_send(c, "* NO [ALERT] Mailbox is at %lld%% of its message quota (%llu of %lld messages)",
				    pct, (unsigned long long)q.message_used, (long long)q.message_limit);
	}
	quota_info_free(&q);
	str_free(&root);
}
