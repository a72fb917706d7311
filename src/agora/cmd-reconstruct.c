/* agora reconstruct [-r] [MAILBOX...] and agora check: store maintenance
 * on the files and the database directly (store-sqlite-recon.c does the
 * work). reconstruct needs agorad stopped: agorad holds a shared lock on
 * CONFIGDIRECTORY/agorad.lock for its lifetime, reconstruct an exclusive
 * one. check may run beside the server; a message being delivered at
 * that moment may then show as a file without a record. */
#include "agora/cmd.h"
#include "lib/config.h"
#include "lib/xalloc.h"
#include "lib-deliver/message-store.h"
#include "lib-storage/store.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

struct repair_ctx {
	struct message_prepared p;
	bool have;
	unsigned lines;
};

static int prepare(void *ctx, const char *data, size_t len, struct new_msg *m)
{
	struct repair_ctx *c = ctx;
	if (c->have)
		message_prepared_free(&c->p);
	message_prepare(&c->p, data, len);
	c->have = true;
	if (c->p.header_len == 0)
		return -1;
	m->envelope = str_c(&c->p.envelope);
	m->bodystructure = str_c(&c->p.bodystructure);
	m->body = str_c(&c->p.body);
	m->header = data;
	m->header_len = c->p.header_len;
	m->search = str_c(&c->p.search);
	m->search_len = c->p.search.len;
	m->sentdate = c->p.has_sentdate ? c->p.sentdate : 0;
	return 0;
}

static void print_line(void *ctx, const char *line)
{
	struct repair_ctx *c = ctx;
	c->lines++;
	printf("%s\n", line);
	fflush(stdout);
}

static enum cmd_status cmd_reconstruct(struct cmd_ctx *ctx, int argc, char **argv)
{
	bool recursive = false;
	int first = 0;
	for (; first < argc && argv[first][0] == '-'; first++) {
		if (strcmp(argv[first], "-r") == 0)
			recursive = true;
		else
			return cmd_bad_input("reconstruct: unknown option %s", argv[first]);
	}
	char path[4096];
	snprintf(path, sizeof(path), "%s/agorad.lock", config_str(ctx->cfg, "configdirectory"));
	int fd = open(path, O_RDONLY | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0) {
		fprintf(stderr, "agora: %s: %s\n", path, strerror(errno));
		return CMD_FAILED;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		fprintf(stderr, "agora: reconstruct: agorad is running (%s is locked); stop it first\n", path);
		close(fd);
		return CMD_FAILED;
	}
	const char **names = NULL;
	if (first < argc) {
		names = xcalloc((size_t)(argc - first + 1), sizeof(*names));
		for (int i = first; i < argc; i++)
			names[i - first] = argv[i];
	}
	struct repair_ctx c = { .have = false };
	struct store_repair r = { prepare, print_line, &c };
	int n = ctx->store->be->reconstruct(ctx->store, names, recursive, &r);
	if (c.have)
		message_prepared_free(&c.p);
	free(names);
	close(fd);
	if (n < 0)
		return cmd_store_failed(ctx->store);
	if (n == 0)
		printf("nothing to do\n");
	return CMD_OK;
}

static enum cmd_status cmd_check(struct cmd_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	struct repair_ctx c = { .have = false };
	struct store_repair r = { prepare, print_line, &c };
	int n = ctx->store->be->check(ctx->store, &r);
	if (n < 0)
		return cmd_store_failed(ctx->store);
	return n == 0 ? CMD_OK : CMD_FAILED;
}

static const struct cmd_entry reconstruct_entries[] = {
	{ "", NULL, "[-r] [MAILBOX...]", "rebuild the metadata from the message files (agorad stopped)",
	  0, -1, cmd_reconstruct },
	{ NULL, NULL, NULL, NULL, 0, 0, NULL },
};

static const struct cmd_entry check_entries[] = {
	{ "", NULL, "", "report inconsistencies between the database and the files; exit 1 if any",
	  0, 0, cmd_check },
	{ NULL, NULL, NULL, NULL, 0, 0, NULL },
};

const struct cmd_family cmd_reconstruct_family = { .name = "reconstruct", .entries = reconstruct_entries };
const struct cmd_family cmd_check_family = { .name = "check", .entries = check_entries };
