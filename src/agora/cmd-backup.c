/* agora backup DIR: a consistent snapshot of the store while agorad runs
 * (the database by SQLite's online backup, the message files it names
 * hard-linked or copied, the configuration).
 * agora restore [--force] DIR: puts a backup back where the configuration
 * says, refusing a store that holds anything unless --force. See
 * docs/operations.md for the disaster-recovery procedure. */
#include "agora/cmd.h"
#include "lib-storage/store.h"
#include "lib-storage/store-backup.h"

#include <stdio.h>
#include <string.h>

static enum cmd_status cmd_backup(struct cmd_ctx *ctx, int argc, char **argv)
{
	if (argc != 1 || argv[0][0] == '-')
		return cmd_bad_input("usage: agora backup DIR");
	struct backup_report rep;
	str_t err = STR_INIT;
	bool bad;
	if (store_backup(ctx->cfg, argv[0], &rep, &bad, &err) < 0) {
		fprintf(stderr, "agora: backup: %s\n", str_c(&err));
		str_free(&err);
		return bad ? CMD_BAD_INPUT : CMD_FAILED;
	}
	printf("backup in %s: %lu mailboxes, %lu messages (%lu files linked, %lu copied, %u snapshot%s)\n",
	       argv[0], rep.mailboxes, rep.messages, rep.linked, rep.copied, rep.snapshots,
	       rep.snapshots == 1 ? "" : "s");
	str_free(&err);
	return CMD_OK;
}

static enum cmd_status cmd_restore(struct cmd_ctx *ctx, int argc, char **argv)
{
	bool force = false;
	const char *dir = NULL;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0 || strcmp(argv[i], "-f") == 0)
			force = true;
		else if (argv[i][0] == '-' || dir != NULL)
			return cmd_bad_input("usage: agora restore [--force] DIR");
		else
			dir = argv[i];
	}
	if (dir == NULL)
		return cmd_bad_input("usage: agora restore [--force] DIR");
	/* The database is about to be replaced: let go of it. */
	store_close(&ctx->store);
	struct backup_report rep;
	str_t err = STR_INIT;
	bool bad;
	if (store_restore(ctx->cfg, dir, force, &rep, &bad, &err) < 0) {
		fprintf(stderr, "agora: restore: %s\n", str_c(&err));
		str_free(&err);
		return bad ? CMD_BAD_INPUT : CMD_FAILED;
	}
	printf("restored from %s: %lu mailboxes, %lu messages (%lu files linked, %lu copied)\n",
	       dir, rep.mailboxes, rep.messages, rep.linked, rep.copied);
	str_free(&err);
	return CMD_OK;
}

static const struct cmd_entry backup_entries[] = {
	{ "", NULL, "DIR", "consistent snapshot of the store (also while agorad runs)", 1, 1, cmd_backup },
	{ NULL, NULL, NULL, NULL, 0, 0, NULL },
};

static const struct cmd_entry restore_entries[] = {
	{ "", NULL, "[--force] DIR", "bring a backup back (agorad stopped; --force replaces a store)",
	  1, 2, cmd_restore },
	{ NULL, NULL, NULL, NULL, 0, 0, NULL },
};

const struct cmd_family cmd_backup_family = { .name = "backup", .entries = backup_entries };
const struct cmd_family cmd_restore_family = { .name = "restore", .entries = restore_entries };
