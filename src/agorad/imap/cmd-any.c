/* CAPABILITY, NOOP, LOGOUT, ID, ENABLE, NAMESPACE */
#include "agorad/imap/imap-commands.h"
#include "agorad/imap/imap-client.h"
#include "agorad/imap/imap-selected.h"
#include "lib-imap/imap-quote.h"

#include <string.h>

int cmd_capability(struct imap_client *c, const struct imap_command *cmd,
		   const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 0)
		return -1;
	str_t caps = STR_INIT;
	client_capability(c, &caps);
	client_send(c, "* CAPABILITY %s", str_c(&caps));
	str_free(&caps);
	imap_command_ok(c, cmd->tag, true, "CAPABILITY completed");
	return 0;
}

int cmd_noop(struct imap_client *c, const struct imap_command *cmd,
	     const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 0)
		return -1;
	imap_command_ok(c, cmd->tag, true, "NOOP completed");
	return 0;
}

int cmd_logout(struct imap_client *c, const struct imap_command *cmd,
	       const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 0)
		return -1;
	client_send(c, "* BYE Logging out");
	client_tagged(c, cmd->tag, "OK", "LOGOUT completed");
	client_close(c, NULL);
	return 0;
}

int cmd_id(struct imap_client *c, const struct imap_command *cmd,
	   const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 1 || (args[0].type != IMAP_ARG_LIST && !imap_arg_is_nil(&args[0])))
		return -1;
	if (args[0].type == IMAP_ARG_LIST) {
		/* RFC 2971: field-value pairs, at most 30, fields up to 30 octets. */
		if (args[0].count % 2 != 0 || args[0].count > 60)
			return -1;
		for (size_t i = 0; i < args[0].count; i++) {
			const struct imap_arg *a = &args[0].list[i];
			if (a->type == IMAP_ARG_LIST || (i % 2 == 0 && (a->len > 30 || a->type == IMAP_ARG_ATOM)))
				return -1;
		}
	}
	client_send(c, "* ID (\"name\" \"Agora\" \"version\" \"" AGORA_VERSION "\")");
	imap_command_ok(c, cmd->tag, true, "ID completed");
	return 0;
}

int cmd_enable(struct imap_client *c, const struct imap_command *cmd,
	       const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs == 0)
		return -1;
	str_t enabled = STR_INIT;
	for (size_t i = 0; i < nargs; i++) {
		if (args[i].type != IMAP_ARG_ATOM) {
			str_free(&enabled);
			return -1;
		}
		if (imap_arg_is_atom(&args[i], "CONDSTORE") && !c->condstore) {
			c->condstore = true;
			str_append(&enabled, " CONDSTORE");
		}
	}
	client_send(c, "* ENABLED%s", str_c(&enabled));
	str_free(&enabled);
	imap_command_ok(c, cmd->tag, true, "ENABLE completed");
	return 0;
}

int cmd_namespace(struct imap_client *c, const struct imap_command *cmd,
		  const struct imap_arg *args, size_t nargs, bool uid)
{
	if (nargs != 0)
		return -1;
	str_t ns = STR_INIT;
	namespace_response(&c->ns, &ns);
	client_send(c, "* NAMESPACE %s", str_c(&ns));
	str_free(&ns);
	imap_command_ok(c, cmd->tag, true, "NAMESPACE completed");
	return 0;
}
