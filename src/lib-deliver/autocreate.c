/* Autocreation as the Cyrus autocreate patch (and Cyrus 3) define it: a
 * user's INBOX made on first login or, with autocreate_post, on first mail;
 * never for administrators nor for names the user database does not know;
 * optionally only for some users and groups (autocreate_users); with default
 * folders carrying their SPECIAL-USE attributes, subscriptions, and a quota.
 * Every decision is logged with its reason. */
#include "lib-deliver/autocreate.h"
#include "lib/config.h"
#include "lib/log.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "lib-acl/acl.h"
#include "lib-storage/store.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Splits "Sent | Drafts | Trash" (or space separated) and calls cb. */
static void for_each_item(const char *list, void (*cb)(const char *item, void *ctx), void *ctx)
{
	if (list == NULL)
		return;
	char *copy = xstrdup(list);
	char *save = NULL;
	for (char *tok = strtok_r(copy, "|", &save); tok != NULL; tok = strtok_r(NULL, "|", &save)) {
		while (*tok == ' ' || *tok == '\t')
			tok++;
		size_t n = strlen(tok);
		while (n > 0 && (tok[n - 1] == ' ' || tok[n - 1] == '\t'))
			tok[--n] = '\0';
		if (n > 0)
			cb(tok, ctx);
	}
	free(copy);
}

struct find_item {
	const char *name;
	bool found;
};

static void match_item(const char *item, void *ctx)
{
	struct find_item *f = ctx;
	if (strcasecmp(item, f->name) == 0)
		f->found = true;
}

static bool in_list(const char *list, const char *name)
{
	struct find_item f = { name, false };
	for_each_item(list, match_item, &f);
	return f.found;
}

/* The SPECIAL-USE attribute a default folder's name implies. */
static const char *specialuse_for(const char *folder)
{
	static const struct { const char *name, *use; } map[] = {
		{ "Sent", "\\Sent" }, { "Sent Items", "\\Sent" }, { "Sent Messages", "\\Sent" },
		{ "Drafts", "\\Drafts" }, { "Trash", "\\Trash" }, { "Deleted Items", "\\Trash" },
		{ "Junk", "\\Junk" }, { "Spam", "\\Junk" }, { "Archive", "\\Archive" },
	};
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcasecmp(map[i].name, folder) == 0)
			return map[i].use;
	}
	return NULL;
}

/* Whether autocreate_users lets this user have an INBOX made. */
static bool user_allowed(struct store *st, const struct config *cfg, const char *user)
{
	const char *list = config_str(cfg, "autocreate_users");
	if (list == NULL || list[0] == '\0' || strcmp(list, "anyone") == 0)
		return true;
	char **groups = NULL;
	(void)st->be->user_groups(st, user, &groups);
	char *copy = xstrdup(list);
	char *save = NULL;
	bool ok = false;
	for (char *tok = strtok_r(copy, " \t,", &save); tok != NULL && !ok; tok = strtok_r(NULL, " \t,", &save)) {
		if (strcmp(tok, "anyone") == 0 || strcmp(tok, user) == 0)
			ok = true;
		const char *g = strncmp(tok, "group:", 6) == 0 ? tok + 6 : tok[0] == '$' ? tok + 1 : NULL;
		for (char **p = groups; g != NULL && p != NULL && *p != NULL; p++) {
			if (strcmp(*p, g) == 0)
				ok = true;
		}
	}
	free(copy);
	store_strv_free(groups);
	return ok;
}

struct folder_ctx {
	struct store *st;
	const struct config *cfg;
	const char *user;
	const char *acl;
	const char *partition;
};

