/* The IMAP command table: one descriptor per command, with the states it
 * is valid in; each command lives in a cmd-*.c file. */
#ifndef AGORA_IMAP_COMMANDS_H
#define AGORA_IMAP_COMMANDS_H

#include <stdbool.h>
#include "lib-imap/imap-parser.h"

struct imap_client;

enum cmd_flags {
	CMD_NOAUTH   = 1 << 0,   /* valid before login */
	CMD_AUTH     = 1 << 1,   /* valid once logged in */
	CMD_SELECTED = 1 << 2,   /* needs a selected mailbox */
	CMD_UID      = 1 << 3,   /* has a UID form */
	CMD_NO_EXPUNGE = 1 << 4, /* EXPUNGE responses must wait (FETCH, STORE, SEARCH) */
};

/* A command returns 0 when it has answered (OK or NO), -1 when its
 * arguments are invalid (the caller answers BAD with *bad or a generic
 * text), 1 when it answered BAD itself. */
typedef int imap_cmd_fn(struct imap_client *c, const struct imap_command *cmd,
			const struct imap_arg *args, size_t nargs, bool uid);

struct imap_cmd_def {
	const char *name;
	imap_cmd_fn *fn;
	unsigned flags;
};

int imap_command_run(struct imap_client *c, const struct imap_command *cmd);
/* A line for a waiting command (AUTHENTICATE data, DONE). */
void imap_command_continue(struct imap_client *c, const char *line);
/* Finishes a command: sends pending untagged updates, then the tagged OK. */
void imap_command_ok(struct imap_client *c, const char *tag, bool allow_expunge, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* the commands */
imap_cmd_fn cmd_capability, cmd_noop, cmd_logout, cmd_id, cmd_enable, cmd_namespace;
imap_cmd_fn cmd_login, cmd_authenticate, cmd_starttls;
imap_cmd_fn cmd_create, cmd_delete, cmd_rename, cmd_subscribe, cmd_unsubscribe, cmd_status;
imap_cmd_fn cmd_list, cmd_lsub;
imap_cmd_fn cmd_select, cmd_examine, cmd_close, cmd_unselect, cmd_check, cmd_expunge, cmd_idle;
imap_cmd_fn cmd_append, cmd_fetch, cmd_store, cmd_copy, cmd_move, cmd_search;
imap_cmd_fn cmd_setacl, cmd_deleteacl, cmd_getacl, cmd_listrights, cmd_myrights;
imap_cmd_fn cmd_getmetadata, cmd_setmetadata;
imap_cmd_fn cmd_getquota, cmd_getquotaroot, cmd_setquota;

void cmd_authenticate_continue(struct imap_client *c, const char *line);
/* auth-anonymous.c */
bool anonymous_allowed(void);
/* 1 when LOGIN named "anonymous" and it was handled. */
int anonymous_login(struct imap_client *c, const char *tag, const char *user, const char *password);
int cmd_authenticate_anonymous(struct imap_client *c, const struct imap_command *cmd,
			       const struct imap_arg *args, size_t nargs);
void anonymous_continue(struct imap_client *c, const char *tag, const char *line);
void cmd_idle_continue(struct imap_client *c, const char *line);

/* Shared argument helpers: a string argument (atom, quoted, literal). */
const char *arg_string(const struct imap_arg *a);
/* A mailbox name argument, validated as modified UTF-7. */
const char *arg_mailbox(const struct imap_arg *a);

struct mailbox_info;
struct quota_info;
/* STATUS items ("MESSAGES 3 UNSEEN 1 ...") for STATUS and LIST-STATUS;
 * -1 when an item is unknown, -2 on a store error. */
int status_items(struct imap_client *c, const struct mailbox_info *info,
		 const struct imap_arg *items, size_t n, str_t *out);
/* "* QUOTA root (STORAGE used limit MESSAGE used limit)" for the resources
 * that have a limit. */
void quota_send(struct imap_client *c, const char *extroot, const struct quota_info *q);
/* `quotawarn`: an [ALERT] when the mailbox's quota root is nearly full. */
void quota_warn(struct imap_client *c, const char *mailbox);

#endif
