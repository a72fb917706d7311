/* Metadata commands (RFC 5464): mboxconfig and info, with cyradm's names
 * for the Cyrus entries. */
#include "agora/adm.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "lib-imap/imap-quote.h"
#include "lib-imapc/imapc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* cyradm's mboxconfig keys (Cyrus::IMAP::Admin::mboxconfig), below
 * /shared (or /private with --private). */
static const struct {
	const char *key;
	const char *entry;
} keys[] = {
	{ "comment", "/comment" },
	{ "expire", "/vendor/cmu/cyrus-imapd/expire" },
	{ "news2mail", "/vendor/cmu/cyrus-imapd/news2mail" },
	{ "sharedseen", "/vendor/cmu/cyrus-imapd/sharedseen" },
	{ "sieve", "/vendor/cmu/cyrus-imapd/sieve" },
	{ "squat", "/vendor/cmu/cyrus-imapd/squat" },
	{ "pop3showafter", "/vendor/cmu/cyrus-imapd/pop3showafter" },
};

/* mboxconfig [--private] MAILBOX KEY VALUE: KEY one of the names above or
 * an explicit "/entry"; VALUE "none" removes it. */
static enum adm_result cmd_mboxcfg(struct adm_ctx *ctx, const struct adm_cmd *c, int argc, char **argv)
{
	const char *entry = NULL;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (strcmp(keys[i].key, argv[1]) == 0)
			entry = keys[i].entry;
	if (entry == NULL) {
		if (argv[1][0] != '/')
			return adm_error(c, "Unknown parameter %s", argv[1]);
		entry = argv[1];
	}
	if (!imapc_has_capability(ctx->conn, "METADATA"))
		return adm_error(c, "Remote does not support METADATA.");
	str_t name = STR_INIT, cmd = STR_INIT;
	str_printf(&name, "%s%s", ctx->opt[0] != NULL ? "/private" : "/shared", entry);
	str_append(&cmd, "SETMETADATA ");
	imap_append_string(&cmd, argv[0], strlen(argv[0]));
	str_append(&cmd, " (");
	imap_append_string(&cmd, name.data, name.len);
	str_append_c(&cmd, ' ');
	if (strcmp(argv[2], "none") == 0)
		str_append(&cmd, "NIL");
	else
		imap_append_string(&cmd, argv[2], strlen(argv[2]));
	str_append_c(&cmd, ')');
	enum adm_result r = adm_simple(ctx, c->name, str_c(&cmd));
	str_free(&cmd);
	str_free(&name);
	return r;
}

struct entry {
	char *name;
	char *value;
};

struct info_ctx {
	const char *mailbox;
	struct entry *v;
	size_t n, alloc;
};

/* "* METADATA mailbox (entry value entry value ...)" */
static void metadata_cb(const struct imap_command *resp, void *p)
{
	struct info_ctx *in = p;
	if (strcmp(resp->name, "METADATA") != 0 || resp->nargs < 2 || resp->args[0].type == IMAP_ARG_LIST ||
	    strcmp(resp->args[0].str, in->mailbox) != 0 || resp->args[1].type != IMAP_ARG_LIST)
		return;
	const struct imap_arg *l = &resp->args[1];
	for (size_t i = 0; i + 1 < l->count; i += 2) {
		const struct imap_arg *e = &l->list[i], *v = &l->list[i + 1];
		if (e->type == IMAP_ARG_LIST || v->type == IMAP_ARG_LIST || imap_arg_is_nil(v))
			continue;
		if (in->n == in->alloc) {
			in->alloc = in->alloc == 0 ? 16 : in->alloc * 2;
			in->v = xrealloc(in->v, in->alloc * sizeof(*in->v));
		}
		in->v[in->n].name = xstrndup(e->str, e->len);
		in->v[in->n].value = xstrndup(v->str, v->len);
		in->n++;
	}
}

static int cmp_entries(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

/* info [MAILBOX]: every entry of the mailbox (the server's without one),
 * laid out as cyradm does:
 *   {MAILBOX}:
 *     shared:
 *       comment: text
 * entries shown by their last component, sorted, private before shared. */
static enum adm_result cmd_info(struct adm_ctx *ctx, const struct adm_cmd *c, int argc, char **argv)
{
	if (!imapc_has_capability(ctx->conn, "METADATA"))
		return adm_error(c, "Remote does not support METADATA.");
	struct info_ctx in = { argc > 0 ? argv[0] : "", NULL, 0, 0 };
	str_t cmd = STR_INIT;
	/* The form cyradm sends, which Cyrus and Agora both take. */
	str_append(&cmd, "GETMETADATA ");
	imap_append_string(&cmd, in.mailbox, strlen(in.mailbox));
	str_append(&cmd, " (\"/private/*\" \"/shared/*\")");
	enum adm_result r = adm_check(ctx, imapc_command(ctx->conn, metadata_cb, &in, str_c(&cmd)), c->name);
	str_free(&cmd);
	if (r == ADM_OK && in.n > 0) {
		qsort(in.v, in.n, sizeof(*in.v), cmp_entries);
		if (in.mailbox[0] == '\0')
			printf("{Server Wide}\n");
		else
			printf("{%s}:\n", in.mailbox);
		static const char *const scopes[] = { "private", "shared" };
		for (size_t s = 0; s < 2; s++) {
			bool header = false;
			size_t plen = strlen(scopes[s]) + 1;
			for (size_t i = 0; i < in.n; i++) {
				const char *name = in.v[i].name;
				if (strncmp(name + 1, scopes[s], plen - 1) != 0 || (name[plen] != '/' && name[plen] != '\0'))
					continue;
				if (!header) {
					printf("  %s:\n", scopes[s]);
					header = true;
				}
				printf("    %s: %s\n", strrchr(name, '/') + 1, in.v[i].value);
			}
		}
	}
	for (size_t i = 0; i < in.n; i++) {
		free(in.v[i].name);
		free(in.v[i].value);
	}
	free(in.v);
	return r;
}

static const struct adm_option private_opt[] = {
	{ "private", false },
	{ NULL, false },
};

const struct adm_cmd adm_metadata_cmds[] = {
	{ "mboxconfig", { "mboxcfg", NULL },
	  "[--private] mailbox [comment|expire|news2mail|pop3showafter|sharedseen|sieve|squat|/<explicit annotation>] value",
	  "configure mailbox", private_opt, 3, 3, cmd_mboxcfg },
	{ "info", { NULL }, "[mailbox]", "display mailbox/server annotations", NULL, 0, 1, cmd_info },
	{ NULL, { NULL }, NULL, NULL, NULL, 0, 0, NULL },
};
