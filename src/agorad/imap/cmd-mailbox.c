/* CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE, STATUS */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/imap/imap-selected.h"
#include "agorad/server.h"
#include "agorad/worker.h"
#include "lib/bounds.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/xalloc.h"
#include "lib-imap/imap-quote.h"
#include "lib-storage/store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define ST (worker->store)

/* The nearest existing ancestor of an internal name: 1 found, 0 none. */
static int nearest_parent(const char *name, struct mailbox_info *parent)
{
	char *copy = xstrdup(name);
	int r = 0;
	char *dot;
	while ((dot = strrchr(copy, '.')) != NULL) {
		*dot = '\0';
		r = ST->be->mailbox_get(ST, copy, parent);
		if (r != 0)
			break;
	}
	free(copy);
	return r;
}

struct children_ctx {
	const char *name;
	bool found;
};

static void children_cb(const struct mailbox_info *info, void *p)
{
	struct children_ctx *ctx = p;
	if (strcmp(info->name, ctx->name) != 0)
		ctx->found = true;
}

static bool has_children(const char *name)
{
	struct children_ctx ctx = { name, false };
	(void)ST->be->mailbox_list(ST, name, children_cb, &ctx);
	return ctx.found;
}

static int name_checks(const char *internal)
{
	if (strlen(internal) > MAILBOX_NAME_MAX)
		return -1;
	unsigned depth = 0;
	for (const char *p = internal; *p != '\0'; p++) {
		if (*p == '.')
			depth++;
		if ((unsigned char)*p < 0x20 || *p == '*' || *p == '%')
			return -1;
	}
	return depth > MAILBOX_MAX_DEPTH ? -1 : 0;
}

/* Who may create `internal`, and with which ACL. Returns 0 allowed (acl
 * filled), -1 not allowed (answer given). */
static int create_rights(struct imap_client *c, const char *tag, const char *internal, str_t *acl)
{
	struct mailbox_info parent;
	int r = nearest_parent(internal, &parent);
	if (r < 0) {
		client_store_error(c, tag);
		return -1;
	}
	if (r == 1) {
		acl_rights_t rights = client_rights(c, &parent);
		/* k without l is no right: a child created under a parent the
		 * user cannot see would tell them that it exists. The answer is
		 * the one for a name with no parent at all. Administrators create
		 * anywhere below an existing mailbox, as in Cyrus (cyradm
		 * `cm user.bob.Trash` for a new account); they hold `a` and could
		 * grant themselves `k` anyway. */
		if (!(rights & ACL_L) || (!(rights & ACL_K) && !c->admin)) {
			client_tagged(c, tag, "NO", "[NOPERM] Permission denied");
			mailbox_info_free(&parent);
			return -1;
		}
		str_append(acl, parent.acl);
		mailbox_info_free(&parent);
		return 0;
	}
	char *owner = mailbox_owner(internal);
	if (owner != NULL) {
		bool top = strchr(internal + 5, '.') == NULL;
		if (!c->admin || !top) {
			client_tagged(c, tag, "NO", "[NOPERM] Permission denied");
			free(owner);
			return -1;
		}
		acl_entry_set("", owner, ACL_ALL, false, acl);
		free(owner);
		return 0;
	}
	if (!c->admin) {
		client_tagged(c, tag, "NO", "[NOPERM] Permission denied");
		return -1;
	}
	/* defaultacl: "id rights id rights" */
	char *def = xstrdup(config_str(server.cfg, "defaultacl"));
	char *save = NULL;
	str_t tmp = STR_INIT;
	for (char *id = strtok_r(def, " \t", &save); id != NULL; id = strtok_r(NULL, " \t", &save)) {
		char *rs = strtok_r(NULL, " \t", &save);
		acl_rights_t rights;
		char bad;
		if (rs == NULL || acl_rights_parse(rs, &rights, &bad) < 0)
			break;
		str_clear(&tmp);
		acl_entry_set(str_c(acl), id, rights, false, &tmp);
		str_clear(acl);
		str_append(acl, str_c(&tmp));
	}
	str_free(&tmp);
	free(def);
	return 0;
}

/* CREATE's (USE (attr...)): 1 parsed into "\\Sent \\Trash", 0 an unknown
 * attribute, -1 malformed. */
