/* The admin tool's commands. Each family of commands ("user", "group") is
 * one file holding one table of descriptors; cmd.c is the only code that
 * parses the command line, checks argument counts and prints usage, all
 * from these tables. Adding a command is adding a row and its function. */
#ifndef AGORA_CMD_H
#define AGORA_CMD_H

#include <stdbool.h>
#include "lib/str.h"

struct config;
struct store;

/* Where the configuration is when -C does not say. */
#define AGORA_DEFAULT_CONFIG "/etc/agora/agora.conf"

/* Exit statuses. Bad input (usage, a bad name, an unknown user, a name
 * that is taken) is 2, as for configuration errors, so scripts can tell
 * "you asked for something wrong" from "something broke" (1). */
enum cmd_status {
	CMD_OK = 0,
	CMD_FAILED = 1,
	CMD_BAD_INPUT = 2,
};

/* What a command runs with; the dispatcher loads the configuration and
 * opens the store before calling it. */
struct cmd_ctx {
	struct config *cfg;
	struct store *store;
};

struct cmd_entry {
	const char *name;
	const char *alias;        /* another accepted name, or NULL */
	const char *args_usage;   /* e.g. "NAME [MEMBER...]", "" for none */
	const char *summary;
	int args_min;
	int args_max;             /* -1: no upper bound */
	/* argv[0] is the first argument after the subcommand. */
	enum cmd_status (*exec)(struct cmd_ctx *ctx, int argc, char **argv);
};

struct cmd_family {
	const char *name;
	const struct cmd_entry *entries;  /* ends with a row whose name is NULL */
	/* Exit status when the configuration or the store cannot be opened;
	 * 0 means CMD_BAD_INPUT. `deliver` says 75 so an MTA retries. */
	int setup_failure_status;
};

extern const struct cmd_family cmd_user_family;
extern const struct cmd_family cmd_group_family;
/* A family whose first entry is named "" runs that entry when no known
 * subcommand follows (`agora quota -f`). */
extern const struct cmd_family cmd_quota_family;
extern const struct cmd_family cmd_deliver_family;
extern const struct cmd_family cmd_reconstruct_family;
extern const struct cmd_family cmd_check_family;
/* cmd-migrate.c */
extern const struct cmd_family cmd_import_family;
extern const struct cmd_family cmd_export_family;
/* cmd-backup.c */
extern const struct cmd_family cmd_backup_family;
extern const struct cmd_family cmd_restore_family;

/* Parses COMMAND SUBCOMMAND ARGS... and runs it; returns the exit status. */
int cmd_dispatch(const char *config_path, int argc, char **argv);

/* Prints "agora: MESSAGE" to stderr and returns CMD_BAD_INPUT. */
enum cmd_status cmd_bad_input(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints "agora: " and the store's last error; the status follows the
 * error: a missing or taken name is bad input, anything else a failure. */
enum cmd_status cmd_store_failed(struct store *st);
/* Who runs this command, for the log line of an administrative change:
 * the name of the system account (or its uid). */
const char *cmd_actor(void);

#endif
