/* ACL commands: listaclmailbox, setaclmailbox, deleteaclmailbox, with
 * cyradm's rights keywords. */
#include "agora/adm.h"
#include "lib/str.h"
#include "lib-imap/imap-quote.h"
#include "lib-imapc/imapc.h"

#include <stdio.h>
#include <string.h>

/* cyradm's keywords (Cyrus::IMAP::Admin %aclalias); "none" removes the
 * entry. Anything else is passed to the server as rights letters. */
static const struct {
	const char *word;
	const char *rights;
} keywords[] = {
	{ "read", "lrs" },
	{ "post", "lrsp" },
	{ "append", "lrsip" },
	{ "write", "lrswipkxte" },
	{ "delete", "lrxte" },
	{ "all", "lrswipkxtea" },
};

static const char *rights_for(const char *word)
{
	for (size_t i = 0; i < sizeof(keywords) / sizeof(keywords[0]); i++)
		if (strcmp(keywords[i].word, word) == 0)
			return keywords[i].rights;
	return word;
}

static void add_astring(str_t *cmd, const char *s)
{
	str_append_c(cmd, ' ');
	imap_append_astring(cmd, s, strlen(s));
}

struct acl_ctx {
	const char *mailbox;
	unsigned entries;
};

/* "* ACL mailbox id rights id rights ...": "id rights" per line, in the
 * server's order. */
static void acl_cb(const struct imap_command *resp, void *p)
{
	struct acl_ctx *a = p;
	if (strcmp(resp->name, "ACL") != 0 || resp->nargs < 1 || resp->args[0].type == IMAP_ARG_LIST ||
	    strcmp(resp->args[0].str, a->mailbox) != 0)
		return;
	for (size_t i = 1; i + 1 < resp->nargs; i += 2) {
		if (resp->args[i].type == IMAP_ARG_LIST || resp->args[i + 1].type == IMAP_ARG_LIST)
			continue;
		printf("%s %s\n", resp->args[i].str, resp->args[i + 1].str);
		a->entries++;
	}
}

static enum adm_result cmd_listacl(struct adm_ctx *ctx, const struct adm_cmd *c, int argc, char **argv)
{
	struct acl_ctx a = { argv[0], 0 };
	str_t cmd = STR_INIT;
	str_append(&cmd, "GETACL");
	add_astring(&cmd, argv[0]);
	enum adm_result r = adm_check(ctx, imapc_command(ctx->conn, acl_cb, &a, str_c(&cmd)), c->name);
	str_free(&cmd);
	return r;
}

/* setaclmailbox MAILBOX ID RIGHTS [ID RIGHTS...]: each pair on its own;
 * a failed one is reported as "setaclmailbox: ID: RIGHTS: text" and the
 * others still run. */
static enum adm_result cmd_setacl(struct adm_ctx *ctx, const struct adm_cmd *c, int argc, char **argv)
{
	if ((argc - 1) % 2 != 0) {
		fprintf(stderr, "usage: %s %s\n", c->name, c->usage);
		return ADM_FAILED;
	}
	enum adm_result result = ADM_OK;
	for (int i = 1; i + 1 < argc; i += 2) {
		const char *id = argv[i];
		bool none = strcmp(argv[i + 1], "none") == 0;
		const char *rights = rights_for(argv[i + 1]);
		str_t cmd = STR_INIT;
		str_append(&cmd, none ? "DELETEACL" : "SETACL");
		add_astring(&cmd, argv[0]);
		add_astring(&cmd, id);
		if (!none)
			add_astring(&cmd, rights);
		int r = imapc_command(ctx->conn, NULL, NULL, str_c(&cmd));
		str_free(&cmd);
		if (r == IMAPC_DISCONNECTED)
			return adm_check(ctx, r, c->name);
		if (r != IMAPC_OK) {
			fprintf(stderr, "%s: %s: %s: %s\n", c->name, id, none ? "" : rights,
				imapc_last_text(ctx->conn));
			result = ADM_FAILED;
		}
	}
	return result;
}

/* deleteaclmailbox MAILBOX ID...: "deleteaclmailbox: ID: text" for each
 * identifier that failed. */
static enum adm_result cmd_deleteacl(struct adm_ctx *ctx, const struct adm_cmd *c, int argc, char **argv)
{
	enum adm_result result = ADM_OK;
	for (int i = 1; i < argc; i++) {
		str_t cmd = STR_INIT;
		str_append(&cmd, "DELETEACL");
		add_astring(&cmd, argv[0]);
		add_astring(&cmd, argv[i]);
		int r = imapc_command(ctx->conn, NULL, NULL, str_c(&cmd));
		str_free(&cmd);
		if (r == IMAPC_DISCONNECTED)
			return adm_check(ctx, r, c->name);
		if (r != IMAPC_OK) {
			fprintf(stderr, "%s: %s: %s\n", c->name, argv[i], imapc_last_text(ctx->conn));
			result = ADM_FAILED;
		}
	}
	return result;
}

const struct adm_cmd adm_acl_cmds[] = {
	{ "listaclmailbox", { "lam", "listacl", NULL }, "mailbox", "list ACLs on mailbox", NULL, 1, 1,
	  cmd_listacl },
	{ "setaclmailbox", { "sam", "setacl", NULL }, "mailbox id rights [id rights ...]",
	  "set ACLs on mailbox", NULL, 3, -1,
	  cmd_setacl },
	{ "deleteaclmailbox", { "dam", "deleteacl", NULL }, "mailbox id [id ...]", "remove ACLs from mailbox",
	  NULL, 2, -1, cmd_deleteacl },
	{ NULL, { NULL }, NULL, NULL, NULL, 0, 0, NULL },
};