static int parse_use(const struct imap_arg *a, str_t *out)
{
	static const char *const known[] = {
		"\\All", "\\Archive", "\\Drafts", "\\Flagged", "\\Junk", "\\Sent", "\\Trash",
	};
	if (a->type != IMAP_ARG_LIST || a->count != 2 || !imap_arg_is_atom(&a->list[0], "USE") ||
	    a->list[1].type != IMAP_ARG_LIST)
		return -1;
	const struct imap_arg *l = &a->list[1];
	for (size_t i = 0; i < l->count; i++) {
		if (l->list[i].type != IMAP_ARG_ATOM)
			return -1;
		size_t k;
		for (k = 0; k < sizeof(known) / sizeof(known[0]); k++) {
			if (strcasecmp(l->list[i].str, known[k]) == 0)
				break;
		}
		if (k == sizeof(known) / sizeof(known[0]))
			return 0;
		if (out->len > 0)
			str_append_c(out, ' ');
		str_append(out, known[k]);
	}
	return 1;
}

/* RFC 3501: CREATE a.b.c SHOULD create missing superior levels. They are
 * made below the nearest mailbox that exists (whose k right create_rights
 * checked) with the same ACL; a missing top level (user.X, or "shared" above
 * shared.contact) is never invented. */
static int create_superiors(struct imap_client *c, const char *internal, const char *acl)
{
	struct mailbox_info parent;
	int r = nearest_parent(internal, &parent);
	if (r <= 0)
		return r;
	size_t plen = strlen(parent.name);
	mailbox_info_free(&parent);
	const char *p = internal + plen + 1;
	const char *dot;
	while ((dot = strchr(p, '.')) != NULL) {
		char *level = xstrndup(internal, (size_t)(dot - internal));
		int cr = ST->be->mailbox_create(ST, level, config_str(server.cfg, "defaultpartition"), acl, NULL, NULL);
		if (cr < 0 && ST->be->errcode(ST) != STORE_ERR_EXISTS) {
			free(level);
			return -1;
		}
		if (cr == 0)
			log_info("user=%s created %s", c->user, level);
		free(level);
		p = dot + 1;
	}
	return 0;
}

/* Whether a new mailbox may take `internal` (CREATE, RENAME's target):
 * 0 yes (acl filled), else the answer has been sent. A name that exists but
 * that the user may not look up answers as a free name would: "already
 * exists" only when the user could have created it, which they could not if
 * it did not exist, would tell who has which mailbox. */
static int name_taken(struct imap_client *c, const char *tag, const char *internal, str_t *acl)
{
	struct mailbox_info info;
	int r = ST->be->mailbox_get(ST, internal, &info);
	if (r < 0) {
		client_store_error(c, tag);
		return -1;
	}
	bool visible = false;
	if (r == 1) {
		visible = (client_rights(c, &info) & ACL_L) != 0;
		mailbox_info_free(&info);
	}
	if (r == 1 && visible) {
		client_tagged(c, tag, "NO", "[ALREADYEXISTS] Mailbox already exists");
		return -1;
	}
	if (create_rights(c, tag, internal, acl) < 0)
		return -1;
	if (r == 1) {
		client_tagged(c, tag, "NO", "[ALREADYEXISTS] Mailbox already exists");
		return -1;
	}
	return 0;
}

int cmd_create(struct imap_client *c, const struct imap_command *cmd,
	       const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs < 1 || nargs > 2)
		return -1;
	const char *name = arg_mailbox(&args[0]);
	if (name == NULL)
		return -1;
	str_t ext = STR_INIT, internal = STR_INIT, acl = STR_INIT, use = STR_INIT;
	const char *partition = config_str(server.cfg, "defaultpartition");
	const char *partition_arg = NULL;
	if (nargs == 2 && args[1].type != IMAP_ARG_LIST) {
		/* Cyrus's partition argument is an administrator's word; from
		 * anyone else a second argument that is not RFC 4466's
		 * parameter list is a syntax error. */
		partition_arg = arg_string(&args[1]);
		if (partition_arg == NULL || !c->admin)
			return -1;
	} else if (nargs == 2) {
		/* RFC 6154 CREATE-SPECIAL-USE: (USE (\Sent ...)). Anything else
		 * used to be accepted and ignored, so a client asking for a
		 * special-use mailbox got a plain one with an OK. */
		int ur = parse_use(&args[1], &use);
		if (ur < 0) {
			str_free(&use);
			return -1;
		}
		if (ur == 0) {
			client_tagged(c, cmd->tag, "NO", "[USEATTR] Unsupported special-use attribute");
			str_free(&use);
			return 0;
		}
	}
	str_append(&ext, name);
	/* A trailing separator only declares the intent to create children. */
	if (ext.len > 1 && ext.data[ext.len - 1] == c->ns.sep)
		str_truncate(&ext, ext.len - 1);
	if (namespace_to_internal(&c->ns, str_c(&ext), &internal) < 0 || name_checks(str_c(&internal)) < 0) {
		client_tagged(c, cmd->tag, "NO", "[CANNOT] Invalid mailbox name");
		goto out;
	}
	if (partition_arg != NULL) {
		/* Cyrus's CREATE NAME PARTITION (cyradm `cm NAME PARTITION`). */
		if (config_partition(server.cfg, partition_arg) == NULL) {
			client_tagged(c, cmd->tag, "NO", "[CANNOT] Unknown partition");
			goto out;
		}
		partition = partition_arg;
	}
	if (name_taken(c, cmd->tag, str_c(&internal), &acl) != 0)
		goto out;
	if (create_superiors(c, str_c(&internal), str_c(&acl)) < 0) {
		client_store_error(c, cmd->tag);
		goto out;
	}
	if (ST->be->mailbox_create(ST, str_c(&internal), partition,
				   str_c(&acl), use.len > 0 ? str_c(&use) : NULL, NULL) < 0) {
		client_store_error(c, cmd->tag);
		goto out;
	}
	log_info("user=%s created %s", c->user, str_c(&internal));
	worker_changed();
	imap_command_ok(c, cmd->tag, true, "CREATE completed");
