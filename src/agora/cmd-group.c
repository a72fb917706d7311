/* agora group add|del|list: groups that ACLs name as "group:NAME" or
 * "$NAME". Members are existing users. */
#include "agora/cmd.h"
#include "agora/account-name.h"
#include "lib/log.h"
#include "lib-storage/store.h"

#include <stdio.h>

static enum cmd_status cmd_group_add(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct store *st = ctx->store;
	const char *name = argv[0];
	enum cmd_status status = CMD_OK;
	str_t err = STR_INIT;

	if (account_name_check(ctx->cfg, "group", name, &err) < 0) {
		status = cmd_bad_input("%s", str_c(&err));
		goto out;
	}
	/* The store takes any member string; a typo would silently grant
	 * nothing, so every member must be a user now. */
	for (int i = 1; i < argc; i++) {
		int ret = st->be->user_get(st, argv[i], NULL);
		if (ret < 0) {
			status = cmd_store_failed(st);
			goto out;
		}
		if (ret == 0) {
			status = cmd_bad_input("group %s: no user %s", name, argv[i]);
			goto out;
		}
	}
	/* argv is NULL-terminated after its last member (main's argv). */
	if (st->be->group_add(st, name, (const char *const *)(argv + 1)) < 0) {
		status = cmd_store_failed(st);
		goto out;
	}
	str_t members = STR_INIT;
	for (int i = 1; i < argc; i++) {
		str_append_c(&members, ' ');
		str_append(&members, argv[i]);
	}
	log_info("group: user=%s added %s%s%s", cmd_actor(), name, argc > 1 ? " members:" : "", str_c(&members));
	str_free(&members);
	printf("group %s updated\n", name);
out:
	str_free(&err);
	return status;
}

static enum cmd_status cmd_group_del(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct store *st = ctx->store;
	if (st->be->group_del(st, argv[0]) < 0)
		return cmd_store_failed(st);
	log_info("group: user=%s deleted %s", cmd_actor(), argv[0]);
	printf("group %s deleted\n", argv[0]);
	return CMD_OK;
}

static void print_group(const char *name, const char *members, void *ctx)
{
	if (members != NULL && members[0] != '\0')
		printf("%s: %s\n", name, members);
	else
		printf("%s:\n", name);
}

static enum cmd_status cmd_group_list(struct cmd_ctx *ctx, int argc, char **argv)
{
	if (ctx->store->be->group_list(ctx->store, print_group, NULL) < 0)
		return cmd_store_failed(ctx->store);
	return CMD_OK;
}

static const struct cmd_entry group_entries[] = {
	{ "add", NULL, "NAME [MEMBER...]", "create a group or add members to it", 1, -1, cmd_group_add },
	{ "del", "delete", "NAME", "delete a group", 1, 1, cmd_group_del },
	{ "list", "ls", "", "list groups as \"NAME: MEMBER...\"", 0, 0, cmd_group_list },
	{ NULL, NULL, NULL, NULL, 0, 0, NULL },
};

const struct cmd_family cmd_group_family = { .name = "group", .entries = group_entries };
