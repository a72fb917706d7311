/* COPY, MOVE and their UID forms (with UIDPLUS's COPYUID) */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/imap/imap-selected.h"
#include "agorad/worker.h"
#include "lib/xalloc.h"
#include "lib-imap/seqset.h"
#include "lib-storage/store.h"

#include <stdlib.h>
#include <string.h>

#define ST (worker->store)

static int copy_or_move(struct imap_client *c, const struct imap_command *cmd,
			const struct imap_arg *args, size_t nargs, bool uid, bool move)
{
	if (nargs != 2 || args[0].type != IMAP_ARG_ATOM)
		return -1;
	const char *name = arg_mailbox(&args[1]);
	if (name == NULL)
		return -1;
	struct imap_selected *sel = c->sel;
	uint32_t *idx;
	size_t n;
	int rr = imap_selected_resolve(sel, args[0].str, uid, &idx, &n);
	if (rr < 0) {
		if (rr == -2) {
			client_tagged(c, cmd->tag, "BAD", "Invalid message sequence number");
			return 1;
		}
		return -1;
	}
	struct mailbox_info dst;
	if (!client_mailbox_require(c, cmd->tag, name, &dst, NULL, true)) {
		free(idx);
		return 0;
	}
	if (!(client_rights(c, &dst) & ACL_I)) {
		client_tagged(c, cmd->tag, "NO", "[NOPERM] Permission denied");
		goto out;
	}
	if (move && (sel->readonly || (sel->rights & (ACL_T | ACL_E)) != (ACL_T | ACL_E))) {
		client_tagged(c, cmd->tag, "NO", "[NOPERM] Permission denied");
		goto out;
	}
	if (n == 0) {
		imap_command_ok(c, cmd->tag, true, "No messages");
		goto out;
	}
	uint32_t *uids = xcalloc(n, sizeof(uint32_t)), *new_uids = NULL;
	for (size_t k = 0; k < n; k++)
		uids[k] = sel->msgs[idx[k]].uid;
	if (ST->be->msg_copy(ST, &sel->info, &dst, c->user, uids, n, move, &new_uids) < 0) {
		client_store_error(c, cmd->tag);
		free(uids);
		goto out;
	}
	worker_changed();
	struct seqset from = SEQSET_INIT, to = SEQSET_INIT;
	for (size_t k = 0; k < n; k++) {
		if (new_uids[k] == 0)
			continue;
		seqset_add(&from, uids[k]);
		seqset_add(&to, new_uids[k]);
	}
	str_t a = STR_INIT, b = STR_INIT;
	seqset_format(&from, &a);
	seqset_format(&to, &b);
	if (move) {
		/* RFC 6851: COPYUID comes untagged before the expunges. */
		client_send(c, "* OK [COPYUID %u %s %s] Moved", dst.uidvalidity, str_c(&a), str_c(&b));
		imap_command_ok(c, cmd->tag, true, "MOVE completed");
	} else {
		imap_command_ok(c, cmd->tag, true, "[COPYUID %u %s %s] COPY completed", dst.uidvalidity,
				str_c(&a), str_c(&b));
	}
	str_free(&a);
	str_free(&b);
	seqset_free(&from);
	seqset_free(&to);
	free(uids);
	free(new_uids);
out:
	free(idx);
	mailbox_info_free(&dst);
	return 0;
}

int cmd_copy(struct imap_client *c, const struct imap_command *cmd,
	     const struct imap_arg *args, size_t nargs, bool uid)
{
	return copy_or_move(c, cmd, args, nargs, uid, false);
}

int cmd_move(struct imap_client *c, const struct imap_command *cmd,
	     const struct imap_arg *args, size_t nargs, bool uid)
{
	return copy_or_move(c, cmd, args, nargs, uid, true);
}