static void create_folder(const char *folder, void *p)
{
	struct folder_ctx *f = p;
	str_t name = STR_INIT;
	str_printf(&name, "user.%s.", f->user);
	/* Folder names are given as a client would see them under INBOX. */
	for (const char *c = folder; *c != '\0'; c++)
		str_append_c(&name, *c == '/' ? '.' : *c);
	const char *use = specialuse_for(folder);
	if (f->st->be->mailbox_create(f->st, str_c(&name), f->partition, f->acl, use, NULL) < 0) {
		if (f->st->be->errcode(f->st) != STORE_ERR_EXISTS)
			log_error("autocreate: %s: %s", str_c(&name), f->st->be->error(f->st));
	} else {
		log_info("autocreate: created %s%s%s", str_c(&name), use ? " " : "", use ? use : "");
	}
	if (in_list(config_str(f->cfg, "autocreate_subscribe_folders"), folder) &&
	    f->st->be->subscribe(f->st, f->user, str_c(&name), true) < 0)
		log_error("autocreate: subscribing %s: %s", str_c(&name), f->st->be->error(f->st));
	str_free(&name);
}

static void subscribe_shared(const char *name, void *p)
{
	struct folder_ctx *f = p;
	struct mailbox_info info;
	if (f->st->be->mailbox_get(f->st, name, &info) != 1) {
		log_info("autocreate: %s is not subscribed for %s: no such mailbox", name, f->user);
		return;
	}
	char **groups = NULL;
	(void)f->st->be->user_groups(f->st, f->user, &groups);
	struct acl_subject who = { f->user, (const char *const *)groups, true };
	if (acl_rights_eval(info.acl, &who) & ACL_L)
		(void)f->st->be->subscribe(f->st, f->user, name, true);
	else
		log_info("autocreate: %s is not subscribed for %s: no right to see it", name, f->user);
	store_strv_free(groups);
	mailbox_info_free(&info);
}

struct all_shared {
	struct folder_ctx *f;
	char **groups;
};

static void subscribe_visible(const struct mailbox_info *info, void *p)
{
	struct all_shared *a = p;
	if (strncmp(info->name, "user.", 5) == 0)
		return;
	struct acl_subject who = { a->f->user, (const char *const *)a->groups, true };
	if (acl_rights_eval(info->acl, &who) & ACL_L)
		(void)a->f->st->be->subscribe(a->f->st, a->f->user, info->name, true);
}

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
	if (config_list_has(cfg, "admins", user)) {
		log_info("autocreate: no INBOX for %s: administrators get none", user);
		goto out;
	}
	if (strcmp(why, "delivery") == 0 && !config_bool(cfg, "autocreate_post")) {
		log_info("autocreate: no INBOX for %s on delivery: autocreate_post is off", user);
		goto out;
	}
	if (st->be->user_get(st, user, NULL) != 1) {
		log_info("autocreate: no INBOX for %s: not in the user database", user);
		goto out;
	}
	if (!user_allowed(st, cfg, user)) {
		log_info("autocreate: no INBOX for %s: not in autocreate_users", user);
		goto out;
	}
	/* A new user INBOX gives its owner every right. */
	acl_entry_set("", user, ACL_ALL, false, &acl);
	const char *partition = config_str(cfg, "defaultpartition");
	if (st->be->mailbox_create(st, str_c(&name), partition, str_c(&acl), NULL, NULL) < 0) {
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
	struct folder_ctx f = { st, cfg, user, str_c(&acl), partition };
	if (in_list(config_str(cfg, "autocreate_subscribe_folders"), "INBOX"))
		(void)st->be->subscribe(st, user, str_c(&name), true);
	for_each_item(config_str(cfg, "autocreate_inbox_folders"), create_folder, &f);
	if (config_bool(cfg, "autocreate_subscribe_sharedfolders_all")) {
		struct all_shared a = { &f, NULL };
		(void)st->be->user_groups(st, user, &a.groups);
		(void)st->be->mailbox_list(st, NULL, subscribe_visible, &a);
		store_strv_free(a.groups);
	} else {
		for_each_item(config_str(cfg, "autocreate_subscribe_sharedfolders"), subscribe_shared, &f);
	}
out:
	str_free(&name);
	str_free(&acl);
	return ret;
}
