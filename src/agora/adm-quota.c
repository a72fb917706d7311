/* Quota commands (RFC 9208): setquota, listquota, listquotaroot. */
#include "agora/adm.h"
#include "lib/str.h"
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

static bool all_digits(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s != '\0'; s++)
		if (*s < '0' || *s > '9')
			return false;
	return true;
}

/* setquota ROOT VALUE (STORAGE, in KiB, as in cyradm) or
 * setquota ROOT RESOURCE VALUE [RESOURCE VALUE...]; VALUE "none" removes
 * that limit (RFC 9208: a resource left out of SETQUOTA has none). Like
 * cyradm, the short form says what it does on stdout. */
static enum adm_result cmd_setquota(struct adm_ctx *ctx, const struct adm_cmd *c, int argc, char **argv)
{
	const char *storage[2] = { "STORAGE", NULL };
	char **pairs = argv + 1;
	int npairs = argc - 1;
	if (argc == 2) {
		if (strcmp(argv[1], "none") == 0) {
			printf("remove quota\n");
			npairs = 0;
		} else {
			printf("quota:%s\n", argv[1]);
			storage[1] = argv[1];
			pairs = (char **)storage;
			npairs = 2;
		}
	}
	if (npairs % 2 != 0) {
		fprintf(stderr, "usage: %s mailbox limit num [limit num ...]\n"
				"       %s mailbox num\n", c->name, c->name);
		return ADM_FAILED;
	}
	str_t cmd = STR_INIT;
	str_append(&cmd, "SETQUOTA");
	add_astring(&cmd, argv[0]);
	str_append(&cmd, " (");
	bool first = true;
	for (int i = 0; i < npairs; i += 2) {
		if (!imap_is_atom(pairs[i], strlen(pairs[i]))) {
			str_free(&cmd);
			return adm_error(c, "%s: not an atom", pairs[i]);
		}
		if (strcmp(pairs[i + 1], "none") == 0)
			continue;
		if (!all_digits(pairs[i + 1])) {
			str_free(&cmd);
			return adm_error(c, "%s: %s: not a number", pairs[i], pairs[i + 1]);
		}
		str_printf(&cmd, "%s%s %s", first ? "" : " ", pairs[i], pairs[i + 1]);
		first = false;
	}
	str_append_c(&cmd, ')');
	enum adm_result r = adm_simple(ctx, c->name, str_c(&cmd));
	str_free(&cmd);
	return r;
}

/* " RESOURCE used/limit (percent%)" for each triple of a QUOTA list. The
 * percentage is printed as Perl prints used*100/limit, which is what
 * cyradm shows ("(0%)", "(9.08666666666667%)"). */
static void print_resources(str_t *out, const struct imap_arg *list)
{
	for (size_t i = 0; i + 2 < list->count; i += 3) {
		const struct imap_arg *res = &list->list[i], *used = &list->list[i + 1], *limit = &list->list[i + 2];
		if (res->type == IMAP_ARG_LIST || used->type == IMAP_ARG_LIST || limit->type == IMAP_ARG_LIST)
			break;
		str_printf(out, " %s %s/%s", res->str, used->str, limit->str);
		double l = strtod(limit->str, NULL);
		if (l != 0)
			str_printf(out, " (%.15g%%)", strtod(used->str, NULL) * 100.0 / l);
	}
}

struct quota_ctx {
	str_t out;
	str_t root;          /* for listquotaroot: the first root named */
	bool want_root;
};

static void quota_cb(const struct imap_command *resp, void *p)
{
	struct quota_ctx *q = p;
	if (strcmp(resp->name, "QUOTAROOT") == 0) {
		if (q->want_root && q->root.len == 0 && resp->nargs >= 2 && resp->args[1].type != IMAP_ARG_LIST)
			str_append(&q->root, resp->args[1].str);
		return;
	}
	if (strcmp(resp->name, "QUOTA") != 0 || resp->nargs < 2 || resp->args[1].type != IMAP_ARG_LIST)
		return;
	/* listquotaroot shows the quota of the root it prints. */
	if (q->want_root && (resp->args[0].type == IMAP_ARG_LIST || strcmp(resp->args[0].str, str_c(&q->root)) != 0))
		return;
	print_resources(&q->out, &resp->args[1]);
}

static enum adm_result run_quota(struct adm_ctx *ctx, const struct adm_cmd *c, const char *verb,
				 const char *mailbox, bool want_root)
{
	struct quota_ctx q = { STR_INIT, STR_INIT, want_root };
	str_t cmd = STR_INIT;
	str_append(&cmd, verb);
	add_astring(&cmd, mailbox);
	enum adm_result r = adm_check(ctx, imapc_command(ctx->conn, quota_cb, &q, str_c(&cmd)), c->name);
	if (r == ADM_OK)
		printf("%s%s\n", str_c(&q.root), str_c(&q.out));
	str_free(&cmd);
	str_free(&q.out);
	str_free(&q.root);
	return r;
}

static enum adm_result cmd_listquota(struct adm_ctx *ctx, const struct adm_cmd *c, int argc, char **argv)
{
	return run_quota(ctx, c, "GETQUOTA", argv[0], false);
}

static enum adm_result cmd_listquotaroot(struct adm_ctx *ctx, const struct adm_cmd *c, int argc, char **argv)
{
	return run_quota(ctx, c, "GETQUOTAROOT", argv[0], true);
}

const struct adm_cmd adm_quota_cmds[] = {
	{ "setquota", { "sq", NULL }, "mailbox resource value [resource value ...]",
	  "set quota on mailbox or resource", NULL, 2, -1, cmd_setquota },
	{ "listquota", { "lq", NULL }, "root", "list quotas on specified root", NULL, 1, 1, cmd_listquota },
	{ "listquotaroot", { "lqr", "lqm", NULL }, "mailbox", "show quota roots and quotas for mailbox", NULL,
	  1, 1, cmd_listquotaroot },
	{ NULL, { NULL }, NULL, NULL, NULL, 0, 0, NULL },
};