out:
	str_free(&ext);
	str_free(&internal);
	str_free(&acl);
	str_free(&use);
	return 0;
}

int cmd_delete(struct imap_client *c, const struct imap_command *cmd,
	       const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 1)
		return -1;
	const char *name = arg_mailbox(&args[0]);
	if (name == NULL)
		return -1;
	struct mailbox_info info;
	if (!client_mailbox_require(c, cmd->tag, name, &info, NULL, false))
		return 0;
	if (namespace_is_inbox(&c->ns, info.name) && !c->admin) {
		client_tagged(c, cmd->tag, "NO", "[CANNOT] INBOX cannot be deleted");
	} else if (!(client_rights(c, &info) & ACL_X)) {
		client_tagged(c, cmd->tag, "NO", "[NOPERM] Permission denied");
	} else if (has_children(info.name)) {
		client_tagged(c, cmd->tag, "NO", "[HASCHILDREN] Mailbox has inferior hierarchical names");
	} else if (ST->be->mailbox_delete(ST, &info) < 0) {
		client_store_error(c, cmd->tag);
	} else {
		log_info("user=%s deleted %s", c->user, info.name);
		if (c->sel != NULL && c->sel->info.id == info.id)
			imap_selected_close(c);
		worker_changed();
		imap_command_ok(c, cmd->tag, true, "DELETE completed");
	}
	mailbox_info_free(&info);
	return 0;
}

/* RFC 3501: renaming INBOX moves its messages to a new mailbox and leaves
 * INBOX (and its children) in place, empty. */
static int rename_inbox(struct imap_client *c, const struct mailbox_info *inbox, const char *newname,
			const char *acl)
{
	struct mailbox_info dst;
	if (ST->be->mailbox_create(ST, newname, inbox->partition, acl, NULL, &dst) < 0)
		return -1;
	struct msg_rec *recs;
	size_t n;
	int ret = -1;
	if (ST->be->msg_list(ST, inbox, c->user, 0, &recs, &n) == 0) {
		uint32_t *uids = xcalloc(n ? n : 1, sizeof(uint32_t)), *new_uids = NULL;
		for (size_t i = 0; i < n; i++)
			uids[i] = recs[i].uid;
		ret = ST->be->msg_copy(ST, inbox, &dst, c->user, uids, n, true, &new_uids);
		free(uids);
		free(new_uids);
		msg_rec_free_array(recs, n);
	}
	mailbox_info_free(&dst);
	return ret;
}

/* The user whose top-level mailbox `internal` is ("bob" for "user.bob",
 * not for "user.bob.Sent"), malloc'd, or NULL. */
static char *top_user(const char *internal)
{
	if (strncmp(internal, "user.", 5) != 0 || internal[5] == '\0' || strchr(internal + 5, '.') != NULL)
		return NULL;
	return xstrdup(internal + 5);
}

