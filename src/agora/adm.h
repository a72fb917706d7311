/* `agora adm`: the cyradm command language over IMAP.
 *
 * Each family of commands (mailboxes, ACLs, quotas, metadata) is one file
 * holding one table of descriptors; adm.c is the only code that splits a
 * line into words, parses options, checks argument counts, prints usage
 * and help, and runs the command, all from these tables. Names, aliases,
 * usage and output follow the real cyradm (Cyrus::IMAP::Shell) so that
 * scripts written for it keep working. */
#ifndef AGORA_ADM_H
#define AGORA_ADM_H

#include <stdbool.h>

struct imapc;

/* What an exec function returns. */
enum adm_result {
	ADM_OK = 0,
	ADM_FAILED = 1,   /* the error is printed; the next command runs */
	ADM_LOST = -1,    /* the connection is gone; the session ends (exit 2) */
};

/* An option of a command, written "--name", "-name" or any prefix of
 * "-name" ("-s" for "-subscribed"), as cyradm accepts them. */
struct adm_option {
	const char *name;       /* without dashes */
	bool takes_value;
};

#define ADM_MAX_OPTIONS 4

struct adm_ctx {
	struct imapc *conn;
	/* Values of the options given to the running command, by their index
	 * in its option table: NULL when absent, "" for a flag. */
	const char *opt[ADM_MAX_OPTIONS];
	bool quit;
	int exit_status;        /* from "exit N" */
};

struct adm_cmd {
	const char *name;                 /* as cyradm names it in messages */
	const char *aliases[4];           /* NULL-terminated */
	const char *usage;                /* the arguments, "" for none */
	const char *summary;
	const struct adm_option *options; /* ends with a NULL name; NULL for none */
	int args_min;
	int args_max;                     /* -1: no upper bound */
	enum adm_result (*exec)(struct adm_ctx *ctx, const struct adm_cmd *cmd, int argc, char **argv);
};

extern const struct adm_cmd adm_mailbox_cmds[];
extern const struct adm_cmd adm_acl_cmds[];
extern const struct adm_cmd adm_quota_cmds[];
extern const struct adm_cmd adm_metadata_cmds[];

/* `agora [-C FILE] adm [OPTIONS] [FILE]`: returns the exit status. */
int adm_main(const char *config_path, int argc, char **argv);

/* Prints "NAME: TEXT" (printf-style) to stderr and returns ADM_FAILED. */
enum adm_result adm_error(const struct adm_cmd *cmd, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Runs an IMAP command whose only answer is its status: OK is ADM_OK; NO
 * and BAD print "PREFIX: server text" and are ADM_FAILED. */
enum adm_result adm_simple(struct adm_ctx *ctx, const char *prefix, const char *command);
/* Checks the result of imapc_command(): reports a lost connection on
 * stderr (ADM_LOST), the server's NO/BAD as "PREFIX: text" (ADM_FAILED). */
enum adm_result adm_check(struct adm_ctx *ctx, int imapc_result, const char *prefix);

#endif
