/* APPEND (with UIDPLUS's APPENDUID) */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/imap/imap-flags.h"
#include "agorad/worker.h"
#include "agorad/server.h"
#include "lib-deliver/message-store.h"
#include "lib-imap/imap-date.h"
#include "lib-storage/store.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ST (worker->store)

int cmd_append(struct imap_client *c, const struct imap_command *cmd,
	       const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs < 2 || nargs > 4)
		return -1;
	const char *name = arg_mailbox(&args[0]);
	if (name == NULL)
		return -1;
	const struct imap_arg *msg = &args[nargs - 1];
	if (msg->type != IMAP_ARG_LITERAL)
		return -1;
	uint32_t flags = 0;
	str_t kw = STR_INIT;
	time_t date = time(NULL);
	int tz = 0;
	size_t i = 1;
	const char *err = NULL;
	if (i < nargs - 1 && args[i].type == IMAP_ARG_LIST) {
		if (imap_flags_parse(args[i].list, args[i].count, &flags, &kw, &err) < 0) {
			client_tagged(c, cmd->tag, "BAD", "%s", err);
			str_free(&kw);
			return 1;
		}
		i++;
	}
	if (i < nargs - 1) {
		if (args[i].type != IMAP_ARG_STRING || imap_parse_datetime(args[i].str, &date, &tz) < 0) {
			client_tagged(c, cmd->tag, "BAD", "Invalid date-time");
			str_free(&kw);
			return 1;
		}
		i++;
	} else {
		struct tm tm;
		localtime_r(&date, &tm);
		tz = (int)(tm.tm_gmtoff / 60);
	}
	if (i != nargs - 1) {
		str_free(&kw);
		return -1;
	}
	struct mailbox_info info;
	int r = client_mailbox_lookup(c, name, &info, NULL);
	if (r <= 0) {
		if (r < 0)
			client_store_error(c, cmd->tag);
		else
			client_tagged(c, cmd->tag, "NO", "[TRYCREATE] Mailbox does not exist");
		str_free(&kw);
		return 0;
	}
	acl_rights_t rights = client_rights(c, &info);
	if (!(rights & ACL_I)) {
		client_tagged(c, cmd->tag, "NO", "[NOPERM] Permission denied");
		goto out;
	}
	/* Flags the user may not set are dropped, as RFC 4314 says. */
	if (!(rights & ACL_S))
		flags &= ~(uint32_t)MSG_SEEN;
	if (!(rights & ACL_T))
		flags &= ~(uint32_t)MSG_DELETED;
	if (!(rights & ACL_W)) {
		flags &= ~(uint32_t)(MSG_ANSWERED | MSG_FLAGGED | MSG_DRAFT);
		str_clear(&kw);
	}
	if (msg->len == 0) {
		client_tagged(c, cmd->tag, "NO", "[CANNOT] An empty message cannot be stored");
		goto out;
	}
	uint32_t new_uid;
	if (message_store_append(ST, &info, c->user, msg->str, msg->len, date, tz, flags, str_c(&kw), &new_uid) < 0) {
		client_store_error(c, cmd->tag);
		goto out;
	}
	worker_changed();
	quota_warn(c, info.name);
	imap_command_ok(c, cmd->tag, true, "[APPENDUID %u %u] APPEND completed", info.uidvalidity, new_uid);
out:
	mailbox_info_free(&info);
	str_free(&kw);
	return 0;
}