int cmd_rename(struct imap_client *c, const struct imap_command *cmd,
	       const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 2 && nargs != 3)
		return -1;
	const char *from = arg_mailbox(&args[0]), *to = arg_mailbox(&args[1]);
	if (from == NULL || to == NULL)
		return -1;
	/* Cyrus's third argument, the partition to move the mailbox to, is an
	 * administrator's extension; anyone else sent an argument too many. */
	const char *partition = NULL;
	if (nargs == 3) {
		partition = arg_string(&args[2]);
		if (partition == NULL || !c->admin)
			return -1;
	}
	struct mailbox_info info;
	str_t newint = STR_INIT, acl = STR_INIT;
	char *olduser = NULL, *newuser = NULL;
	if (!client_mailbox_require(c, cmd->tag, from, &info, NULL, false))
		return 0;
	bool inbox = namespace_is_inbox(&c->ns, info.name);
	if (namespace_to_internal(&c->ns, to, &newint) < 0 || name_checks(str_c(&newint)) < 0) {
		client_tagged(c, cmd->tag, "NO", "[CANNOT] Invalid mailbox name");
		goto out;
	}
	/* Administrators rename without `x`, as in Cyrus (cyradm `renm`);
	 * deleting still needs it (they grant it to themselves first). */
	if (!inbox && !c->admin && !(client_rights(c, &info) & ACL_X)) {
		client_tagged(c, cmd->tag, "NO", "[NOPERM] Permission denied");
		goto out;
	}
	if (partition != NULL && config_partition(server.cfg, partition) == NULL) {
		client_tagged(c, cmd->tag, "NO", "[CANNOT] Unknown partition");
		goto out;
	}
	/* RENAME X X PARTITION only moves X (and what is below it) to another
	 * partition. */
	bool same = strcmp(str_c(&newint), info.name) == 0;
	if (same && partition != NULL) {
		if (ST->be->mailbox_move_partition(ST, info.name, partition) < 0) {
			client_store_error(c, cmd->tag);
			goto out;
		}
		log_info("user=%s moved %s to partition %s", c->user, info.name, partition);
		worker_changed();
		imap_command_ok(c, cmd->tag, true, "RENAME completed");
		goto out;
	}
	size_t flen = strlen(info.name);
	if (!inbox && strncmp(str_c(&newint), info.name, flen) == 0 &&
	    (newint.data[flen] == '.' || newint.data[flen] == '\0')) {
		client_tagged(c, cmd->tag, "NO", "[CANNOT] Cannot rename a mailbox into itself");
		goto out;
	}
	/* Renaming a user's top-level mailbox is renaming the user (Cyrus's
	 * allowusermoves): their folders, subscriptions, \Seen and the ACL
	 * entries naming them follow. A user's own RENAME INBOX stays RFC
	 * 3501's. */
	olduser = inbox ? NULL : top_user(info.name);
	if (olduser != NULL) {
		newuser = top_user(str_c(&newint));
		if (!config_bool(server.cfg, "allowusermoves")) {
			client_tagged(c, cmd->tag, "NO", "[NOPERM] Renaming a user needs allowusermoves: yes");
			goto out;
		}
		if (newuser == NULL) {
			client_tagged(c, cmd->tag, "NO", "[CANNOT] A user can only be renamed to user.NEWNAME");
			goto out;
		}
	}
	if (name_taken(c, cmd->tag, str_c(&newint), &acl) != 0)
		goto out;
	if (create_superiors(c, str_c(&newint), str_c(&acl)) < 0) {
		client_store_error(c, cmd->tag);
		goto out;
	}
	int r;
	if (inbox) {
		str_clear(&acl);
		str_append(&acl, info.acl);
		r = rename_inbox(c, &info, str_c(&newint), str_c(&acl));
	} else if (olduser != NULL) {
		r = ST->be->user_rename(ST, olduser, newuser);
	} else {
		r = ST->be->mailbox_rename(ST, info.name, str_c(&newint));
	}
	if (r < 0) {
		if (olduser != NULL && ST->be->errcode(ST) == STORE_ERR_EXISTS)
			client_tagged(c, cmd->tag, "NO", "[ALREADYEXISTS] %s", ST->be->error(ST));
		else
			client_store_error(c, cmd->tag);
		goto out;
	}
	if (olduser != NULL)
		log_info("user=%s renamed user %s to %s", c->user, olduser, newuser);
	else
		log_info("user=%s renamed %s to %s", c->user, info.name, str_c(&newint));
	worker_changed();
	if (partition != NULL) {
		if (ST->be->mailbox_move_partition(ST, str_c(&newint), partition) < 0) {
			client_store_error(c, cmd->tag);
			goto out;
		}
		log_info("user=%s moved %s to partition %s", c->user, str_c(&newint), partition);
	}
	imap_command_ok(c, cmd->tag, true, "RENAME completed");
out:
	mailbox_info_free(&info);
	str_free(&newint);
	str_free(&acl);
	free(olduser);
	free(newuser);
	return 0;
}

