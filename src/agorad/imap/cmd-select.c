/* SELECT, EXAMINE, CLOSE, UNSELECT, CHECK, EXPUNGE, IDLE */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/imap/imap-selected.h"
#include "agorad/worker.h"
#include "lib/xalloc.h"
#include "lib-storage/store.h"

#include <stdlib.h>
#include <string.h>

#define ST (worker->store)

static int select_common(struct imap_client *c, const struct imap_command *cmd,
			 const struct imap_arg *args, size_t nargs, bool examine)
{
	if (nargs < 1 || nargs > 2)
		return -1;
	const char *name = arg_mailbox(&args[0]);
	if (name == NULL)
		return -1;
	if (nargs == 2) {
		if (args[1].type != IMAP_ARG_LIST || args[1].count != 1 ||
		    !imap_arg_is_atom(&args[1].list[0], "CONDSTORE"))
			return -1;
		c->condstore = true;
	}
	/* Selecting anything (even a failing SELECT) closes the current one
	 * without expunging. */
	bool had = c->sel != NULL;
	imap_selected_close(c);
	if (had)
		client_send(c, "* OK [CLOSED] Previous mailbox closed");
	struct mailbox_info info;
	if (!client_mailbox_require(c, cmd->tag, name, &info, NULL, false))
		return 0;
	acl_rights_t rights = client_rights(c, &info);
	if (!(rights & ACL_R)) {
		client_tagged(c, cmd->tag, "NO", "[NOPERM] Permission denied");
		mailbox_info_free(&info);
		return 0;
	}
	bool readonly = examine || !(rights & (ACL_S | ACL_W | ACL_T | ACL_E | ACL_I));
	if (imap_selected_open(c, &info, readonly) < 0) {
		client_store_error(c, cmd->tag);
		mailbox_info_free(&info);
		return 0;
	}
	mailbox_info_free(&info);
	struct imap_selected *sel = c->sel;
	imap_selected_send_flags(c);
	client_send(c, "* %zu EXISTS", sel->count);
	uint32_t recent = 0, first_unseen = 0;
	for (size_t i = 0; i < sel->count; i++) {
		if (imap_selected_is_recent(sel, i))
			recent++;
		if (first_unseen == 0 && !(sel->msgs[i].flags & MSG_SEEN))
			first_unseen = (uint32_t)i + 1;
	}
	client_send(c, "* %u RECENT", recent);
	if (first_unseen != 0)
		client_send(c, "* OK [UNSEEN %u] First unseen", first_unseen);
	client_send(c, "* OK [UIDVALIDITY %u] UIDs valid", sel->info.uidvalidity);
	client_send(c, "* OK [UIDNEXT %u] Predicted next UID", sel->info.uidnext);
	client_send(c, "* OK [HIGHESTMODSEQ %llu] Highest", (unsigned long long)sel->info.highestmodseq);
	quota_warn(c, sel->info.name);
	client_tagged(c, cmd->tag, "OK", "[%s] %s completed", readonly ? "READ-ONLY" : "READ-WRITE",
		      examine ? "EXAMINE" : "SELECT");
	return 0;
}

int cmd_select(struct imap_client *c, const struct imap_command *cmd,
	       const struct imap_arg *args, size_t nargs, bool uid)
{
	return select_common(c, cmd, args, nargs, false);
}

int cmd_examine(struct imap_client *c, const struct imap_command *cmd,
		const struct imap_arg *args, size_t nargs, bool uid)
{
	return select_common(c, cmd, args, nargs, true);
}

/* Expunges \Deleted messages (of `only` when given); returns -1 on store
 * error. */
static int expunge_deleted(struct imap_client *c, const uint32_t *only_idx, size_t nonly, bool *denied)
{
	struct imap_selected *sel = c->sel;
	*denied = false;
	if (sel->readonly || !(sel->rights & ACL_E)) {
		*denied = true;
		return 0;
	}
	uint32_t *uids = xcalloc(sel->count ? sel->count : 1, sizeof(uint32_t));
	size_t n = 0;
	if (only_idx != NULL) {
		for (size_t k = 0; k < nonly; k++) {
			if (sel->msgs[only_idx[k]].flags & MSG_DELETED)
				uids[n++] = sel->msgs[only_idx[k]].uid;
		}
	} else {
		for (size_t i = 0; i < sel->count; i++) {
			if (sel->msgs[i].flags & MSG_DELETED)
				uids[n++] = sel->msgs[i].uid;
		}
	}
	int r = 0;
	if (n > 0) {
		r = ST->be->msg_expunge(ST, &sel->info, uids, n);
		if (r == 0)
			worker_changed();
	}
	free(uids);
	return r;
}

int cmd_close(struct imap_client *c, const struct imap_command *cmd,
	      const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 0)
		return -1;
	bool denied;
	/* CLOSE expunges silently; a read-only mailbox is just closed. */
	if (!c->sel->readonly)
		(void)expunge_deleted(c, NULL, 0, &denied);
	imap_selected_close(c);
	client_tagged(c, cmd->tag, "OK", "CLOSE completed");
	return 0;
}

int cmd_unselect(struct imap_client *c, const struct imap_command *cmd,
		 const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 0)
		return -1;
	imap_selected_close(c);
	client_tagged(c, cmd->tag, "OK", "UNSELECT completed");
	return 0;
}

int cmd_check(struct imap_client *c, const struct imap_command *cmd,
	      const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 0)
		return -1;
	imap_command_ok(c, cmd->tag, true, "CHECK completed");
	return 0;
}

int cmd_expunge(struct imap_client *c, const struct imap_command *cmd,
		const struct imap_arg *args, size_t nargs, bool uid)
{
	uint32_t *idx = NULL;
	size_t n = 0;
	if (uid) {
		if (nargs != 1 || args[0].type != IMAP_ARG_ATOM)
			return -1;
		if (imap_selected_resolve(c->sel, args[0].str, true, &idx, &n) < 0)
			return -1;
	} else if (nargs != 0) {
		return -1;
	}
	bool denied;
	int r = expunge_deleted(c, uid ? idx : NULL, n, &denied);
	free(idx);
	if (denied)
		client_tagged(c, cmd->tag, "NO", c->sel->readonly ? "[READ-ONLY] Mailbox is read-only" :
			      "[NOPERM] Permission denied");
	else if (r < 0)
		client_store_error(c, cmd->tag);
	else
		imap_command_ok(c, cmd->tag, true, "EXPUNGE completed");
	return 0;
}

int cmd_idle(struct imap_client *c, const struct imap_command *cmd,
	     const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 0)
		return -1;
	free(c->wait_tag);
	c->wait_tag = xstrdup(cmd->tag);
	c->wait = WAIT_IDLE_DONE;
	imap_selected_sync(c, true);
	client_send(c, "+ idling");
	return 0;
}

void cmd_idle_continue(struct imap_client *c, const char *line)
{
	char *tag = c->wait_tag;
	c->wait_tag = NULL;
	c->wait = WAIT_NONE;
	if (strcasecmp(line, "DONE") != 0)
		client_tagged(c, tag, "BAD", "Expected DONE");
	else
		imap_command_ok(c, tag, true, "IDLE terminated");
	free(tag);
}
