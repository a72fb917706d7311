#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/imap/imap-selected.h"
#include "lib-imap/mutf7.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <stdarg.h>
#include <string.h>

#define ANY (CMD_NOAUTH | CMD_AUTH | CMD_SELECTED)
#define AUTHD (CMD_AUTH | CMD_SELECTED)

static const struct imap_cmd_def commands[] = {
	{ "CAPABILITY", cmd_capability, ANY },
	{ "NOOP", cmd_noop, ANY },
	{ "LOGOUT", cmd_logout, ANY },
	{ "ID", cmd_id, ANY },
	{ "STARTTLS", cmd_starttls, CMD_NOAUTH },
	{ "LOGIN", cmd_login, CMD_NOAUTH },
	{ "AUTHENTICATE", cmd_authenticate, CMD_NOAUTH },
	{ "ENABLE", cmd_enable, AUTHD },
	{ "NAMESPACE", cmd_namespace, AUTHD },
	{ "SELECT", cmd_select, AUTHD },
	{ "EXAMINE", cmd_examine, AUTHD },
	{ "CREATE", cmd_create, AUTHD },
	{ "DELETE", cmd_delete, AUTHD },
	{ "RENAME", cmd_rename, AUTHD },
	{ "SUBSCRIBE", cmd_subscribe, AUTHD },
	{ "UNSUBSCRIBE", cmd_unsubscribe, AUTHD },
	{ "LIST", cmd_list, AUTHD },
	{ "LSUB", cmd_lsub, AUTHD },
	{ "STATUS", cmd_status, AUTHD },
	{ "APPEND", cmd_append, AUTHD },
	{ "IDLE", cmd_idle, AUTHD },
	{ "SETACL", cmd_setacl, AUTHD },
	{ "DELETEACL", cmd_deleteacl, AUTHD },
	{ "GETACL", cmd_getacl, AUTHD },
	{ "LISTRIGHTS", cmd_listrights, AUTHD },
	{ "MYRIGHTS", cmd_myrights, AUTHD },
	{ "GETMETADATA", cmd_getmetadata, AUTHD },
	{ "GETQUOTA", cmd_getquota, AUTHD },
	{ "GETQUOTAROOT", cmd_getquotaroot, AUTHD },
	{ "SETQUOTA", cmd_setquota, AUTHD },
	{ "SETMETADATA", cmd_setmetadata, AUTHD },
	{ "CHECK", cmd_check, CMD_SELECTED },
	{ "CLOSE", cmd_close, CMD_SELECTED },
	{ "UNSELECT", cmd_unselect, CMD_SELECTED },
	{ "EXPUNGE", cmd_expunge, CMD_SELECTED | CMD_UID },
	{ "SEARCH", cmd_search, CMD_SELECTED | CMD_UID | CMD_NO_EXPUNGE },
	{ "FETCH", cmd_fetch, CMD_SELECTED | CMD_UID | CMD_NO_EXPUNGE },
	{ "STORE", cmd_store, CMD_SELECTED | CMD_UID | CMD_NO_EXPUNGE },
	{ "COPY", cmd_copy, CMD_SELECTED | CMD_UID },
	{ "MOVE", cmd_move, CMD_SELECTED | CMD_UID },
};

static const struct imap_cmd_def *find(const char *name)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(commands[i].name, name) == 0)
			return &commands[i];
	}
	return NULL;
}

const char *arg_string(const struct imap_arg *a)
{
	if (a->type == IMAP_ARG_LIST)
		return NULL;
	/* Literals may hold NULs: a C-string user must not be fooled. */
	if (memchr(a->str, '\0', a->len) != NULL)
		return NULL;
	return a->str;
}

const char *arg_mailbox(const struct imap_arg *a)
{
	const char *s = arg_string(a);
	if (s == NULL || !mutf7_is_valid(s, a->len))
		return NULL;
	return s;
}

void imap_command_ok(struct imap_client *c, const char *tag, bool allow_expunge, const char *fmt, ...)
{
	imap_selected_sync(c, allow_expunge);
	if (c->closing)
		return;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	va_list ap;
	evbuffer_add_printf(out, "%s OK ", tag);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

int imap_command_run(struct imap_client *c, const struct imap_command *cmd)
{
	bool uid = false;
	const char *name = cmd->name;
	const struct imap_arg *args = cmd->args;
	size_t nargs = cmd->nargs;
	if (strcmp(name, "UID") == 0) {
		if (nargs < 1 || args[0].type != IMAP_ARG_ATOM) {
			client_tagged(c, cmd->tag, "BAD", "UID needs a command");
			return 1;
		}
		uid = true;
		static char upper[32];
		size_t i;
		for (i = 0; i + 1 < sizeof(upper) && args[0].str[i] != '\0'; i++)
			upper[i] = (char)(args[0].str[i] >= 'a' && args[0].str[i] <= 'z' ?
					  args[0].str[i] - 32 : args[0].str[i]);
		upper[i] = '\0';
		name = upper;
		args++;
		nargs--;
	}
	const struct imap_cmd_def *def = find(name);
	if (def == NULL || (uid && !(def->flags & CMD_UID))) {
		client_tagged(c, cmd->tag, "BAD", "Unknown command %s%s", uid ? "UID " : "",
			      strlen(name) <= 32 ? name : "");
		return 1;
	}
	unsigned need = c->state == IMAP_NOAUTH ? CMD_NOAUTH : c->state == IMAP_AUTH ? CMD_AUTH : CMD_SELECTED;
	if (!(def->flags & need)) {
		if (c->state == IMAP_NOAUTH)
			client_tagged(c, cmd->tag, "BAD", "Log in first");
		else if (def->flags & CMD_SELECTED)
			client_tagged(c, cmd->tag, "BAD", "No mailbox selected");
		else
			client_tagged(c, cmd->tag, "BAD", "Already logged in");
		return 1;
	}
	return def->fn(c, cmd, args, nargs, uid);
}

void imap_command_continue(struct imap_client *c, const char *line)
{
	if (c->wait == WAIT_AUTH_DATA)
		cmd_authenticate_continue(c, line);
	else if (c->wait == WAIT_IDLE_DONE)
		cmd_idle_continue(c, line);
}