static int subscribe(struct imap_client *c, const struct imap_command *cmd,
		     const struct imap_arg *args, size_t nargs, bool on)
{
	if (nargs != 1)
		return -1;
	const char *name = arg_mailbox(&args[0]);
	if (name == NULL)
		return -1;
	str_t internal = STR_INIT;
	if (namespace_to_internal(&c->ns, name, &internal) < 0) {
		client_tagged(c, cmd->tag, "NO", "[CANNOT] Invalid mailbox name");
	} else if (ST->be->subscribe(ST, c->user, str_c(&internal), on) < 0) {
		if (ST->be->errcode(ST) == STORE_ERR_NOTFOUND)
			client_tagged(c, cmd->tag, "NO", "[NONEXISTENT] Not subscribed to that mailbox");
		else
			client_store_error(c, cmd->tag);
	} else {
		imap_command_ok(c, cmd->tag, true, "%s completed", on ? "SUBSCRIBE" : "UNSUBSCRIBE");
	}
	str_free(&internal);
	return 0;
}

int cmd_subscribe(struct imap_client *c, const struct imap_command *cmd,
		  const struct imap_arg *args, size_t nargs, bool uid)
{
	return subscribe(c, cmd, args, nargs, true);
}

int cmd_unsubscribe(struct imap_client *c, const struct imap_command *cmd,
		    const struct imap_arg *args, size_t nargs, bool uid)
{
	return subscribe(c, cmd, args, nargs, false);
}

int status_items(struct imap_client *c, const struct mailbox_info *info,
		 const struct imap_arg *items, size_t n, str_t *out)
{
	struct mailbox_counts counts;
	bool need_counts = false;
	for (size_t i = 0; i < n; i++) {
		if (items[i].type != IMAP_ARG_ATOM)
			return -1;
		if (imap_arg_is_atom(&items[i], "MESSAGES") || imap_arg_is_atom(&items[i], "UNSEEN") ||
		    imap_arg_is_atom(&items[i], "RECENT") || imap_arg_is_atom(&items[i], "SIZE"))
			need_counts = true;
		else if (!imap_arg_is_atom(&items[i], "UIDNEXT") && !imap_arg_is_atom(&items[i], "UIDVALIDITY") &&
			 !imap_arg_is_atom(&items[i], "HIGHESTMODSEQ"))
			return -1;
	}
	if (need_counts && ST->be->mailbox_counts(ST, info, c->user, &counts) < 0)
		return -2;
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			str_append_c(out, ' ');
		const struct imap_arg *a = &items[i];
		if (imap_arg_is_atom(a, "MESSAGES"))
			str_printf(out, "MESSAGES %u", counts.messages);
		else if (imap_arg_is_atom(a, "UNSEEN"))
			str_printf(out, "UNSEEN %u", counts.unseen);
		else if (imap_arg_is_atom(a, "RECENT"))
			str_printf(out, "RECENT %u", counts.recent);
		else if (imap_arg_is_atom(a, "SIZE"))
			str_printf(out, "SIZE %llu", (unsigned long long)counts.size);
		else if (imap_arg_is_atom(a, "UIDNEXT"))
			str_printf(out, "UIDNEXT %u", info->uidnext);
		else if (imap_arg_is_atom(a, "UIDVALIDITY"))
			str_printf(out, "UIDVALIDITY %u", info->uidvalidity);
		else if (imap_arg_is_atom(a, "HIGHESTMODSEQ"))
			str_printf(out, "HIGHESTMODSEQ %llu", (unsigned long long)info->highestmodseq);
	}
	return 0;
}

int cmd_status(struct imap_client *c, const struct imap_command *cmd,
	       const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 2 || args[1].type != IMAP_ARG_LIST || args[1].count == 0)
		return -1;
	const char *name = arg_mailbox(&args[0]);
	if (name == NULL)
		return -1;
	struct mailbox_info info;
	if (!client_mailbox_require(c, cmd->tag, name, &info, NULL, false))
		return 0;
	str_t out = STR_INIT;
	if (!(client_rights(c, &info) & ACL_R)) {
		client_tagged(c, cmd->tag, "NO", "[NOPERM] Permission denied");
		goto out;
	}
	int r = status_items(c, &info, args[1].list, args[1].count, &out);
	if (r == -1) {
		mailbox_info_free(&info);
		str_free(&out);
		client_tagged(c, cmd->tag, "BAD", "Unknown STATUS item");
		return 1;
	}
	if (r < 0) {
		client_store_error(c, cmd->tag);
		goto out;
	}
	str_t q = STR_INIT;
	imap_append_astring(&q, name, strlen(name));
	client_send(c, "* STATUS %s (%s)", str_c(&q), str_c(&out));
	str_free(&q);
	imap_command_ok(c, cmd->tag, true, "STATUS completed");
out:
	mailbox_info_free(&info);
	str_free(&out);
	return 0;
}
