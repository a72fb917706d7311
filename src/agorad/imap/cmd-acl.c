/* SETACL, DELETEACL, GETACL, LISTRIGHTS, MYRIGHTS (RFC 4314) */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/imap/imap-selected.h"
#include "agorad/worker.h"
#include "lib/bounds.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib-imap/imap-quote.h"
#include "lib-storage/store.h"

#include <stdlib.h>
#include <string.h>

#define ST (worker->store)

struct group_find {
	const char *name;
	bool found;
};

static void group_cb(const char *name, const char *members, void *ctx)
{
	struct group_find *g = ctx;
	(void)members;
	if (strcmp(name, g->name) == 0)
		g->found = true;
}

/* Whether `id` (a leading '-' makes it negative) can name someone in an
 * ACL. Users need not exist yet (an administrator may share before an
 * account is made), but groups must: a typo in a group name would
 * silently give nothing. */
static bool identifier_valid(const char *id)
{
	struct acl_identifier ident;
	acl_identifier_parse(id, &ident);
	if (!acl_identifier_name_valid(&ident))
		return false;
	if (ident.kind == ACL_ID_GROUP) {
		struct group_find g = { ident.name, false };
		if (ST->be->group_list(ST, group_cb, &g) < 0)
			return false;
		return g.found;
	}
	return true;
}

/* Looks up a mailbox the user administers. Returns 1 with info, or 0 when
 * an answer was sent (invisible mailboxes answer as nonexistent). */
static int acl_mailbox(struct imap_client *c, const char *tag, const struct imap_arg *arg,
		       struct mailbox_info *info, acl_rights_t need)
{
	const char *name = arg_mailbox(arg);
	if (!client_mailbox_require(c, tag, name, info, NULL, false))
		return 0;
	if (need != 0 && (client_rights(c, info) & need) == 0) {
		client_tagged(c, tag, "NO", "[NOPERM] Permission denied");
		mailbox_info_free(info);
		return 0;
	}
	return 1;
}

static void send_mailbox_name(str_t *out, const struct imap_arg *arg)
{
	imap_append_astring(out, arg->str, arg->len);
}

static int change_acl(struct imap_client *c, const struct imap_command *cmd, const struct imap_arg *args,
		      const char *id, const char *rights, bool remove)
{
	acl_rights_t r = 0;
	enum { SET, ADD, DEL } mode = SET;
	if (!remove) {
		if (rights[0] == '+') {
			mode = ADD;
			rights++;
		} else if (rights[0] == '-') {
			mode = DEL;
			rights++;
		}
		char bad;
		if (acl_rights_parse(rights, &r, &bad) < 0) {
			client_tagged(c, cmd->tag, "BAD", "The %c right is not supported", bad);
			return 1;
		}
	}
	if (!identifier_valid(id)) {
		client_tagged(c, cmd->tag, "NO", "Invalid identifier");
		return 0;
	}
	struct mailbox_info info;
	if (!acl_mailbox(c, cmd->tag, &args[0], &info, ACL_A))
		return 0;
	bool found;
	acl_rights_t old = acl_entry_get(info.acl, id, &found);
	acl_rights_t now = mode == ADD ? (old | r) : mode == DEL ? (old & ~r) : r;
	str_t acl = STR_INIT;
	acl_entry_set(info.acl, id, now, remove || now == 0, &acl);
	if (remove && !found) {
		/* RFC 4314: removing an entry that is not there is fine. */
	}
	if (ST->be->mailbox_set_acl(ST, info.id, str_c(&acl)) < 0) {
		client_store_error(c, cmd->tag);
	} else {
		str_t shown = STR_INIT;
		acl_rights_format(now, false, &shown);
		log_info("acl: user=%s mailbox=%s %s %s", c->user, info.name, id,
			 remove || now == 0 ? "removed" : str_c(&shown));
		str_free(&shown);
		worker_changed();
		imap_command_ok(c, cmd->tag, true, "%s completed", remove ? "DELETEACL" : "SETACL");
	}
	str_free(&acl);
	mailbox_info_free(&info);
	return 0;
}

