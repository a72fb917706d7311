/* Mailbox commands: createmailbox, deletemailbox, renamemailbox,
 * listmailbox. */
#include "agora/adm.h"
#include "lib/str.h"
#include "lib/xalloc.h"
#include "lib-imap/imap-quote.h"
#include "lib-imapc/imapc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void add_astring(str_t *cmd, const char *s)
{
	str_append_c(cmd, ' ');
	imap_append_astring(cmd, s, strlen(s));
}

static void add_string(str_t *cmd, const char *s)
{
	str_append_c(cmd, ' ');
	imap_append_string(cmd, s, strlen(s));
}

/* Runs `cmd` and frees it. */
static enum adm_result simple(struct adm_ctx *ctx, const struct adm_cmd *c, str_t *cmd)
{
	enum adm_result r = adm_simple(ctx, c->name, str_c(cmd));
	str_free(cmd);
	return r;
}

/* createmailbox [--partition P] MAILBOX [PARTITION] */
static enum adm_result cmd_create(struct adm_ctx *ctx, const struct adm_cmd *c, int argc, char **argv)
{
	const char *partition = ctx->opt[0] != NULL ? ctx->opt[0] : argc > 1 ? argv[1] : NULL;
	str_t cmd = STR_INIT;
	str_append(&cmd, "CREATE");
	add_astring(&cmd, argv[0]);
	if (partition != NULL)
		add_astring(&cmd, partition);
	return simple(ctx, c, &cmd);
}

static enum adm_result cmd_delete(struct adm_ctx *ctx, const struct adm_cmd *c, int argc, char **argv)
{
	str_t cmd = STR_INIT;
	str_append(&cmd, "DELETE");
	add_astring(&cmd, argv[0]);
	return simple(ctx, c, &cmd);
}

/* renamemailbox [--partition P] OLD NEW [PARTITION] */
static enum adm_result cmd_rename(struct adm_ctx *ctx, const struct adm_cmd *c, int argc, char **argv)
{
	const char *partition = ctx->opt[0] != NULL ? ctx->opt[0] : argc > 2 ? argv[2] : NULL;
	str_t cmd = STR_INIT;
	str_append(&cmd, "RENAME");
	add_astring(&cmd, argv[0]);
	add_astring(&cmd, argv[1]);
	if (partition != NULL)
		add_astring(&cmd, partition);
	return simple(ctx, c, &cmd);
}

struct list_ctx {
	const char *want;     /* "LIST" or "LSUB" */
	char **lines;
	size_t n, alloc;
};

/* "* LIST (attrs) sep name": the line cyradm prints, "name (attrs)". */
static void list_cb(const struct imap_command *resp, void *p)
{
	struct list_ctx *l = p;
	if (strcmp(resp->name, l->want) != 0 || resp->nargs < 3 || resp->args[0].type != IMAP_ARG_LIST ||
	    resp->args[2].type == IMAP_ARG_LIST)
		return;
	str_t line = STR_INIT;
	str_append_n(&line, resp->args[2].str, resp->args[2].len);
	const struct imap_arg *attrs = &resp->args[0];
	if (attrs->count > 0) {
		str_append(&line, " (");
		for (size_t i = 0; i < attrs->count; i++) {
			if (attrs->list[i].type == IMAP_ARG_LIST)
				continue;
			if (i > 0)
				str_append_c(&line, ' ');
			str_append(&line, attrs->list[i].str);
		}
		str_append_c(&line, ')');
	}
	if (l->n == l->alloc) {
		l->alloc = l->alloc == 0 ? 64 : l->alloc * 2;
		l->lines = xrealloc(l->lines, l->alloc * sizeof(char *));
	}
	l->lines[l->n++] = str_steal(&line);
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* cyradm's layout: sorted, in columns filled top to bottom, as many as fit
 * in $COLUMNS (79 when unset); COLUMNS=1 gives one name per line. */
static void print_columns(char **lines, size_t n)
{
	if (n == 0)
		return;
	size_t w = 0;
	for (size_t i = 0; i < n; i++)
		if (strlen(lines[i]) + 1 > w)
			w = strlen(lines[i]) + 1;
	const char *env = getenv("COLUMNS");
	long ll = env != NULL ? strtol(env, NULL, 10) : 0;
	if (ll <= 0)
		ll = 79;
	if (w > (size_t)ll)
		w = (size_t)ll;
	size_t per = (size_t)ll / w;
	size_t rows = (n + per - 1) / per;
	for (size_t row = 0; row < rows; row++) {
		for (size_t col = 0; col < n; col += rows) {
			if (row + col < n) {
				size_t len = strlen(lines[row + col]);
				fputs(lines[row + col], stdout);
				for (size_t k = len; k < w + 1; k++)
					fputc(' ', stdout);
			}
		}
		fputc('\n', stdout);
	}
}

/* listmailbox [-subscribed] [PATTERN [REFERENCE]] */
static enum adm_result cmd_list(struct adm_ctx *ctx, const struct adm_cmd *c, int argc, char **argv)
{
	bool subscribed = ctx->opt[0] != NULL;
	struct list_ctx l = { subscribed ? "LSUB" : "LIST", NULL, 0, 0 };
	str_t cmd = STR_INIT;
	str_append(&cmd, l.want);
	add_string(&cmd, argc > 1 ? argv[1] : "");
	add_string(&cmd, argc > 0 ? argv[0] : "*");
	/* What cyradm asks: \Subscribed shows among the attributes. */
	if (!subscribed && imapc_has_capability(ctx->conn, "LIST-EXTENDED"))
		str_append(&cmd, " RETURN (SUBSCRIBED)");
	enum adm_result r = adm_check(ctx, imapc_command(ctx->conn, list_cb, &l, str_c(&cmd)), c->name);
	str_free(&cmd);
	if (r == ADM_OK && l.n > 0) {
		qsort(l.lines, l.n, sizeof(char *), cmp_lines);
		print_columns(l.lines, l.n);
	}
	for (size_t i = 0; i < l.n; i++)
		free(l.lines[i]);
	free(l.lines);
	return r;
}

static const struct adm_option partition_opt[] = {
	{ "partition", true },
	{ NULL, false },
};

static const struct adm_option list_opts[] = {
	{ "subscribed", false },
	{ NULL, false },
};

const struct adm_cmd adm_mailbox_cmds[] = {
	{ "createmailbox", { "cm", "create", NULL }, "[--partition partition] mailbox [partition]",
	  "create mailbox", partition_opt, 1, 2, cmd_create },
	{ "deletemailbox", { "dm", "delete", NULL }, "mailbox", "delete mailbox", NULL, 1, 1, cmd_delete },
	{ "renamemailbox", { "renm", "rename", NULL }, "[--partition partition] oldname newname [partition]",
	  "rename (and optionally relocate) mailbox", partition_opt, 2, 3, cmd_rename },
	{ "listmailbox", { "lm", NULL }, "[-subscribed] [pattern [base]]", "list mailboxes", list_opts, 0, 2,
	  cmd_list },
	{ NULL, { NULL }, NULL, NULL, NULL, 0, 0, NULL },
};
