/* agora quota [-f] [ROOT...]: every quota root with its usage, as Cyrus's
 * `quota` prints it; with -f, usage recomputed from the messages, each
 * correction printed and stored. Works on the store directly. */
#include "agora/cmd.h"
#include "lib/xalloc.h"
#include "lib-storage/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct roots {
	char **v;
	size_t n;
};

static void collect(const struct quota_info *q, void *ctx)
{
	struct roots *r = ctx;
	r->v = xrealloc(r->v, (r->n + 1) * sizeof(char *));
	r->v[r->n++] = xstrdup(q->root);
}

static void print_line(long long limit, unsigned long long used, const char *root, const char *res)
{
	if (limit < 0)
		return;
	long long pct = limit > 0 ? (long long)(used * 100 / (unsigned long long)limit) : 0;
	printf("%8lld %8lld %8llu %s%s\n", limit, pct, used, root, res);
}

static enum cmd_status cmd_quota_show(struct cmd_ctx *ctx, int argc, char **argv)
{
	struct store *st = ctx->store;
	bool fix = false;
	struct roots roots = { NULL, 0 };
	enum cmd_status status = CMD_OK;
	for (int i = 0; i < argc; i++) {
		if (strcmp(argv[i], "-f") == 0) {
			fix = true;
			continue;
		}
		if (argv[i][0] == '-') {
			status = cmd_bad_input("quota: unknown option %s", argv[i]);
			goto out;
		}
		collect(&(struct quota_info){ .root = argv[i] }, &roots);
	}
	if (roots.n == 0 && st->be->quota_list(st, collect, &roots) < 0) {
		status = cmd_store_failed(st);
		goto out;
	}
	if (!fix)
		printf("   Quota   %% Used     Used Root\n");
	for (size_t i = 0; i < roots.n; i++) {
		struct quota_info stored, computed;
		if (st->be->quota_verify(st, roots.v[i], fix, &stored, &computed) < 0) {
			status = cmd_store_failed(st);
			continue;
		}
		if (fix) {
			if (stored.storage_used != computed.storage_used)
				printf("%s: STORAGE usage was %llu bytes, now %llu\n", roots.v[i],
				       (unsigned long long)stored.storage_used, (unsigned long long)computed.storage_used);
			if (stored.message_used != computed.message_used)
				printf("%s: MESSAGE usage was %llu, now %llu\n", roots.v[i],
				       (unsigned long long)stored.message_used, (unsigned long long)computed.message_used);
		} else {
			print_line(stored.storage_limit, stored.storage_used / 1024, stored.root, "");
			print_line(stored.message_limit, stored.message_used, stored.root, " (MESSAGE)");
		}
		quota_info_free(&stored);
		quota_info_free(&computed);
	}
out:
	for (size_t i = 0; i < roots.n; i++)
		free(roots.v[i]);
	free(roots.v);
	return status;
}

static const struct cmd_entry quota_entries[] = {
	{ "", NULL, "[-f] [ROOT...]", "list quota roots and usage; -f recomputes usage and fixes it",
	  0, -1, cmd_quota_show },
	{ NULL, NULL, NULL, NULL, 0, 0, NULL },
};

const struct cmd_family cmd_quota_family = { .name = "quota", .entries = quota_entries };