int cmd_setacl(struct imap_client *c, const struct imap_command *cmd,
	       const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 3 || arg_mailbox(&args[0]) == NULL || arg_string(&args[1]) == NULL ||
	    arg_string(&args[2]) == NULL)
		return -1;
	return change_acl(c, cmd, args, args[1].str, args[2].str, false);
}

int cmd_deleteacl(struct imap_client *c, const struct imap_command *cmd,
		  const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 2 || arg_mailbox(&args[0]) == NULL || arg_string(&args[1]) == NULL)
		return -1;
	return change_acl(c, cmd, args, args[1].str, "", true);
}

int cmd_getacl(struct imap_client *c, const struct imap_command *cmd,
	       const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 1 || arg_mailbox(&args[0]) == NULL)
		return -1;
	struct mailbox_info info;
	if (!acl_mailbox(c, cmd->tag, &args[0], &info, ACL_A))
		return 0;
	str_t out = STR_INIT, id = STR_INIT;
	str_append(&out, "* ACL ");
	send_mailbox_name(&out, &args[0]);
	size_t at = 0;
	acl_rights_t r;
	while (acl_next_entry(info.acl, &at, &id, &r)) {
		str_append_c(&out, ' ');
		imap_append_astring(&out, id.data, id.len);
		str_append_c(&out, ' ');
		str_t rs = STR_INIT;
		acl_rights_format(r, true, &rs);
		imap_append_astring(&out, rs.data != NULL ? rs.data : "", rs.len);
		str_free(&rs);
	}
	client_send(c, "%s", str_c(&out));
	str_free(&out);
	str_free(&id);
	mailbox_info_free(&info);
	imap_command_ok(c, cmd->tag, true, "GETACL completed");
	return 0;
}

int cmd_listrights(struct imap_client *c, const struct imap_command *cmd,
		   const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 2 || arg_mailbox(&args[0]) == NULL || arg_string(&args[1]) == NULL)
		return -1;
	struct mailbox_info info;
	if (!acl_mailbox(c, cmd->tag, &args[0], &info, ACL_A))
		return 0;
	const char *id = args[1].str;
	char *owner = mailbox_owner(info.name);
	/* The owner always has l and a; everyone else can be given any right
	 * alone. c and d stand for kx and te. */
	bool is_owner = owner != NULL && strcmp(owner, id) == 0;
	free(owner);
	str_t out = STR_INIT;
	str_append(&out, "* LISTRIGHTS ");
	send_mailbox_name(&out, &args[0]);
	str_append_c(&out, ' ');
	imap_append_astring(&out, id, strlen(id));
	str_append(&out, is_owner ? " la" : " \"\"");
	for (const char *p = ACL_LETTERS; *p != '\0'; p++) {
		if (is_owner && (*p == 'l' || *p == 'a'))
			continue;
		str_printf(&out, " %c", *p);
	}
	str_append(&out, " c d");
	client_send(c, "%s", str_c(&out));
	str_free(&out);
	mailbox_info_free(&info);
	imap_command_ok(c, cmd->tag, true, "LISTRIGHTS completed");
	return 0;
}

int cmd_myrights(struct imap_client *c, const struct imap_command *cmd,
		 const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 1 || arg_mailbox(&args[0]) == NULL)
		return -1;
	struct mailbox_info info;
	if (!acl_mailbox(c, cmd->tag, &args[0], &info, 0))
		return 0;
	str_t out = STR_INIT, rs = STR_INIT;
	acl_rights_format(client_rights(c, &info), true, &rs);
	str_append(&out, "* MYRIGHTS ");
	send_mailbox_name(&out, &args[0]);
	str_append_c(&out, ' ');
	imap_append_astring(&out, rs.data != NULL ? rs.data : "", rs.len);
	client_send(c, "%s", str_c(&out));
	str_free(&out);
	str_free(&rs);
	mailbox_info_free(&info);
	imap_command_ok(c, cmd->tag, true, "MYRIGHTS completed");
	return 0;
}
